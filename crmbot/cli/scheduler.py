"""Admin commands: `crmbot scheduler status|run-job`, `crmbot reminders list`, `crmbot outbox list|retry`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from sqlalchemy import func, inspect, select, text

from crm_store.db import transaction
from crm_store.errors import CRMError
from crm_store.models import OutboxMessage, Reminder, Staff
from crm_store.services import outbox, scheduler_nodes
from crmbot.cli import common
from scheduler import messages as TM
from scheduler.jobs import JOBS, run_named
from scheduler.service import JOBSTORE_TABLE

scheduler_app = typer.Typer(help="定时任务调度器", no_args_is_help=True)
reminders_app = typer.Typer(help="跟进提醒", no_args_is_help=True)
outbox_app = typer.Typer(help="待发消息（发件箱）", no_args_is_help=True)


def _local(moment: datetime | None, tz: Any) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _short(value: str, size: int = 40) -> str:
    value = value.replace("\n", " ")
    return value if len(value) <= size else value[: size - 1] + "…"


@scheduler_app.command("status")
def status() -> None:
    """显示主节点、运行中的进程、各任务下次运行时间和发件箱概况"""
    runtime = common.runtime()
    config, tz = runtime.config, runtime.config.tz
    now = datetime.now(UTC)
    stale = timedelta(seconds=3 * config.scheduler.leader_retry_seconds + 5)
    with runtime.factory() as session:
        nodes = scheduler_nodes.live_nodes(session, now, stale_after=stale)
        counts = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    leader = next((n for n in nodes if n.is_leader), None)
    if leader:
        typer.echo(TM.STATUS_LEADER.format(node=leader.node_id, host=leader.hostname, pid=leader.pid,
                                          beat=_local(leader.heartbeat_at, tz)))
    else:
        typer.echo(TM.STATUS_NO_LEADER)
    typer.echo(TM.STATUS_NODES.format(count=len(nodes)))
    for node in nodes:
        typer.echo(TM.STATUS_NODE_LINE.format(node=node.node_id, host=node.hostname, pid=node.pid,
                                             role=TM.ROLE_LEADER if node.is_leader else TM.ROLE_FOLLOWER,
                                             beat=_local(node.heartbeat_at, tz)))
    typer.echo(TM.STATUS_JOBS)
    rows: list[Any] = []
    with runtime.engine.connect() as conn:
        if inspect(conn).has_table(JOBSTORE_TABLE):
            rows = list(conn.execute(text(f"SELECT id, next_run_time FROM {JOBSTORE_TABLE} ORDER BY next_run_time")))
    if not rows:
        typer.echo(TM.STATUS_NO_JOBS)
    for job_id, next_run in rows:
        when = _local(datetime.fromtimestamp(next_run, UTC), tz) if next_run is not None else TM.STATUS_PAUSED
        typer.echo(TM.STATUS_JOB_LINE.format(job=job_id, next=when))
    typer.echo(TM.STATUS_OUTBOX.format(pending=counts.get("pending", 0), sending=counts.get("sending", 0),
                                      waiting=counts.get("waiting", 0), dead=counts.get("dead", 0)))


@scheduler_app.command("run-job")
def run_job(
    name: str = typer.Argument(..., help="任务名：" + "、".join(JOBS)),
    now: str | None = common.now_option("按这个时间运行（ISO 8601，默认现在），用于补跑和演示"),
) -> None:
    """立即运行一个计划任务一次（幂等：已入队的消息不会重复）"""
    if name not in JOBS:
        typer.echo(TM.JOB_UNKNOWN.format(name=name, names="、".join(JOBS)), err=True)
        raise typer.Exit(2)
    runtime = common.runtime()
    moment = common.parse_now(now, runtime.config.tz)
    result = run_named(name, runtime.config, runtime.factory, moment)
    typer.echo(TM.JOB_DONE.format(name=name, result=result))


@reminders_app.command("list")
def list_reminders(
    staff: str | None = typer.Option(None, "--staff", help="只看这位员工的提醒"),
    all_: bool = typer.Option(False, "--all", help="包括已完成和已取消的"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """列出待处理（待提醒/已提醒未完成）的跟进提醒，按到期时间排序"""
    runtime = common.runtime()
    with runtime.factory() as session:
        stmt = select(Reminder, Staff.name).join(Staff, Staff.id == Reminder.staff_id)
        if not all_:
            stmt = stmt.where(Reminder.status.in_(("pending", "sent")))
        if staff:
            stmt = stmt.where(Staff.name == staff.strip())
        rows = session.execute(stmt.order_by(Reminder.due_at, Reminder.id).limit(limit)).all()
    if not rows:
        typer.echo(TM.REMINDERS_NONE)
    for reminder, name in rows:
        typer.echo(TM.REMINDER_LINE.format(id=reminder.id, due=_local(reminder.due_at, runtime.config.tz), staff=name,
                                          status=TM.REMINDER_STATUS.get(reminder.status, reminder.status),
                                          text=_short(reminder.text)))


@outbox_app.command("list")
def list_outbox(
    failed: bool = typer.Option(False, "--failed", help="只看发送失败（已放弃）的消息"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """列出最近的待发/已发消息；--failed 只列发送失败的"""
    runtime = common.runtime()
    with runtime.factory() as session:
        rows = outbox.list_messages(session, failed=failed, limit=limit)
    if not rows:
        typer.echo(TM.OUTBOX_NONE)
    for row in rows:
        to = f"员工{row.recipient_staff_id}" if row.recipient_staff_id else f"会员{row.recipient_member_id}"
        typer.echo(TM.OUTBOX_LINE.format(id=row.id, status=row.status, kind=row.kind, to=to, attempts=row.attempts,
                                        due=_local(row.next_attempt_at, runtime.config.tz), text=_short(row.text)))
        if row.last_error and row.status != "sent":
            typer.echo(TM.OUTBOX_ERROR_LINE.format(error=_short(row.last_error, 120)))


@outbox_app.command("retry")
def retry(message_id: int = typer.Argument(..., help="消息编号（见 outbox list --failed）")) -> None:
    """把一条发送失败的消息重新排队"""
    runtime = common.runtime()
    try:
        with transaction(runtime.factory) as session:
            outbox.retry(session, None, message_id, now=datetime.now(runtime.config.tz))
    except CRMError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(TM.OUTBOX_RETRIED.format(id=message_id))
