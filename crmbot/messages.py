"""Everything the crmbot command line and the app config say to a person (Chinese; config errors name the key)."""

from __future__ import annotations

# --- command line --------------------------------------------------------------------------------
APP_HELP = "销售助手 crmbot：在终端对话、运行聊天渠道、管理数据库与数据"
BAD_NOW = "时间格式应为 ISO 8601，例如 2026-11-27T10:00:00+08:00：{value}"
CONFIG_OK = "配置有效。配置文件：{path}\n数据库：{database}\n数据目录：{data_dir}"
DEMO_SEEDED = "已生成演示数据（1位总监、1位经理、3位销售、1位店员、约60个客户、约200位会员）。"

# --- config (bilingual: admins paste these into searches) -----------------------------------------
CONFIG_UNKNOWN_ENV = "环境变量无法对应配置项 / environment variable matches no setting: {name}（层级之间用 __ 连接，例如 CRMBOT_DATABASE__URL）"
CONFIG_NOT_FOUND = "找不到配置文件 / config file not found: {path}"
CONFIG_NOT_YAML = "配置文件不是合法的 YAML / {path} is not valid YAML: {error}"
CONFIG_NOT_MAPPING = "配置文件顶层必须是键值对 / {path}: top level must be a mapping"
CONFIG_INVALID = "配置有误 / invalid configuration ({path})：{problems}"
# pydantic error type -> what is wrong, in Chinese (the English message follows in brackets).
PYDANTIC_ERRORS = {
    "extra_forbidden": "没有这个配置项，请检查拼写",
    "missing": "缺少这一项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文字",
    "literal_error": "只能是：{expected}",
    "time_parsing": "应为时刻，例如 \"08:30\"",
    "time_type": "应为时刻，例如 \"08:30\"",
    "date_parsing": "应为日期，例如 2026-12-01",
    "date_from_datetime_parsing": "应为日期，例如 2026-12-01",
    "date_type": "应为日期，例如 2026-12-01",
    "list_type": "应为列表，例如 [30, 7]",
    "dict_type": "应为键值对",
    "model_type": "应为一组键值对（下一级配置）",
    "model_attributes_type": "应为一组键值对（下一级配置）",
    "json_invalid": "环境变量里的列表或键值对要写成 JSON，例如 '[\"张伟\"]'",
}
CONFIG_ENV_NOT_JSON = ("环境变量 {name} 是列表或键值对，要写成 JSON，例如 '[\"张伟\", \"李娜\"]' 或 '{{\"wechat\": 10}}'"
                       " / must be JSON: {value}")
