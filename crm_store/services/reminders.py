"""A rep's reminders: the open ones in a date range, the one a visit answers, marking them done or not needed."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crm_store import messages as SM
from crm_store.errors import InvalidInput, NotFound
from crm_store.models import OPEN_REMINDER_STATUSES, Customer, Reminder
from crm_store.services.common import Actor, audit, require_aware, require_staff

# A reminder to get back to the customer (a visit answers it), as opposed to a task (发报价单, 准备合同).
_FOLLOWUP_WORDS = re.compile(r"跟进|回访|拜访|走访|联系|见面|面谈|约.{0,8}(?:见|谈|聊|吃饭)|沟通|电话|看望|问候|聊聊")
CLOSING_STATUSES = ("done", "cancelled")


def open_reminders(
    session: Session, actor: Actor, *, start: datetime | None = None, end: datetime | None = None,
    customer_id: int | None = None, with_customers: bool = True,
) -> list[Reminder]:
    """The actor's reminders still to do (pending, or sent but not done), due in [start, end), by due time;
    `with_customers` loads each one's customer and aliases (for a list that shows them)."""
    require_aware(start)
    require_aware(end)
    staff_id = require_staff(actor)
    stmt = (
        select(Reminder)
        .where(Reminder.staff_id == staff_id, Reminder.status.in_(OPEN_REMINDER_STATUSES))
        .order_by(Reminder.due_at, Reminder.id)
    )
    if with_customers:
        stmt = stmt.options(selectinload(Reminder.customer).selectinload(Customer.aliases))
    if customer_id is not None:
        stmt = stmt.where(Reminder.customer_id == customer_id)
    if start is not None:
        stmt = stmt.where(Reminder.due_at >= start)
    if end is not None:
        stmt = stmt.where(Reminder.due_at < end)
    return list(session.scalars(stmt))


def is_followup(reminder: Reminder) -> bool:
    """A visit's own next step, or a reminder whose words are about getting back to the customer."""
    return reminder.visit_id is not None or bool(_FOLLOWUP_WORDS.search(reminder.text))


def reminder_answered_by_visit(
    session: Session, actor: Actor, customer_id: int, visited_at: datetime
) -> Reminder | None:
    """The one follow-up reminder a visit to this customer answers: the actor's open follow-up reminder for
    the customer that is due by the end of the visit's day (overdue first). Tasks such as 准备合同 are not
    answered by a visit and stay open; a reminder for a later day is left for that day."""
    require_aware(visited_at)
    day_end = datetime.combine(visited_at.date() + timedelta(days=1), time(0), tzinfo=visited_at.tzinfo)
    due = [r for r in open_reminders(session, actor, end=day_end, customer_id=customer_id, with_customers=False)
           if is_followup(r)]
    return due[0] if due else None


def close_reminders(
    session: Session, actor: Actor, reminder_ids: list[int], *, status: str, now: datetime
) -> list[Reminder]:
    """Mark the actor's own open reminders done (办完了) or cancelled (不用了); one audit row for the lot, so
    one 撤销 reopens them all."""
    require_aware(now)
    staff_id = require_staff(actor)
    if status not in CLOSING_STATUSES:
        raise InvalidInput(SM.REMINDER_STATUS_INVALID)
    if not reminder_ids:
        raise NotFound(SM.REMINDER_NOT_FOUND)
    reminders: list[Reminder] = []
    for reminder_id in dict.fromkeys(reminder_ids):
        reminder = session.get(Reminder, reminder_id)
        if reminder is None or reminder.staff_id != staff_id:
            raise NotFound(SM.REMINDER_NOT_FOUND)
        if reminder.status not in OPEN_REMINDER_STATUSES:
            raise InvalidInput(SM.REMINDER_ALREADY_CLOSED.format(text=reminder.text))
        reminders.append(reminder)
    before: dict[str, Any] = {"statuses": {str(r.id): r.status for r in reminders}}
    for reminder in reminders:
        reminder.status = status
    session.flush()
    audit(
        session, actor, f"reminder.{'done' if status == 'done' else 'cancel'}", "reminder", reminders[0].id,
        before=before, after={"status": status, "reminder_ids": [r.id for r in reminders]}, now=now,
    )
    return reminders


def reopen_reminders(session: Session, before: dict[str, Any], after: dict[str, Any]) -> list[Reminder]:
    """Undo of close_reminders: each reminder gets its status back if nothing changed it since."""
    reopened = []
    for reminder_id, status in (before.get("statuses") or {}).items():
        reminder = session.get(Reminder, int(reminder_id))
        if reminder is not None and reminder.status == after.get("status"):
            reminder.status = status
            reopened.append(reminder)
    session.flush()
    return reopened
