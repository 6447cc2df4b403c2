"""Scheduled scans for staff: due follow-up reminders, the morning digest, dormant customers.

Each scan takes an explicit `now`, writes only outbox rows (idempotent keys) plus the state change it
stands for (reminder sent, customer dormant, with an audit row), and is safe to run twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crm_store import messages as SM
from crm_store.models import OPEN_REMINDER_STATUSES, Customer, Reminder, Staff, Visit
from crm_store.services import outbox
from crm_store.services.common import audit, require_aware

OPEN_REMINDER = OPEN_REMINDER_STATUSES
DIGEST_LINES = 8


@dataclass
class DueResult:
    sent: int = 0  # reminders delivered one message each
    summarised: int = 0  # reminders too old (downtime) folded into one message per rep
    summaries: int = 0


def _short_customer(customer: Customer) -> str:
    names = [a.alias for a in customer.aliases] + [customer.name]
    return min(names, key=len)


def _last_visit(session: Session, customer_id: int, now: datetime) -> Visit | None:
    stmt = (
        select(Visit)
        .where(Visit.customer_id == customer_id, Visit.visited_at <= now)
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def reminder_text(session: Session, reminder: Reminder, now: datetime, tz: tzinfo) -> str:
    """该跟进华为张伟了：<reminder>  上次（11月20日）：<last visit summary>"""
    if reminder.customer is None:
        return SM.REMINDER_DUE_PLAIN.format(text=reminder.text)
    who = _short_customer(reminder.customer) + (reminder.contact.name if reminder.contact else "")
    what = reminder.text
    origin = session.get(Visit, reminder.visit_id) if reminder.visit_id is not None else None
    if origin is not None:  # a visit's next step: its own words, not "跟进<customer> <contact>：..." again
        what = (origin.next_step or "").strip() or SM.DEFAULT_NEXT_STEP
    text = SM.REMINDER_DUE.format(who=who, text=what)
    visit = _last_visit(session, reminder.customer.id, now)
    if visit is not None:
        day = visit.visited_at.astimezone(tz)
        summary = visit.summary if len(visit.summary) <= 80 else visit.summary[:80] + "…"
        text += SM.REMINDER_LAST_VISIT.format(date=f"{day.month}月{day.day}日", summary=summary)
    return text


def _line(reminder: Reminder, tz: tzinfo, with_date: bool) -> str:
    due = reminder.due_at.astimezone(tz)
    stamp = f"{due.month}月{due.day}日 {due:%H:%M}" if with_date else f"{due:%H:%M}"
    return f"· {stamp} {reminder.text}"


def _lines(reminders: list[Reminder], tz: tzinfo, with_date: bool) -> str:
    lines = [_line(r, tz, with_date) for r in reminders[:DIGEST_LINES]]
    if len(reminders) > DIGEST_LINES:
        lines.append(SM.DIGEST_MORE.format(count=len(reminders)))
    return "\n".join(lines)


def send_due_reminders(session: Session, now: datetime, *, tz: tzinfo, grace: timedelta) -> DueResult:
    """Queue every due pending reminder for its rep; status -> sent in the same transaction.

    Reminders due more than `grace` ago (the process was down) are summarised into one message per rep
    instead of flooding. Keys reminder:{id} and missed:{staff}:{first id}-{last id} make a rerun a no-op.
    """
    require_aware(now)
    stmt = (
        select(Reminder)
        .where(Reminder.status == "pending", Reminder.due_at <= now)
        .options(selectinload(Reminder.customer).selectinload(Customer.aliases), selectinload(Reminder.contact))
        .order_by(Reminder.staff_id, Reminder.due_at, Reminder.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Reminder)
    result = DueResult()
    missed: dict[int, list[Reminder]] = defaultdict(list)
    for reminder in session.scalars(stmt):
        if reminder.due_at < now - grace:
            missed[reminder.staff_id].append(reminder)
            continue
        outbox.enqueue(
            session, key=f"reminder:{reminder.id}", kind="reminder", text=reminder_text(session, reminder, now, tz),
            due_at=now, now=now, staff_id=reminder.staff_id,
            payload={"reminder_id": reminder.id, "customer_id": reminder.customer_id},
        )
        _mark_sent(session, reminder, now, via="reminder")
        result.sent += 1
    for staff_id, reminders in missed.items():
        ids = [r.id for r in reminders]
        outbox.enqueue(
            session, key=f"missed:{staff_id}:{min(ids)}-{max(ids)}", kind="reminder_summary",
            text=SM.REMINDERS_MISSED.format(count=len(reminders), lines=_lines(reminders, tz, with_date=True)),
            due_at=now, now=now, staff_id=staff_id, payload={"reminder_ids": ids},
        )
        for reminder in reminders:
            _mark_sent(session, reminder, now, via="summary")
        result.summarised += len(reminders)
        result.summaries += 1
    return result


def _mark_sent(session: Session, reminder: Reminder, now: datetime, *, via: str) -> None:
    reminder.status = "sent"
    session.flush()
    audit(session, None, "reminder.sent", "reminder", reminder.id,
          before={"status": "pending"}, after={"status": "sent", "via": via}, now=now)


def morning_digest(session: Session, now: datetime, *, tz: tzinfo) -> int:
    """One message per staff member with today's and overdue open follow-ups (key digest:{staff}:{date})."""
    require_aware(now)
    today = now.astimezone(tz).date()
    start = datetime.combine(today, time(0), tzinfo=tz)
    end = start + timedelta(days=1)
    stmt = (
        select(Reminder)
        .join(Staff, Staff.id == Reminder.staff_id)
        .where(Reminder.status.in_(OPEN_REMINDER), Reminder.due_at < end, Staff.active.is_(True))
        .order_by(Reminder.staff_id, Reminder.due_at, Reminder.id)
    )
    per_staff: dict[int, list[Reminder]] = defaultdict(list)
    for reminder in session.scalars(stmt):
        per_staff[reminder.staff_id].append(reminder)
    queued = 0
    for staff_id, reminders in per_staff.items():
        todays = [r for r in reminders if r.due_at >= start]
        overdue = [r for r in reminders if r.due_at < start]
        parts = [SM.DIGEST_HEAD]
        if todays:
            parts.append(SM.DIGEST_TODAY.format(count=len(todays), lines=_lines(todays, tz, with_date=False)))
        if overdue:
            parts.append(SM.DIGEST_OVERDUE.format(count=len(overdue), lines=_lines(overdue, tz, with_date=True)))
        row = outbox.enqueue(
            session, key=f"digest:{staff_id}:{today.isoformat()}", kind="digest", text="\n".join(parts),
            due_at=now, now=now, staff_id=staff_id,
            payload={"today": [r.id for r in todays], "overdue": [r.id for r in overdue]},
        )
        queued += row is not None
    return queued


def mark_dormant_customers(session: Session, now: datetime, *, tz: tzinfo, after_days: int) -> int:
    """Customers once contacted but silent for `after_days` become 休眠 (audited); the owner is told once.

    Never-contacted targets and lost customers are left alone. The alert key carries the last contact
    date, so a customer who wakes up and falls silent again gets a new alert, a rerun does not.
    """
    require_aware(now)
    cutoff = now - timedelta(days=after_days)
    stmt = (
        select(Customer)
        .where(
            Customer.lifecycle.not_in(("dormant", "lost", "target")),
            Customer.last_contact_at.is_not(None),
            Customer.last_contact_at <= cutoff,
        )
        .options(selectinload(Customer.aliases))
        .order_by(Customer.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Customer)
    count = 0
    for customer in session.scalars(stmt):
        last = customer.last_contact_at
        assert last is not None
        before = {"lifecycle": customer.lifecycle}
        customer.lifecycle = "dormant"
        customer.updated_at = now
        session.flush()
        audit(session, None, "customer.dormant", "customer", customer.id,
              before=before, after={"lifecycle": "dormant"}, now=now)
        local_last = last.astimezone(tz).date()
        outbox.enqueue(
            session, key=f"dormant:{customer.id}:{local_last.isoformat()}", kind="dormant",
            text=SM.DORMANT_ALERT.format(customer=_short_customer(customer), days=(now - last).days,
                                        last=f"{local_last.month}月{local_last.day}日"),
            due_at=now, now=now, staff_id=customer.owner_id, payload={"customer_id": customer.id},
        )
        count += 1
    return count
