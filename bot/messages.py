"""What the channel adapters and the `crmbot staff` / `crmbot run` commands say."""

from __future__ import annotations

INVITE_CREATED = "已为 {name} 生成邀请码：{code}\n有效期至 {expires}，只能使用一次。请让 {name} 在微信/企业微信/Telegram 里给销售助手发送：绑定 {code}"
STAFF_UNKNOWN = "没有员工“{name}”。可选：{names}"
UNBOUND = "已解绑 {channel} 账号 {external_id}。"
CALLBACK_DONE = "已处理"
CALLBACK_STALE = "这个按钮已经处理过了"
RUN_STARTED = "销售助手已启动：http://{host}:{port}  渠道：{channels}"
RUN_NO_CHANNEL = "没有启用任何聊天渠道（config.yml 的 channels.*.enabled），只提供 /healthz 和定时任务。"
RUN_STOPPED = "已停止。"
REPLY_UNAVAILABLE = "系统繁忙，请稍后再试。"
IMAGE_FALLBACK = "（图表图片请在电脑端查看：{path}）"
BUTTON_HINT = "请回复：{options}"
NON_TEXT = "目前只能处理文字消息，请直接打字告诉我。"
BUTTON_EXPIRED = "这个按钮已过期，请直接回复文字。"
FILE_NOT_SUPPORTED = "公众号不能发送文件「{name}」，请在企业微信或 Telegram 里导出，或请管理员用 crmbot export 导出。"
