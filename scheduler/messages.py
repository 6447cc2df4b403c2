"""Chinese text of the scheduler's command-line output."""

from __future__ import annotations

STATUS_LEADER = "调度主节点：{node}（主机 {host}，进程 {pid}，心跳 {beat}）"
STATUS_NO_LEADER = "当前没有调度主节点（所有进程都已停止，或尚未选出）。"
STATUS_NODES = "运行中的进程：{count} 个"
STATUS_NODE_LINE = "  {node} 主机 {host} 进程 {pid} {role} 心跳 {beat}"
ROLE_LEADER = "主节点"
ROLE_FOLLOWER = "候补"
STATUS_JOBS = "计划任务（下次运行时间）："
STATUS_JOB_LINE = "  {job:<16} {next}"
STATUS_NO_JOBS = "  （尚无计划任务：调度器还没有启动过）"
STATUS_PAUSED = "已暂停"
STATUS_OUTBOX = "待发消息 {pending} 条，发送中 {sending} 条，等同事绑定账号 {waiting} 条，失败 {dead} 条"
REMINDERS_NONE = "没有待处理的提醒。"
REMINDER_LINE = "{id:>6}  {due}  {staff}  {status}  {text}"
OUTBOX_NONE = "没有消息。"
OUTBOX_LINE = "{id:>6}  {status:<8} {kind:<16} 收件人 {to}  尝试 {attempts}  {due}  {text}"
OUTBOX_ERROR_LINE = "        错误：{error}"
OUTBOX_RETRIED = "消息 {id} 已重新排队发送。"
REMINDER_STATUS = {"pending": "待提醒", "sent": "已提醒", "done": "已完成", "cancelled": "已取消"}
JOB_UNKNOWN = "没有任务“{name}”。可选：{names}"
JOB_DONE = "任务 {name} 已运行：{result}"
