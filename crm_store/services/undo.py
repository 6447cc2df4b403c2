"""Undo of the actor's most recent write, from the audit log's before/after."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput, NotFound
from crm_store.models import (
    AuditLog,
    Contact,
    Customer,
    Opportunity,
    OpportunityStageChange,
    Order,
    Reminder,
    Visit,
)
from crm_store.services import approvals, edits, member_cards, members, orders, reminders
from crm_store.services.common import (
    Actor,
    audit,
    parse_date,
    parse_decimal,
    parse_dt,
    require_aware,
)
from crm_store.services.names import entity_changed


def _actor_filter(actor: Actor) -> Any:
    if actor.staff_id is not None:
        return AuditLog.actor_staff_id == actor.staff_id
    if actor.member_id is not None:
        return AuditLog.actor_member_id == actor.member_id
    raise NotFound(SM.NOTHING_TO_UNDO)


def _restore_lifecycle(customer: Customer | None, row: AuditLog, now: datetime) -> None:
    if customer is None:
        return
    before = (row.before or {}).get("customer") or {}
    after = (row.after or {}).get("customer") or {}
    if "lifecycle" in before and customer.lifecycle == after.get("lifecycle"):
        customer.lifecycle = before["lifecycle"]
        customer.updated_at = now


def _undo_visit(session: Session, row: AuditLog, now: datetime) -> str:
    visit = session.get(Visit, row.entity_id)
    if visit is None:
        raise NotFound(SM.NOTHING_TO_UNDO)
    customer = session.get(Customer, visit.customer_id)
    session.execute(delete(Reminder).where(Reminder.visit_id == visit.id))
    after = row.after or {}
    for reminder_id, status in (after.get("closed_reminders") or {}).items():
        reminder = session.get(Reminder, int(reminder_id))
        if reminder is not None and reminder.status == "done":
            reminder.status = status
    before = (row.before or {}).get("customer") or {}
    contact_id = visit.contact_id
    session.delete(visit)
    session.flush()
    if customer is not None:
        _restore_lifecycle(customer, row, now)
        after_contact = parse_dt((after.get("customer") or {}).get("last_contact_at"))
        if customer.last_contact_at == after_contact:
            customer.last_contact_at = parse_dt(before.get("last_contact_at"))
            customer.updated_at = now
    if after.get("contact_created") and contact_id is not None:
        used = session.scalar(
            select(
                exists().where(Visit.contact_id == contact_id)
                | exists().where(Reminder.contact_id == contact_id)
            )
        )
        if not used:
            session.execute(delete(Contact).where(Contact.id == contact_id))
            entity_changed(session, "contact")
    session.flush()
    return SM.UNDO_WHAT_VISIT.format(customer=customer.name if customer else "")


def _undo_customer(session: Session, row: AuditLog, now: datetime) -> str:
    customer = session.get(Customer, row.entity_id)
    if customer is None:
        raise NotFound(SM.NOTHING_TO_UNDO)
    cid = customer.id
    in_use = session.scalar(
        select(
            exists().where(Visit.customer_id == cid)
            | exists().where(Opportunity.customer_id == cid)
            | exists().where(Order.customer_id == cid)
            | exists().where(Reminder.customer_id == cid)
        )
    )
    if in_use:
        raise InvalidInput(SM.UNDO_CUSTOMER_IN_USE)
    name = customer.name
    session.execute(delete(Contact).where(Contact.customer_id == cid))
    entity_changed(session, "contact")
    session.delete(customer)
    session.flush()
    return SM.UNDO_WHAT_CUSTOMER.format(customer=name)


def _undo_opportunity(session: Session, row: AuditLog, now: datetime) -> str:
    opp = session.get(Opportunity, row.entity_id)
    if opp is None:
        raise NotFound(SM.NOTHING_TO_UNDO)
    customer = session.get(Customer, opp.customer_id)
    title = opp.title
    if row.action == "opportunity.create":
        session.execute(delete(OpportunityStageChange).where(OpportunityStageChange.opportunity_id == opp.id))
        session.delete(opp)
        session.flush()
        _restore_lifecycle(customer, row, now)
        session.flush()
        return SM.UNDO_WHAT_OPP_CREATE.format(title=title)
    before = row.before or {}
    change_id = (row.after or {}).get("stage_change_id")
    if change_id is not None:
        session.execute(delete(OpportunityStageChange).where(OpportunityStageChange.id == change_id))
    opp.title = before.get("title", opp.title)
    opp.product_id = before.get("product_id")
    opp.amount = parse_decimal(before.get("amount"))
    opp.stage = before.get("stage", opp.stage)
    opp.probability = before.get("probability", opp.probability)
    opp.expected_close = parse_date(before.get("expected_close"))
    opp.closed_at = parse_dt(before.get("closed_at"))
    opp.updated_at = now
    _restore_lifecycle(customer, row, now)
    session.flush()
    return SM.UNDO_WHAT_OPP_UPDATE.format(title=opp.title)


def _undo_reminder(session: Session, row: AuditLog, now: datetime) -> str:
    reminder = session.get(Reminder, row.entity_id)
    if reminder is None or reminder.status == "cancelled":
        raise NotFound(SM.NOTHING_TO_UNDO)
    reminder.status = "cancelled"
    session.flush()
    return SM.UNDO_WHAT_REMINDER.format(text=reminder.text)


def _undo_reminder_close(session: Session, row: AuditLog, now: datetime) -> str:
    reopened = reminders.reopen_reminders(session, row.before or {}, row.after or {})
    if not reopened:
        raise NotFound(SM.NOTHING_TO_UNDO)
    done = (row.after or {}).get("status") == "done"
    return (SM.UNDO_WHAT_REMINDER_DONE if done else SM.UNDO_WHAT_REMINDER_CANCEL).format(count=len(reopened))


def _undo_group(session: Session, row: AuditLog, now: datetime) -> str:
    """Several records written by one confirmation (a multi-part report): all of them, newest first."""
    rows = [session.get(AuditLog, audit_id) for audit_id in reversed((row.after or {}).get("audit_ids", []))]
    done = [_HANDLERS[r.action](session, r, now) for r in rows if r is not None]
    if not done:
        raise NotFound(SM.NOTHING_TO_UNDO)
    return SM.UNDO_WHAT_GROUP.format(count=len(done), what="；".join(reversed(done)))


def last_audit_id(session: Session) -> int:
    """Where a group of writes starts (see group_writes)."""
    return session.scalar(select(func.max(AuditLog.id))) or 0


def group_writes(session: Session, actor: Actor, since_id: int, *, now: datetime) -> AuditLog | None:
    """Make the actor's undoable writes after `since_id` one undo step (one 撤销 reverts them all).

    A customer created on the way (the visit of a new customer) stays, as it does after a single visit's
    undo: the other records may be undone while the customer record is kept.
    """
    require_aware(now)
    rows = session.scalars(
        select(AuditLog).where(_actor_filter(actor), AuditLog.id > since_id,
                               AuditLog.action.in_([a for a in UNDOABLE if a not in _NOT_GROUPED]))
        .order_by(AuditLog.id)
    ).all()
    if len(rows) < 2:
        return None
    return audit(session, actor, GROUP_ACTION, "group", None,
                 after={"audit_ids": [r.id for r in rows], "actions": [r.action for r in rows]}, now=now)


GROUP_ACTION = "group.create"
_NOT_GROUPED = ("customer.create", GROUP_ACTION)

_HANDLERS = {
    GROUP_ACTION: _undo_group,
    "visit.create": _undo_visit,
    "customer.create": _undo_customer,
    "opportunity.create": _undo_opportunity,
    "opportunity.update": _undo_opportunity,
    "reminder.create": _undo_reminder,
    "reminder.done": _undo_reminder_close,
    "reminder.cancel": _undo_reminder_close,
    "visit.update": edits.undo_visit_update,
    "visit.delete": edits.undo_visit_delete,
    "reminder.update": edits.undo_reminder_change,
    "reminder.delete": edits.undo_reminder_change,
    "order.submit": orders.undo_submit,
    "order.approve": approvals.undo_decision,
    "order.reject": approvals.undo_decision,
    "purchase.create": members.undo_purchase,
    "points.redeem": members.undo_redeem,
    "member.create": member_cards.undo_create,
    "member.renew": member_cards.undo_renew,
}
UNDOABLE = tuple(_HANDLERS)


def undoable_write(session: Session, actor: Actor, *, now: datetime, window_minutes: int) -> AuditLog | None:
    """The actor's most recent undoable write if it is inside the window and not undone yet."""
    require_aware(now)
    who = _actor_filter(actor)
    row = session.scalar(
        select(AuditLog).where(who, AuditLog.action.in_(UNDOABLE)).order_by(AuditLog.id.desc()).limit(1)
    )
    if row is None or row.at < now - timedelta(minutes=window_minutes):
        return None
    undos = session.scalars(
        select(AuditLog.after).where(who, AuditLog.action == "undo", AuditLog.id > row.id)
    ).all()
    if any((after or {}).get("undone_audit_id") == row.id for after in undos):
        return None
    return row


def undo_last_write(session: Session, actor: Actor, *, now: datetime, window_minutes: int) -> str:
    """Revert the actor's most recent undoable write if it is inside the window and not undone yet."""
    row = undoable_write(session, actor, now=now, window_minutes=window_minutes)
    if row is None:
        raise NotFound(SM.NOTHING_TO_UNDO)
    what = _HANDLERS[row.action](session, row, now)
    audit(
        session, actor, "undo", row.entity_type, row.entity_id,
        before=row.after, after={"undone_audit_id": row.id, "action": row.action}, now=now,
    )
    return SM.UNDONE.format(what=what)
