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
INBOX_GAVE_UP = "抱歉，您的消息「{text}」多次处理失败，没有记录。请稍后重新发送，或联系管理员。"
RUN_CHANNEL_FAILED = "渠道 {channel} 启动失败：{reason}。其他渠道照常工作；修好后重启 crmbot run。"
RUN_CHANNEL_READY = "渠道 {channel} 已连接。"
RUN_PORT_IN_USE = "无法启动：{host}:{port} 已被占用（或无权限）：{reason}。请换一个端口（server.port / CRMBOT_SERVER__PORT）或先停止占用它的程序。"
RUN_NO_MODEL = "无法启动：找不到 NLU 模型 {path}。请先运行 crmbot nlu train（约 10–20 秒），再运行 crmbot run。"
RUN_NLU_FAILED = "NLU 模型加载失败：{reason}。消息已存入收件箱，修好后重启即可处理。"
INBOX_EMPTY = "收件箱里没有消息。"
INBOX_RETRIED = "消息 #{id} 已重新排队处理。"
INBOX_STATUS = {"pending": "待处理", "processing": "处理中", "done": "已处理", "dead": "已放弃"}

# --- hand-over and staff (issue 15) ---
STAFF_NONE = "无"
STAFF_ADDED = "已添加员工：{name}（{role}，上级：{manager}，团队：{team}）。\n下一步：运行 crmbot staff invite {name} 生成绑定邀请码发给本人。"
STAFF_LINE = "{name}  {role}  上级：{manager}  团队/门店：{team}  绑定：{chats}个{state}"
STAFF_INACTIVE_MARK = "  （已停用）"
DEACTIVATE_PREVIEW = "将停用：{name}\n解除聊天绑定：{chats}\n取消共享客户：{shares}个\n未完成的提醒：{reminders}条（有客户的交给客户负责人，其余取消）"
DEACTIVATE_ASK = "确认停用{name}吗？"
DEACTIVATE_NEEDS_YES = "没有停用{name}：需要确认。请在终端里运行并回答，或加 --yes 直接停用。"
DEACTIVATE_KEPT = "已取消，账号没有停用。"
DEACTIVATED = "已停用{name}的账号，解除了{count}个聊天绑定。"
MANAGER_SET = "已把{name}的直属上级改为{manager}（团队：{team}）。"
# --- workers (issue 16) ---
RUN_WORKERS_STARTED = "已启动 {workers} 个工作进程（PID {pids}），共用 http://{host}:{port}。"
RUN_WORKER_PREFIX = "[进程{number}] "
RUN_WORKER_DIED = "工作进程 {number}（PID {pid}）意外退出（{status}），{delay} 秒后重新启动；它未处理完的消息由新进程接着处理。"
RUN_WORKER_CRASHING = "工作进程 {number} 启动后接连退出 {times} 次，停止全部进程。请查看上面的错误。"
RUN_WORKERS_SQLITE = ("--workers {workers}：SQLite 数据库一次只允许一个进程写入，多个工作进程只会互相排队，"
                      "而且每个进程都会各自发送定时提醒。请用 --workers 1，或改用 PostgreSQL（database.url）")
RUN_WORKERS_TELEGRAM_POLLING = ("--workers {workers}：Telegram 长轮询（没有 webhook_url）同一时间只能由一个进程接收。"
                                "请配置 channels.telegram.webhook_url，或用 --workers 1")
RUN_WORKERS_TOKEN_CACHE = ("提示：server.token_cache_url 为空，{workers} 个工作进程会各自获取微信/企业微信的 access_token，"
                           "互相顶替；建议配置 Redis（server.token_cache_url）让它们共用。")
# --- voice messages (issue 17) ---
# WeCom and Telegram deliver a voice message as audio only (no recognised text), and no offline recogniser
# is installed: ask for text, and say how to get it without retyping.
VOICE_NEEDS_TEXT = "收到一条语音，但我还听不了语音。请打字发给我，或长按语音选「转文字」后把文字发过来。"
