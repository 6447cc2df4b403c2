"""The scheduled jobs: what runs when, and the one function APScheduler calls for each.

Jobs live in APScheduler's SQLAlchemyJobStore (table apscheduler_jobs in the CRM database), so they are
pickled as a reference `scheduler.jobs:run_job` plus the job name; the running process registers its
runtime with `activate()`. Every job body is a crm_store service taking `now`, in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import transaction
from crm_store.models import Staff
from crm_store.services import member_care, members, outbox, reminders_due
from scheduler.clock import Clock
from scheduler.settings import SchedulerConfig as Config

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    config: Config
    factory: sessionmaker[Session]
    clock: Clock


_context: JobContext | None = None


def activate(context: JobContext | None) -> None:
    """Make this process's runtime the one APScheduler's job calls use."""
    global _context
    _context = context


# --- job bodies (each: one transaction, explicit now) -------------------------------------------


def due_reminders(session: Session, config: Config, now: datetime) -> Any:
    grace = timedelta(minutes=config.scheduler.missed_grace_minutes)
    return reminders_due.send_due_reminders(session, now, tz=config.tz, grace=grace)


def digest(session: Session, config: Config, now: datetime) -> Any:
    return reminders_due.morning_digest(session, now, tz=config.tz)


def dormant(session: Session, config: Config, now: datetime) -> Any:
    return reminders_due.mark_dormant_customers(
        session, now, tz=config.tz, after_days=config.rules.reminders.dormant_after_days
    )


def member_care_job(session: Session, config: Config, now: datetime) -> Any:
    expired = members.expire_points(session, now, tz=config.tz)  # balances first, then who to tell
    return {
        "points_expired": expired,
        "expiry": member_care.expiry_care(session, now, rules=config.rules, tz=config.tz),
        "birthday": member_care.birthday_care(session, now, rules=config.rules, tz=config.tz),
        "points": member_care.points_expiry_care(session, now, rules=config.rules, tz=config.tz),
    }


def escalation(session: Session, config: Config, now: datetime) -> Any:
    """Approval steps waiting too long: approvals.run_escalations records the reminder / escalation (audited)
    and returns the messages; each is queued for its recipient with key approval:{step id}:{kind}."""
    from crm_store.services import approvals, orders

    count = 0
    for item in approvals.run_escalations(session, now, config.rules.approvals.escalate_after_hours):
        row = outbox.enqueue(
            session, key=f"approval:{item.step.id}:{item.kind}", kind=f"approval_{item.kind}", text=item.text,
            due_at=now, now=now, staff_id=item.to_staff_id, payload={"order_id": item.step.order_id},
            topic=orders.order_topic(item.step.order_id),  # withdrawn if the order is undone before it goes out
        )
        count += row is not None
    return count


def weekly_report(session: Session, config: Config, now: datetime) -> Any:
    """Monday report (text + chart) per manager via reports.weekly_for_manager(session, manager_id, *, now,
    config) -> WeeklyReport(text, image_path) | None; key weekly:{manager}:{ISO week}."""
    from crm_store.services import reports  # charts: imported only when the report runs

    year, week, _ = now.astimezone(config.tz).isocalendar()
    count = 0
    managers = session.scalars(select(Staff).where(Staff.role == "manager", Staff.active.is_(True)))
    for manager in list(managers):
        report = reports.weekly_for_manager(
            session, manager.id, now=now, tz=config.tz, charts_dir=config.charts_dir
        )
        if report is None:
            continue
        row = outbox.enqueue(
            session, key=f"weekly:{manager.id}:{year}-W{week:02d}", kind="weekly_report", text=report.text,
            due_at=now, now=now, staff_id=manager.id, attachment_path=getattr(report, "image_path", None),
        )
        count += row is not None
    return count


def housekeeping(session: Session, config: Config, now: datetime) -> Any:
    """Handled chat messages older than keep_handled_days: inbox rows that are done (dead ones stay for
    `crmbot inbox retry`) and the processed-message marks."""
    from crm_store.services import conversations, inbox

    before = now - timedelta(days=config.scheduler.keep_handled_days)
    return {"inbox": inbox.prune_done(session, before), "marks": conversations.prune_marks(session, before)}


JOBS: dict[str, Callable[[Session, Config, datetime], Any]] = {
    "due_reminders": due_reminders,
    "digest": digest,
    "dormant": dormant,
    "member_care": member_care_job,
    "escalation": escalation,
    "weekly_report": weekly_report,
    "housekeeping": housekeeping,
}


def triggers(config: Config) -> dict[str, BaseTrigger]:
    """When each job runs, in the configured timezone."""
    s, tz = config.scheduler, config.tz

    def daily(at: Any, **extra: Any) -> CronTrigger:
        return CronTrigger(hour=at.hour, minute=at.minute, second=0, timezone=tz, **extra)

    return {
        "due_reminders": IntervalTrigger(seconds=s.reminder_scan_seconds, timezone=tz),
        "digest": daily(s.digest_time),
        "dormant": daily(s.dormant_time),
        "member_care": CronTrigger(hour=config.rules.care.send_hour, minute=0, second=0, timezone=tz),
        "escalation": IntervalTrigger(minutes=s.escalation_scan_minutes, timezone=tz),
        "weekly_report": daily(s.weekly_report_time, day_of_week="mon"),
        "housekeeping": daily(s.housekeeping_time),
    }


def run_named(name: str, config: Config, factory: sessionmaker[Session], now: datetime) -> Any:
    """Run one job body in its own transaction (used by APScheduler, the CLI and tests)."""
    with transaction(factory) as session:
        result = JOBS[name](session, config, now)
    log.info("job %s at %s: %s", name, now.isoformat(), result)
    return result


def run_job(name: str) -> Any:
    """APScheduler's entry point (stored by reference in the job store)."""
    if _context is None:
        log.warning("job %s fired with no active scheduler context", name)
        return None
    return run_named(name, _context.config, _context.factory, _context.clock.now())
