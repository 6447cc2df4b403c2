"""`crmbot staff invite|unbind` and `crmbot run` (mounted by crmbot.cli)."""

from __future__ import annotations

import logging
from datetime import datetime

import typer

from bot import messages as BM
from crm_store.errors import CRMError

log = logging.getLogger(__name__)

staff_app = typer.Typer(help="员工账号绑定 staff chat bindings", no_args_is_help=True)


@staff_app.command("invite")
def invite(name: str = typer.Argument(..., help="员工姓名，例如 张伟")) -> None:
    """生成一次性绑定邀请码（7 天有效）/ create a one-time binding code."""
    from crm_store.db import transaction
    from crm_store.services import binding, find_staff, list_staff
    from crmbot.config import load_config
    from crmbot.wiring import open_database

    config = load_config()
    runtime = open_database(config)
    now = datetime.now(config.tz)
    try:
        with transaction(runtime.factory) as session:
            staff = find_staff(session, name)
            if staff is None:
                names = "、".join(s.name for s in list_staff(session))
                typer.echo(BM.STAFF_UNKNOWN.format(name=name, names=names), err=True)
                raise typer.Exit(2)
            row = binding.create_invite(session, staff.id, actor=None, now=now)
            code, expires = row.code, row.expires_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
    except CRMError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.engine.dispose()
    typer.echo(BM.INVITE_CREATED.format(name=name, code=code, expires=expires))


@staff_app.command("unbind")
def unbind(
    channel: str = typer.Argument(..., help="telegram | wechat | wecom | console"),
    external_id: str = typer.Argument(..., help="该渠道的用户 ID（Telegram user id / OpenID / UserID）"),
) -> None:
    """解除某个聊天账号的绑定（记入审计日志）/ remove a chat binding (audited)."""
    from crm_store.db import transaction
    from crm_store.services import binding
    from crmbot.config import load_config
    from crmbot.wiring import open_database

    config = load_config()
    runtime = open_database(config)
    try:
        with transaction(runtime.factory) as session:
            binding.unbind(session, channel, external_id, actor=None, now=datetime.now(config.tz))
    except CRMError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.engine.dispose()
    typer.echo(BM.UNBOUND.format(channel=channel, external_id=external_id))


# --- crmbot inbox --------------------------------------------------------------------------------

inbox_app = typer.Typer(help="收件箱：已收到、待处理或处理失败的聊天消息 / inbound messages", no_args_is_help=True)


@inbox_app.command("list")
def inbox_list(
    failed: bool = typer.Option(False, "--failed", help="只看处理失败（已放弃）的消息"),
    limit: int = typer.Option(50, help="最多显示几条"),
) -> None:
    """列出收件箱里的消息（最新在前）/ list inbound messages, newest first."""
    from crm_store.services import inbox
    from crmbot.config import load_config
    from crmbot.wiring import open_database

    config = load_config()
    runtime = open_database(config)
    try:
        with runtime.factory() as session:
            counts = inbox.counts(session)
            rows = inbox.list_messages(session, failed=failed, limit=limit)
    finally:
        runtime.engine.dispose()
    typer.echo("  ".join(f"{BM.INBOX_STATUS.get(k, k)} {v}" for k, v in sorted(counts.items())) or BM.INBOX_EMPTY)
    for row in rows:
        received = row.received_at.astimezone(config.tz).strftime("%m-%d %H:%M:%S")
        line = (f"#{row.id}  {received}  {row.channel}:{row.external_id}  "
                f"{BM.INBOX_STATUS.get(row.status, row.status)}  第{row.attempts}次  {row.text[:30]!r}")
        if row.last_error:
            line += f"  错误：{row.last_error[:80]}"
        typer.echo(line)


@inbox_app.command("retry")
def inbox_retry(message_id: int = typer.Argument(..., help="消息编号（inbox list 里的 #）")) -> None:
    """重新处理一条处理失败的消息（记入审计日志）/ process a dead-lettered message again (audited)."""
    from crm_store.db import transaction
    from crm_store.services import inbox
    from crmbot.config import load_config
    from crmbot.wiring import open_database

    config = load_config()
    runtime = open_database(config)
    try:
        with transaction(runtime.factory) as session:
            inbox.retry(session, None, message_id, now=datetime.now(config.tz))
    except CRMError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.engine.dispose()
    typer.echo(BM.INBOX_RETRIED.format(id=message_id))


# --- crmbot run ---------------------------------------------------------------------------------


def run_command(
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=32, show_default=False,
        help="工作进程数，共用一个端口（默认 server.workers，即 1）；多于 1 个需要 PostgreSQL / processes serving the port",
    ),
) -> None:
    """启动所有已配置的渠道（Telegram / 微信公众号 / 企业微信）、收件箱和定时任务 / serve channels + scheduler."""
    from crmbot.config import load_config
    from crmbot.serve import run

    run(load_config(), workers=workers)
