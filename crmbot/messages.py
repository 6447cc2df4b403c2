"""Everything the crmbot command line and the app config say to a person (Chinese; config errors name the key)."""

from __future__ import annotations

# --- command line --------------------------------------------------------------------------------
APP_HELP = "销售助手 crmbot：在终端对话、运行聊天渠道、管理数据库与数据"
BAD_NOW = "时间格式应为 ISO 8601，例如 2026-11-27T10:00:00+08:00：{value}"
CONFIG_OK = "配置有效（数据库：{database}，配置文件：{path}）"
DEMO_SEEDED = "已生成演示数据（1位总监、1位经理、3位销售、1位店员、约60个客户、约200位会员）。"
