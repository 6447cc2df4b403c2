"""Editing and deleting a saved visit or reminder after the undo window (改一下刚才华为那条拜访的时间,
把刚才那条提醒删了). Only the person who wrote it, or their manager / a director / an admin for a visit,
may change it; every change leaves an audit row that 撤销 can revert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import NotFound, PermissionDenied
from crm_store.models import OPEN_REMINDER_STATUSES, AuditLog, Contact, Customer, Reminder, Visit
from crm_store.services.activities import followup_text
from crm_store.services.common import (
    Actor,
    audit,
    customer_for_write,
    parse_dt,
    require_aware,
    require_staff,
    team_ids,
)
from crm_store.services.customers import find_or_create_contact

VISIT_FIELDS = ("visited_at", "contact_id", "summary", "next_step", "next_followup_at")


# --- finding the record meant -------------------------------------------------------------------


def recent_visits(session: Session, actor: Actor, *, customer_id: int | None = None, limit: int = 5) -> list[Visit]:
    """Visits the actor may change, newest entry first (刚才那条 is the one written last): their own; with a
    customer named, a manager also finds the team's and a director or admin anyone's."""
    staff_id = require_staff(actor)
    authors = {staff_id}
    if customer_id is not None and actor.role == "manager":
        authors |= team_ids(session, staff_id)
    stmt = select(Visit)
    if customer_id is None or actor.role not in ("director", "admin"):
        stmt = stmt.where(Visit.staff_id.in_(authors))
    if customer_id is not None:
        stmt = stmt.where(Visit.customer_id == customer_id)
    return list(session.scalars(stmt.order_by(Visit.created_at.desc(), Visit.id.desc()).limit(limit)))


def recent_reminders(
    session: Session, actor: Actor, *, customer_id: int | None = None, limit: int = 5
) -> list[Reminder]:
    """The actor's own open reminders, newest entry first."""
    staff_id = require_staff(actor)
    stmt = select(Reminder).where(Reminder.staff_id == staff_id, Reminder.status.in_(OPEN_REMINDER_STATUSES))
    if customer_id is not None:
        stmt = stmt.where(Reminder.customer_id == customer_id)
    return list(session.scalars(stmt.order_by(Reminder.created_at.desc(), Reminder.id.desc()).limit(limit)))


# --- who may change what ------------------------------------------------------------------------


def _visit_for_write(session: Session, actor: Actor, visit_id: int) -> Visit:
    staff_id = require_staff(actor)
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(SM.VISIT_NOT_FOUND)
    customer_for_write(session, actor, visit.customer_id)
    allowed = (
        visit.staff_id == staff_id
        or actor.role in ("director", "admin")
        or (actor.role == "manager" and visit.staff_id in team_ids(session, staff_id))
    )
    if not allowed:
        raise PermissionDenied(SM.NO_PERMISSION_RECORD)
    return visit


def _reminder_for_write(session: Session, actor: Actor, reminder_id: int) -> Reminder:
    staff_id = require_staff(actor)
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.status not in OPEN_REMINDER_STATUSES:
        raise NotFound(SM.REMINDER_GONE)
    if reminder.staff_id != staff_id and actor.role != "admin":
        raise PermissionDenied(SM.NO_PERMISSION_RECORD)
    return reminder


# --- visits -------------------------------------------------------------------------------------


def _visit_state(session: Session, visit: Visit) -> dict[str, Any]:
    linked = session.scalars(
        select(Reminder).where(Reminder.visit_id == visit.id, Reminder.status.in_(OPEN_REMINDER_STATUSES))
    ).all()
    return {field: getattr(visit, field) for field in VISIT_FIELDS} | {
        "reminders": {str(r.id): {"due_at": r.due_at, "text": r.text, "status": r.status} for r in linked},
    }


def edit_visit(
    session: Session,
    actor: Actor,
    visit_id: int,
    *,
    visited_at: datetime | None = None,
    contact_name: str | None = None,
    contact_title: str | None = None,
    summary: str | None = None,
    next_step: str | None = None,
    next_followup_at: datetime | None = None,
    now: datetime,
) -> Visit:
    """Change the fields given; the visit's follow-up reminder follows its time and next step."""
    require_aware(now)
    require_aware(visited_at)
    require_aware(next_followup_at)
    visit = _visit_for_write(session, actor, visit_id)
    customer = session.get(Customer, visit.customer_id)
    assert customer is not None
    before = _visit_state(session, visit) | {"customer": {"last_contact_at": customer.last_contact_at}}
    if visited_at is not None:
        was = visit.visited_at
        visit.visited_at = visited_at
        session.flush()
        _refresh_last_contact(session, customer, was, now)
    if contact_name and contact_name.strip():
        contact, _ = find_or_create_contact(session, actor, customer, contact_name, title=contact_title, now=now)
        visit.contact_id = contact.id
    if summary is not None and summary.strip():
        visit.summary = summary.strip()
    if next_step is not None and next_step.strip():
        visit.next_step = next_step.strip()
    if next_followup_at is not None:
        visit.next_followup_at = next_followup_at
    session.flush()
    _follow_visit(session, visit, customer, now)
    audit(session, actor, "visit.update", "visit", visit.id, before=before, after=_visit_state(session, visit),
          now=now)
    return visit


def _follow_visit(session: Session, visit: Visit, customer: Customer, now: datetime) -> None:
    """The visit's open follow-up reminder gets its time and text; one is added when a time is new."""
    contact = session.get(Contact, visit.contact_id) if visit.contact_id else None
    linked = session.scalars(
        select(Reminder).where(Reminder.visit_id == visit.id, Reminder.status.in_(OPEN_REMINDER_STATUSES))
    ).all()
    if visit.next_followup_at is None:
        return
    text = followup_text(customer, contact, visit.next_step)
    for reminder in linked:
        reminder.due_at, reminder.text, reminder.status = visit.next_followup_at, text, "pending"
    if not linked:
        session.add(Reminder(
            staff_id=visit.staff_id, customer_id=customer.id, contact_id=contact.id if contact else None,
            visit_id=visit.id, due_at=visit.next_followup_at, text=text, status="pending", created_at=now,
        ))
    session.flush()


def _refresh_last_contact(session: Session, customer: Customer, was: datetime, now: datetime) -> None:
    """A visit moved or removed: when it was the customer's last contact, the latest visit now is;
    a later contact from elsewhere stays."""
    latest = session.scalar(select(func.max(Visit.visited_at)).where(Visit.customer_id == customer.id))
    if customer.last_contact_at is None or customer.last_contact_at == was:
        customer.last_contact_at = latest
    elif latest is not None and latest > customer.last_contact_at:
        customer.last_contact_at = latest
    customer.updated_at = now


def delete_visit(session: Session, actor: Actor, visit_id: int, *, now: datetime) -> str:
    """Remove a visit and cancel its open follow-up reminders; returns the customer's name."""
    require_aware(now)
    visit = _visit_for_write(session, actor, visit_id)
    customer = session.get(Customer, visit.customer_id)
    assert customer is not None
    before = _visit_state(session, visit) | {
        "id": visit.id, "customer_id": visit.customer_id, "staff_id": visit.staff_id, "created_at": visit.created_at,
        "customer": {"last_contact_at": customer.last_contact_at},
    }
    for reminder in session.scalars(select(Reminder).where(Reminder.visit_id == visit.id)):
        if reminder.status in OPEN_REMINDER_STATUSES:
            reminder.status = "cancelled"
        reminder.visit_id = None
    was = visit.visited_at
    session.delete(visit)
    session.flush()
    _refresh_last_contact(session, customer, was, now)
    audit(session, actor, "visit.delete", "visit", visit_id, before=before, after=None, now=now)
    return customer.name


def undo_visit_update(session: Session, row: AuditLog, now: datetime) -> str:
    visit = session.get(Visit, row.entity_id)
    if visit is None:
        raise NotFound(SM.NOTHING_TO_UNDO)
    before = row.before or {}
    visit.visited_at = parse_dt(before["visited_at"]) or visit.visited_at
    visit.contact_id = before.get("contact_id")
    visit.summary = before.get("summary") or visit.summary
    visit.next_step = before.get("next_step")
    visit.next_followup_at = parse_dt(before.get("next_followup_at"))
    _restore_reminders(session, before.get("reminders") or {}, visit_id=visit.id, cancel_others=True)
    session.flush()
    customer = session.get(Customer, visit.customer_id)
    if customer is not None and "customer" in before:
        customer.last_contact_at = parse_dt(before["customer"].get("last_contact_at"))
    return SM.UNDO_WHAT_VISIT_EDIT.format(customer=customer.name if customer else "")


def undo_visit_delete(session: Session, row: AuditLog, now: datetime) -> str:
    before = row.before or {}
    visit = Visit(
        id=row.entity_id, customer_id=before["customer_id"], staff_id=before["staff_id"],
        contact_id=before.get("contact_id"), visited_at=parse_dt(before["visited_at"]), summary=before["summary"],
        next_step=before.get("next_step"), next_followup_at=parse_dt(before.get("next_followup_at")),
        created_at=parse_dt(before.get("created_at")) or now,
    )
    session.add(visit)
    session.flush()
    _restore_reminders(session, before.get("reminders") or {}, visit_id=visit.id)
    customer = session.get(Customer, visit.customer_id)
    if customer is not None:
        customer.last_contact_at = parse_dt((before.get("customer") or {}).get("last_contact_at"))
        customer.updated_at = now
    session.flush()
    return SM.UNDO_WHAT_VISIT.format(customer=customer.name if customer else "")


def _restore_reminders(
    session: Session, saved: dict[str, Any], *, visit_id: int, cancel_others: bool = False
) -> None:
    for reminder_id, state in saved.items():
        reminder = session.get(Reminder, int(reminder_id))
        if reminder is not None:
            reminder.due_at, reminder.text, reminder.status = parse_dt(state["due_at"]), state["text"], state["status"]
            reminder.visit_id = visit_id
    if cancel_others:  # a reminder the edit added goes again
        for reminder in session.scalars(select(Reminder).where(Reminder.visit_id == visit_id)):
            if str(reminder.id) not in saved and reminder.status in OPEN_REMINDER_STATUSES:
                reminder.status = "cancelled"


# --- reminders ----------------------------------------------------------------------------------


def _reminder_state(reminder: Reminder) -> dict[str, Any]:
    return {"due_at": reminder.due_at, "text": reminder.text, "status": reminder.status}


def edit_reminder(
    session: Session, actor: Actor, reminder_id: int, *, due_at: datetime | None = None, text: str | None = None,
    now: datetime,
) -> Reminder:
    require_aware(now)
    require_aware(due_at)
    reminder = _reminder_for_write(session, actor, reminder_id)
    before = _reminder_state(reminder)
    if due_at is not None:
        reminder.due_at, reminder.status = due_at, "pending"
    if text is not None and text.strip():
        reminder.text = text.strip()
    session.flush()
    audit(session, actor, "reminder.update", "reminder", reminder.id, before=before, after=_reminder_state(reminder),
          now=now)
    return reminder


def delete_reminder(session: Session, actor: Actor, reminder_id: int, *, now: datetime) -> Reminder:
    require_aware(now)
    reminder = _reminder_for_write(session, actor, reminder_id)
    before = _reminder_state(reminder)
    reminder.status = "cancelled"
    session.flush()
    audit(session, actor, "reminder.delete", "reminder", reminder.id, before=before, after=_reminder_state(reminder),
          now=now)
    return reminder


def undo_reminder_change(session: Session, row: AuditLog, now: datetime) -> str:
    reminder = session.get(Reminder, row.entity_id)
    if reminder is None:
        raise NotFound(SM.NOTHING_TO_UNDO)
    before = row.before or {}
    reminder.due_at = parse_dt(before.get("due_at")) or reminder.due_at
    reminder.text = before.get("text") or reminder.text
    reminder.status = before.get("status") or reminder.status
    session.flush()
    return SM.UNDO_WHAT_REMINDER_EDIT.format(text=reminder.text)
