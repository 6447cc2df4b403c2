"""`crmbot staff add|list|set-manager|deactivate|invite|unbind`, `crmbot inbox` and `crmbot run` (mounted by crmbot.cli)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import typer

from bot import messages as BM
from crm_store.errors import CRMError

log = logging.getLogger(__name__)

staff_app = typer.Typer(help="员工：添加、列出、邀请绑定、停用、解除绑定 / staff accounts", no_args_is_help=True)


@contextmanager
def _store() -> Iterator[tuple[Callable[[], Any], Any]]:
    """(a transaction opener, the time zone) on the configured database; CRM errors end the command, code 1."""
    from crm_store.db import transaction
    from crmbot.config import load_config
    from crmbot.wiring import open_database

    config = load_config()
    runtime = open_database(config)
    try:
        yield (lambda: transaction(runtime.factory)), config.tz
    except CRMError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.engine.dispose()


def _staff_named(session: Any, name: str) -> Any:
    from crm_store.services import find_staff, list_staff

    staff = find_staff(session, name)
    if staff is None:
        typer.echo(BM.STAFF_UNKNOWN.format(name=name, names="、".join(s.name for s in list_staff(session))), err=True)
        raise typer.Exit(2)
    return staff


def _interactive() -> bool:
    """A person at a terminal can answer the confirmation; a script or a pipe cannot."""
    return sys.stdin.isatty()


@staff_app.command("add")
def add(
    name: str = typer.Argument(..., help="员工姓名，例如 刘洋"),
    role: str = typer.Option(..., "--role", help="rep 销售 | manager 销售经理 | director 总监 | clerk 店员 | admin 管理员"),
    manager: str | None = typer.Option(None, "--manager", help="直属上级的姓名（经理、总监或管理员），例如 陈静"),
    team: str | None = typer.Option(None, "--team", help="团队（默认跟上级经理同一团队）"),
    store: str | None = typer.Option(None, "--store", help="门店（店员）"),
    phone: str | None = typer.Option(None, "--phone", help="手机号"),
) -> None:
    """添加一位员工（记入审计日志）/ add a staff member."""
    from crm_store import messages as SM
    from crm_store.services import staff as staff_service

    with _store() as (transaction, tz), transaction() as session:
        row = staff_service.add_staff(session, None, name, role, manager=manager, team=team, store=store,
                                      phone=phone, now=datetime.now(tz))
        boss = row.manager.name if row.manager else BM.STAFF_NONE
        typer.echo(BM.STAFF_ADDED.format(name=row.name, role=SM.STAFF_ROLE_NAMES[row.role], manager=boss,
                                         team=row.team or BM.STAFF_NONE))


@staff_app.command("list")
def list_command() -> None:
    """列出所有员工（角色、上级、团队、是否停用、绑定的聊天账号数）/ list staff."""
    from sqlalchemy import func, select

    from crm_store import messages as SM
    from crm_store.models import ChatIdentity
    from crm_store.services import list_staff

    with _store() as (transaction, _tz), transaction() as session:
        bound = dict(session.execute(select(ChatIdentity.staff_id, func.count()).group_by(ChatIdentity.staff_id)).all())
        for row in list_staff(session):
            typer.echo(BM.STAFF_LINE.format(
                name=row.name, role=SM.STAFF_ROLE_NAMES.get(row.role, row.role),
                manager=row.manager.name if row.manager else BM.STAFF_NONE, team=row.team or row.store or BM.STAFF_NONE,
                chats=bound.get(row.id, 0), state="" if row.active else BM.STAFF_INACTIVE_MARK))


@staff_app.command("set-manager")
def set_manager(
    name: str = typer.Argument(..., help="员工姓名"),
    manager: str = typer.Argument(..., help="新的直属上级（经理、总监或管理员）"),
) -> None:
    """给员工换直属上级（上级离职前先换）/ give a staff member another manager."""
    from crm_store.services import staff as staff_service

    with _store() as (transaction, tz), transaction() as session:
        row = staff_service.set_manager(session, None, _staff_named(session, name).id, manager, now=datetime.now(tz))
        typer.echo(BM.MANAGER_SET.format(name=row.name, manager=manager.strip(), team=row.team or BM.STAFF_NONE))


@staff_app.command("deactivate")
def deactivate(
    name: str = typer.Argument(..., help="员工姓名"),
    yes: bool = typer.Option(False, "--yes", "-y", help="不再询问，直接停用（脚本里用）"),
) -> None:
    """停用员工账号并解除其聊天绑定；名下还有客户时拒绝（先转移客户）/ deactivate a staff member."""
    from crm_store.services import handover

    with _store() as (transaction, tz):
        with transaction() as session:
            staff = _staff_named(session, name)
            plan = handover.plan_deactivation(session, None, staff.id)
        typer.echo(BM.DEACTIVATE_PREVIEW.format(
            name=plan.name, chats="、".join(plan.identities) or BM.STAFF_NONE, shares=plan.shares,
            reminders=plan.open_reminders))
        if not yes:
            if not _interactive():
                typer.echo(BM.DEACTIVATE_NEEDS_YES.format(name=plan.name), err=True)
                raise typer.Exit(1)
            if not typer.confirm(BM.DEACTIVATE_ASK.format(name=plan.name), default=False):
                typer.echo(BM.DEACTIVATE_KEPT)
                raise typer.Exit(1)
        with transaction() as session:
            handover.deactivate_staff(session, None, plan.staff_id, datetime.now(tz))
    typer.echo(BM.DEACTIVATED.format(name=plan.name, count=len(plan.identities)))


@staff_app.command("invite")
def invite(name: str = typer.Argument(..., help="员工姓名，例如 张伟")) -> None:
    """生成一次性绑定邀请码（7 天有效）/ create a one-time binding code."""
    from crm_store.services import binding

    with _store() as (transaction, tz), transaction() as session:
        staff = _staff_named(session, name)
        row = binding.create_invite(session, staff.id, actor=None, now=datetime.now(tz))
        code, expires = row.code, row.expires_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    typer.echo(BM.INVITE_CREATED.format(name=name, code=code, expires=expires))


@staff_app.command("unbind")
def unbind(
    channel: str = typer.Argument(..., help="telegram | wechat | wecom | console"),
    external_id: str = typer.Argument(..., help="该渠道的用户 ID（Telegram user id / OpenID / UserID）"),
) -> None:
    """解除某个聊天账号的绑定（记入审计日志）/ remove a chat binding (audited)."""
    from crm_store.services import binding

    with _store() as (transaction, tz), transaction() as session:
        binding.unbind(session, channel, external_id, actor=None, now=datetime.now(tz))
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
