"""Approval decisions on submitted orders, the approver's queue and the escalation rule.

A decision is applied once: the step row is locked (FOR UPDATE on PostgreSQL; SQLite serializes
writers) and its status re-read inside the transaction, and the UPDATE itself is conditional on the
step still being pending, so a double tap, a channel retry or two managers at once change it once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from crm_store import messages as SM
from crm_store.errors import AlreadyDecided, Ambiguous, InvalidInput, NotFound, PermissionDenied
from crm_store.models import ApprovalStep, Customer, Order, Staff
from crm_store.services import orders
from crm_store.services.common import CUSTOMER_ROLES, Actor, audit, require_aware, visible_customers_clause
from crm_store.services.orders import NEXT_LEVEL, resolve_approver

APPROVER_ROLES = ("manager", "director", "admin")
MAX_REASON = 500
_NUMBER = re.compile(r"^SO\d{8,}$", re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    order: Order
    step: ApprovalStep
    approved: bool
    next_step: ApprovalStep | None  # the step now pending, when this one passed and another follows


def _order_query(*, aliases: bool = False):  # type: ignore[no-untyped-def]
    # Customer and submitter come with the order's row; steps (with approvers) and lines: one query each;
    # the customers' aliases only for lists matched against 海康那单.
    customer = joinedload(Order.customer)
    return select(Order).options(
        selectinload(Order.lines), selectinload(Order.steps).joinedload(ApprovalStep.approver),
        customer.selectinload(Customer.aliases) if aliases else customer, joinedload(Order.submitter),
    )


def pending_for(session: Session, actor: Actor) -> list[ApprovalStep]:
    """Steps waiting for this actor's decision, oldest first."""
    if actor.staff_id is None or actor.role not in APPROVER_ROLES:
        return []
    stmt = (
        select(ApprovalStep)
        .where(ApprovalStep.approver_id == actor.staff_id, ApprovalStep.status == "pending")
        .options(selectinload(ApprovalStep.order).selectinload(Order.customer),
                 selectinload(ApprovalStep.order).selectinload(Order.submitter),
                 selectinload(ApprovalStep.order).selectinload(Order.lines))
        .order_by(ApprovalStep.pending_since, ApprovalStep.id)
    )
    return list(session.scalars(stmt))


def find_order(session: Session, actor: Actor, ref: str | int, *, lock: bool = False) -> Order:
    """An order by number (SO20261127001 or 20261127001), by id (#12), or by the tail of a number
    among the orders waiting for this actor (001). `lock`: the order row is locked and read again with its
    steps, so deciders of one order take turns and each sees the others' decisions."""
    order, locked = _find_order(session, actor, ref, lock)
    return locked_order(session, order.id) if lock and not locked else order


def locked_order(session: Session, order_id: int) -> Order:
    order = session.scalar(_order_query().where(Order.id == order_id).with_for_update(of=Order)
                           .execution_options(populate_existing=True))
    if order is None:
        raise NotFound(SM.ORDER_NOT_FOUND)
    return order


def _find_order(session: Session, actor: Actor, ref: str | int, lock: bool) -> tuple[Order, bool]:
    """The order, and whether it was read locked (by number, the one statement does both)."""
    text = str(ref).strip().lstrip("#＃").strip()
    if not text or len(text) > 32:
        raise NotFound(SM.ORDER_NOT_FOUND)
    if _NUMBER.match(text) or (text.isdigit() and len(text) >= 11):
        number = text.upper() if text[:2].upper() == "SO" else f"SO{text}"
        query = _order_query().where(Order.number == number)
        if lock:
            query = query.with_for_update(of=Order).execution_options(populate_existing=True)
        order = session.scalar(query)
        if order is not None:
            return order, lock
        raise NotFound(SM.ORDER_NOT_FOUND)
    if not text.isdigit():
        raise NotFound(SM.ORDER_NOT_FOUND)
    mine = [s.order for s in pending_for(session, actor) if s.order.number.endswith(text)]
    by_id = session.scalar(_order_query().where(Order.id == int(text))) if len(text) <= 9 else None
    if by_id is not None and (not mine or by_id in mine):
        return by_id, False
    if len(mine) == 1:
        return mine[0], False
    if len(mine) > 1:
        raise Ambiguous(SM.SEVERAL_TO_APPROVE.format(count=len(mine)), mine)
    raise NotFound(SM.ORDER_NOT_FOUND)


def _visible_orders(actor: Actor) -> ColumnElement[bool]:
    """Orders the actor may read: their own, ones they approve on, and those of customers they may see."""
    if actor.staff_id is None or actor.role not in CUSTOMER_ROLES:
        return false()
    on_route = select(ApprovalStep.order_id).where(ApprovalStep.approver_id == actor.staff_id)
    customers = select(Customer.id).where(visible_customers_clause(actor))
    return or_(Order.submitter_id == actor.staff_id, Order.id.in_(on_route), Order.customer_id.in_(customers))


def visible_order(session: Session, actor: Actor, ref: str | int) -> Order:
    """An order to look at (看下SO…): by number or id like find_order, if the actor may read it."""
    order = find_order(session, actor, ref)
    if session.scalar(select(Order.id).where(Order.id == order.id, _visible_orders(actor))) is None:
        raise PermissionDenied(SM.ORDER_NOT_VISIBLE)
    return order


def recent_visible(session: Session, actor: Actor, limit: int = 50) -> list[Order]:
    """The newest orders the actor may read (to find 海康那单 among them)."""
    stmt = _order_query(aliases=True).where(_visible_orders(actor)).order_by(Order.created_at.desc(), Order.id.desc())
    return list(session.scalars(stmt.limit(limit)))


def check_step(session: Session, actor: Actor, order: Order) -> ApprovalStep:
    """The step of this order the actor decides, or the reason they cannot."""
    mine = [s for s in order.steps if s.approver_id == actor.staff_id]
    pending = next((s for s in order.steps if s.status == "pending"), None)
    if pending is not None and (pending in mine or _may_stand_in(session, actor, pending)):
        return pending
    if mine:
        step = mine[-1]
        if step.status in ("approved", "rejected", "skipped") or order.status != "pending":
            raise AlreadyDecided(SM.ALREADY_DECIDED.format(status=_status_name(order, step)))
        if pending is not None and pending.approver is not None:
            raise PermissionDenied(SM.NOT_YOUR_TURN.format(approver=pending.approver.name))
    if order.status != "pending" and actor.role == "admin":
        raise AlreadyDecided(SM.ALREADY_DECIDED.format(status=_status_name(order)))
    raise PermissionDenied(SM.NOT_YOUR_APPROVAL)


def _may_stand_in(session: Session, actor: Actor, step: ApprovalStep) -> bool:
    """An admin may decide any step; the next level may decide a step escalated to them. Never one's own order."""
    if step.order.submitter_id == actor.staff_id:
        return False
    if actor.role == "admin":
        return True
    if step.escalated_at is None:
        return False
    target = escalation_target(session, step)
    return target is not None and target.id == actor.staff_id


def _status_name(order: Order, step: ApprovalStep | None = None) -> str:
    """The order's status once it is final; while it still runs, what happened to this step."""
    if order.status == "pending" and step is not None and step.status in SM.STEP_STATUS_NAMES:
        return SM.STEP_STATUS_NAMES[step.status]
    return SM.ORDER_STATUS_NAMES.get(order.status, order.status)


def decide(
    session: Session,
    actor: Actor,
    *,
    order_ref: str | int | None,
    approve: bool,
    reason: str | None = None,
    now: datetime,
    via_message: str | None = None,
) -> Decision:
    """Approve or reject the actor's step of an order (order_ref None: the one order waiting for them)."""
    require_aware(now)
    if actor.staff_id is None or actor.role not in APPROVER_ROLES:
        raise PermissionDenied(SM.NO_APPROVAL_RIGHT)
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidInput(SM.REASON_TOO_LONG.format(limit=MAX_REASON))
    if order_ref is None or str(order_ref).strip() == "":
        waiting = pending_for(session, actor)
        if not waiting:
            raise NotFound(SM.NOTHING_TO_APPROVE)
        if len(waiting) > 1:
            raise Ambiguous(SM.SEVERAL_TO_APPROVE.format(count=len(waiting)), [s.order for s in waiting])
        order = locked_order(session, waiting[0].order_id)
    else:
        order = find_order(session, actor, order_ref, lock=True)
    step = check_step(session, actor, order)
    if not approve and reason is None:
        raise InvalidInput(SM.REJECT_REASON_REQUIRED)
    # Only a step still pending changes: a concurrent decision waits for the other transaction, then finds
    # the step decided and changes nothing (the row lock of the UPDATE, re-checked after the wait).
    via = via_message or actor.via_message
    decided = {"status": "approved" if approve else "rejected", "decided_by_id": actor.staff_id,
               "decided_at": now, "reason": reason, "via_message": via}
    changed = session.execute(
        update(ApprovalStep)
        .where(ApprovalStep.id == step.id, ApprovalStep.status == "pending")
        .values(**decided)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.refresh(step)
        session.refresh(order)
        raise AlreadyDecided(SM.ALREADY_DECIDED.format(status=_status_name(order, step)))
    for key, value in decided.items():  # what was written, without reading the row back
        set_committed_value(step, key, value)
    locked = step
    following = [s for s in order.steps if s.step_no > locked.step_no]
    next_step: ApprovalStep | None = None
    if not approve:
        for later in following:
            later.status = "skipped"
        order.status, order.decided_at = "rejected", now
    elif following:
        next_step = following[0]
        next_step.status, next_step.pending_since = "pending", now
    else:
        order.status, order.decided_at = "approved", now
    session.flush()
    audit(
        session, actor, "order.approve" if approve else "order.reject", "approval_step", locked.id,
        before={"status": "pending", "order_status": "pending"},
        after={
            "order_id": order.id, "number": order.number, "step_no": locked.step_no,
            "decision": "approved" if approve else "rejected", "reason": reason,
            "order_status": order.status, "via_message": via,
            "next_approver_id": next_step.approver_id if next_step else None,
        },
        now=now,
    )
    return Decision(order=order, step=locked, approved=approve, next_step=next_step)


# --- undo ---------------------------------------------------------------------------------------


def undo_decision(session: Session, row: Any, now: datetime) -> str:
    """Undo handler for an `order.approve` / `order.reject` audit row (crm_store.services.undo): the step is
    pending again, the steps after it wait again and the order is pending, while nobody decided after it.
    Notices the decision sent that are still unsent are withdrawn; who already read one is told."""
    step = session.scalar(select(ApprovalStep).where(ApprovalStep.id == row.entity_id).with_for_update()
                          .execution_options(populate_existing=True))
    if step is None or step.status not in ("approved", "rejected"):
        raise NotFound(SM.NOTHING_TO_UNDO)
    order = locked_order(session, step.order_id)
    later = [s for s in order.steps if s.step_no > step.step_no]
    if order.status == "cancelled" or any(s.status in ("approved", "rejected") for s in later):
        raise InvalidInput(SM.UNDO_DECISION_LATER)
    approved = step.status == "approved"
    step.status, step.decided_by_id, step.decided_at, step.reason = "pending", None, None, None
    for following in later:
        following.status, following.pending_since = "waiting", None
        following.reminded_at = following.escalated_at = None
    order.status, order.decided_at = "pending", None
    session.flush()
    approver = step.approver.name if step.approver else ""

    def told(staff_id: int) -> str:
        if staff_id == order.submitter_id:
            template = SM.NOTICE_APPROVAL_UNDONE if approved else SM.NOTICE_REJECTION_UNDONE
            return template.format(number=order.number, approver=approver)
        return SM.NOTICE_REQUEST_WITHDRAWN.format(number=order.number, approver=approver)

    orders.withdraw_notices(session, order, now, told, since=row.at, keep_for=step.approver_id)
    template = SM.UNDO_WHAT_APPROVE if approved else SM.UNDO_WHAT_REJECT
    return template.format(number=order.number)


# --- escalation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    step: ApprovalStep
    kind: str  # "remind" (to the approver) or "escalate" (to the next level)
    to_staff_id: int
    text: str  # the message for to_staff_id; the scheduler queues it (key approval:{step.id}:{kind})


def escalation_due(session: Session, now: datetime, hours: int) -> list[ApprovalStep]:
    """Pending steps due a reminder (pending `hours` and not reminded) or an escalation (reminded `hours` ago)."""
    require_aware(now)
    cutoff = now - timedelta(hours=hours)
    stmt = (
        select(ApprovalStep)
        .where(
            ApprovalStep.status == "pending",
            or_(
                and_(ApprovalStep.reminded_at.is_(None), ApprovalStep.pending_since <= cutoff),
                and_(ApprovalStep.reminded_at <= cutoff, ApprovalStep.escalated_at.is_(None)),
            ),
        )
        .options(selectinload(ApprovalStep.order).selectinload(Order.customer))
        .order_by(ApprovalStep.pending_since, ApprovalStep.id)
    )
    return list(session.scalars(stmt))


def escalation_target(session: Session, step: ApprovalStep) -> Staff | None:
    """The next level above the step's approver: their own manager, else a director, else an admin."""
    approver = session.get(Staff, step.approver_id) if step.approver_id else None
    if approver is None:
        return None
    order = session.get(Order, step.order_id)
    banned = {approver.id} | ({order.submitter_id} if order else set())
    boss = approver.manager
    if boss is not None and boss.active and boss.id not in banned:
        return boss
    level = NEXT_LEVEL.get(step.role) if approver.role == step.role else NEXT_LEVEL.get(approver.role)
    if level is None:
        return None
    try:
        return resolve_approver(session, approver, level, exclude=banned)
    except InvalidInput:
        return None


def mark_escalated(session: Session, step_id: int, now: datetime, hours: int) -> Escalation | None:
    """Record the reminder or the escalation that is due now for this step; None when nothing is due
    (decided meanwhile, or another scheduler run got there first). The caller sends the message."""
    require_aware(now)
    step = session.scalar(
        select(ApprovalStep).where(ApprovalStep.id == step_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if step is None or step.status != "pending" or step.pending_since is None or step.approver_id is None:
        return None
    cutoff = now - timedelta(hours=hours)
    if step.reminded_at is None and step.pending_since <= cutoff:
        step.reminded_at = now
        kind, to_staff = "remind", step.approver_id
    elif step.reminded_at is not None and step.reminded_at <= cutoff and step.escalated_at is None:
        target = escalation_target(session, step)
        step.escalated_at = now
        kind, to_staff = "escalate", target.id if target else step.approver_id
    else:
        return None
    session.flush()
    audit(session, None, f"approval.{kind}", "approval_step", step.id,
          after={"order_id": step.order_id, "to_staff_id": to_staff}, now=now)
    order = session.get(Order, step.order_id)
    assert order is not None
    waited = int((now - step.pending_since).total_seconds() // 3600)
    fields = {
        "number": order.number, "customer": order.customer.name, "total": f"{order.total:,.2f}",
        "hours": waited, "approver": step.approver.name if step.approver else "",
    }
    template = SM.ESCALATION_REMIND if kind == "remind" else SM.ESCALATION_ESCALATE
    return Escalation(step=step, kind=kind, to_staff_id=to_staff, text=template.format(**fields))


def run_escalations(session: Session, now: datetime, hours: int) -> list[Escalation]:
    """Every reminder / escalation due now, recorded; the scheduler queues each one's text for to_staff_id."""
    done = []
    for step in escalation_due(session, now, hours):
        escalation = mark_escalated(session, step.id, now, hours)
        if escalation is not None:
            done.append(escalation)
    return done
