"""Customer hand-over (客户资源转移): a leaving rep's customers, or one customer, to another person.

Customers, their open opportunities and open reminders (pending, or sent by the scheduler but not done)
change owner in the caller's one transaction, with an audit row for every changed row and one for the
hand-over itself. Handing over all of someone's customers (a leaver) also revokes the customers shared
with them. A staff member who still owns customers cannot be deactivated; deactivating unbinds their chats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput, NotFound, PermissionDenied
from crm_store.models import (
    OPEN_REMINDER_STATUSES,
    ChatIdentity,
    Customer,
    CustomerShare,
    Opportunity,
    Reminder,
    Staff,
)
from crm_store.services.binding import unbind_staff
from crm_store.services.common import CUSTOMER_ROLES, Actor, audit, require_aware, team_ids
from crm_store.services.customers import customer_history
from crm_store.services.reports import fmt_money

HANDOVER_ROLES = ("manager", "director", "admin")
OPEN_STAGES = ("initial", "qualified", "proposal", "negotiation")
NOTICE_DETAIL_LIMIT = 10


@dataclass
class HandoverPlan:
    target_id: int
    target_name: str
    source_names: list[str]
    customer_ids: list[int] = field(default_factory=list)
    customer_names: list[str] = field(default_factory=list)
    opportunity_ids: list[int] = field(default_factory=list)
    reminder_ids: list[int] = field(default_factory=list)
    share_ids: list[int] = field(default_factory=list)  # shares revoked: the leaver's, and redundant ones
    unshared_names: list[str] = field(default_factory=list)  # other people's customers the leaver loses
    # The leaver's open reminders on those customers: back to each customer's owner (a reminder quotes the
    # last visit, which the leaver may no longer read).
    returned_reminder_ids: list[int] = field(default_factory=list)
    already_names: list[str] = field(default_factory=list)  # named customers the target owns already


def _require_role(actor: Actor) -> int:
    if actor.staff_id is None or actor.role not in HANDOVER_ROLES:
        raise PermissionDenied(SM.HANDOVER_NO_PERMISSION)
    return actor.staff_id


def _manageable(session: Session, actor: Actor) -> set[int] | None:
    """Staff whose customers the actor may move; None means anyone."""
    staff_id = _require_role(actor)
    if actor.role in ("director", "admin"):
        return None
    return team_ids(session, staff_id) | {staff_id}


def _check_staff(allowed: set[int] | None, staff: Staff) -> None:
    if allowed is not None and staff.id not in allowed:
        raise PermissionDenied(SM.HANDOVER_NOT_YOUR_TEAM.format(name=staff.name))


def plan_handover(
    session: Session, actor: Actor, *, target_id: int, source_id: int | None = None,
    customer_ids: list[int] | None = None, lock: bool = False,
) -> HandoverPlan:
    """What a hand-over would move: all of `source_id`'s customers, or the given customers."""
    allowed = _manageable(session, actor)
    target = session.get(Staff, target_id)
    if target is None:
        raise NotFound(SM.STAFF_NOT_FOUND)
    if not target.active:
        raise InvalidInput(SM.HANDOVER_TARGET_INVALID.format(name=target.name, reason=SM.HANDOVER_TARGET_INACTIVE))
    if target.role not in CUSTOMER_ROLES or target.role == "admin":
        raise InvalidInput(SM.HANDOVER_TARGET_INVALID.format(name=target.name, reason=SM.HANDOVER_TARGET_ROLE))
    _check_staff(allowed, target)

    source = session.get(Staff, source_id) if source_id is not None else None
    if source_id is not None and source is None:
        raise NotFound(SM.STAFF_NOT_FOUND)
    stmt = select(Customer).order_by(Customer.id)
    if customer_ids:
        stmt = stmt.where(Customer.id.in_(customer_ids))
    elif source is not None:
        _check_staff(allowed, source)
        if source.id == target.id:
            raise InvalidInput(SM.HANDOVER_SAME_PERSON.format(name=target.name))
        stmt = stmt.where(Customer.owner_id == source.id)
    else:
        raise InvalidInput(SM.HANDOVER_NO_SOURCE)
    if lock:
        stmt = stmt.with_for_update()
    customers = list(session.scalars(stmt))
    if customer_ids and len(customers) != len(set(customer_ids)):
        raise NotFound(SM.CUSTOMER_NOT_FOUND)
    if customer_ids and source is not None:  # 把张伟的海康和瑞幸…: each must really be 张伟's
        others = [c.name for c in customers if c.owner_id != source.id]
        if others:
            raise InvalidInput(SM.HANDOVER_NOT_OWNED.format(names="、".join(others), source=source.name))
    owners = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_({c.owner_id for c in customers})))}
    for customer in customers:
        _check_staff(allowed, owners[customer.owner_id])
    moving = [c for c in customers if c.owner_id != target.id]
    if not moving:
        if customers:
            raise InvalidInput(SM.HANDOVER_SAME_PERSON.format(name=target.name))
        name = session.get(Staff, source_id).name if source_id else ""
        raise InvalidInput(SM.HANDOVER_NOTHING.format(name=name))

    ids = [c.id for c in moving]
    old_owners = sorted({c.owner_id for c in moving})
    opp_stmt = select(Opportunity.id).where(
        Opportunity.customer_id.in_(ids), Opportunity.stage.in_(OPEN_STAGES), Opportunity.owner_id.in_(old_owners)
    ).order_by(Opportunity.id)
    reminder_stmt = select(Reminder.id).where(
        Reminder.customer_id.in_(ids), Reminder.status.in_(OPEN_REMINDER_STATUSES), Reminder.staff_id.in_(old_owners)
    ).order_by(Reminder.id)
    # A share on a moved customer held by its old owner or by the new one means nothing any more; a leaver
    # (all of source_id's customers move) keeps no share at all, or they would still read those customers.
    revoked = (CustomerShare.customer_id.in_(ids) & CustomerShare.staff_id.in_([*old_owners, target.id]))
    if source_id is not None and not customer_ids:
        revoked = revoked | (CustomerShare.staff_id == source_id)
    shares = session.execute(select(CustomerShare.id, Customer.name, CustomerShare.customer_id)
                             .join(Customer, Customer.id == CustomerShare.customer_id)
                             .where(revoked).order_by(CustomerShare.id)).all()
    unshared = [customer for _id, _name, customer in shares if customer not in ids]
    returned = select(Reminder.id).where(
        Reminder.customer_id.in_(unshared), Reminder.status.in_(OPEN_REMINDER_STATUSES),
        Reminder.staff_id == source_id).order_by(Reminder.id)
    return HandoverPlan(
        target_id=target.id,
        target_name=target.name,
        source_names=[owners[o].name for o in old_owners],
        customer_ids=ids,
        customer_names=[c.name for c in moving],
        opportunity_ids=list(session.scalars(opp_stmt)),
        reminder_ids=list(session.scalars(reminder_stmt)),
        share_ids=[share_id for share_id, _name, _customer in shares],
        unshared_names=[name for _id, name, customer in shares if customer not in ids],
        returned_reminder_ids=list(session.scalars(returned)) if unshared else [],
        already_names=[c.name for c in customers if c.owner_id == target.id],
    )


@dataclass
class HandoverResult:
    plan: HandoverPlan
    notice: str  # for the receiving person: each customer's history so far


def _reassign(
    session: Session, actor: Actor | None, rows: Iterable[Any], column: str, kind: str, target: int, now: datetime
) -> None:
    """Point each row's owner column at the new person, one audit row per change."""
    for row in rows:
        before = getattr(row, column)
        setattr(row, column, target)
        if hasattr(row, "updated_at"):
            row.updated_at = now
        audit(session, actor, f"{kind}.transfer", kind, row.id,
              before={column: before}, after={column: target}, now=now)


def transfer_customers(
    session: Session, actor: Actor, *, target_id: int, source_id: int | None = None,
    customer_ids: list[int] | None = None, expected_ids: list[int] | None = None, now: datetime,
    tz: tzinfo | None = None,
) -> HandoverResult:
    """Move customers, their open opportunities and open reminders to `target_id`, revoke the shares the
    plan names. Flushes only.

    `expected_ids`: the customers the user confirmed in the preview; if the set changed since, refuse.
    """
    require_aware(now)
    plan = plan_handover(session, actor, target_id=target_id, source_id=source_id, customer_ids=customer_ids,
                         lock=True)
    if expected_ids is not None and sorted(expected_ids) != sorted(plan.customer_ids):
        raise InvalidInput(SM.HANDOVER_CHANGED)
    target = plan.target_id
    customers = session.scalars(select(Customer).where(Customer.id.in_(plan.customer_ids)))
    _reassign(session, actor, customers, "owner_id", "customer", target, now)
    opportunities = session.scalars(select(Opportunity).where(Opportunity.id.in_(plan.opportunity_ids)))
    _reassign(session, actor, opportunities, "owner_id", "opportunity", target, now)
    reminders = session.scalars(select(Reminder).where(Reminder.id.in_(plan.reminder_ids)))
    _reassign(session, actor, reminders, "staff_id", "reminder", target, now)
    _revoke_shares(session, actor, plan.share_ids, now)
    _return_reminders(session, actor, plan.returned_reminder_ids, now)
    audit(session, actor, "customers.handover", "staff", target, after={
        "from": plan.source_names, "customer_ids": plan.customer_ids,
        "opportunity_ids": plan.opportunity_ids, "reminder_ids": plan.reminder_ids, "share_ids": plan.share_ids,
    }, now=now)
    session.flush()
    return HandoverResult(plan, handover_notice(session, actor, plan, tz or ZoneInfo("Asia/Shanghai")))


def _return_reminders(session: Session, actor: Actor | None, reminder_ids: list[int], now: datetime) -> None:
    """Open reminders on customers someone no longer sees go to each customer's owner."""
    for reminder in list(session.scalars(select(Reminder).where(Reminder.id.in_(reminder_ids)).order_by(Reminder.id))):
        _reassign(session, actor, [reminder], "staff_id", "reminder", reminder.customer.owner_id, now)


def _revoke_shares(session: Session, actor: Actor, share_ids: list[int], now: datetime) -> None:
    for share in session.scalars(select(CustomerShare).where(CustomerShare.id.in_(share_ids))):
        audit(session, actor, "customer_share.revoke", "customer", share.customer_id,
              before={"shared_with": share.staff_id}, now=now)
        session.delete(share)
    session.flush()


def handover_notice(session: Session, actor: Actor, plan: HandoverPlan, tz: tzinfo) -> str:
    """What the receiving person needs to pick the customers up: stage, last contact, deals, recent history."""
    lines = [SM.HANDOVER_NOTICE_HEAD.format(actor=actor.name, count=len(plan.customer_ids),
                                           source="、".join(plan.source_names))]
    shown = plan.customer_ids[:NOTICE_DETAIL_LIMIT]
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(shown)))}
    for customer_id in shown:
        customer = customers[customer_id]
        last = customer.last_contact_at.astimezone(tz).strftime("%Y-%m-%d") if customer.last_contact_at else \
            SM.HANDOVER_NEVER
        lines.append(SM.HANDOVER_NOTICE_CUSTOMER.format(
            name=customer.name, lifecycle=SM.LIFECYCLE_NAMES.get(customer.lifecycle, customer.lifecycle), last=last))
        opps = session.scalars(select(Opportunity).where(
            Opportunity.customer_id == customer_id, Opportunity.stage.in_(OPEN_STAGES)).order_by(Opportunity.id))
        lines.extend(
            SM.HANDOVER_NOTICE_OPP.format(title=o.title, stage=SM.STAGE_NAMES[o.stage],
                                         amount=fmt_money(o.amount) if o.amount is not None else "")
            for o in opps
        )
        pending = session.scalar(select(func.count(Reminder.id)).where(
            Reminder.customer_id == customer_id, Reminder.status.in_(OPEN_REMINDER_STATUSES),
            Reminder.staff_id == plan.target_id))
        if pending:
            lines.append(SM.HANDOVER_NOTICE_REMINDERS.format(count=pending))
        items, _total = customer_history(session, actor, customer_id, limit=2)
        lines.extend(
            SM.HANDOVER_NOTICE_HISTORY.format(day=item.at.astimezone(tz).strftime("%m-%d"), text=item.text)
            for item in items
        )
    rest = len(plan.customer_ids) - len(shown)
    if rest > 0:
        lines.append(SM.HANDOVER_NOTICE_MORE.format(count=rest, name=plan.customer_names[len(shown)]))
    return "\n".join(lines)


@dataclass
class DeactivationPlan:
    staff_id: int
    name: str
    role: str
    identities: list[str]  # the chat accounts that will be unbound, e.g. "wecom:zhangwei"
    shares: int  # customers shared with them, no longer visible
    open_reminders: int  # open reminders left: on a customer they go to its owner, the others are cancelled


def plan_deactivation(session: Session, actor: Actor | None, staff_id: int, *, lock: bool = False) -> DeactivationPlan:
    """What deactivating a staff member would do; refused while they still own customers.

    actor None is the server's own operator (the `crmbot staff` command on the machine)."""
    if actor is not None and (actor.staff_id is None or actor.role not in ("admin", "director", "manager")):
        raise PermissionDenied(SM.STAFF_DEACTIVATE_NO_PERMISSION)
    staff = session.get(Staff, staff_id, with_for_update=lock)
    if staff is None:
        raise NotFound(SM.STAFF_NOT_FOUND)
    if actor is not None and staff.id == actor.staff_id:
        raise InvalidInput(SM.STAFF_DEACTIVATE_SELF)
    if actor is not None and actor.role == "manager" and staff.manager_id != actor.staff_id:
        raise PermissionDenied(SM.STAFF_DEACTIVATE_NO_PERMISSION)
    if not staff.active:
        raise InvalidInput(SM.STAFF_ALREADY_INACTIVE.format(name=staff.name))
    owned = session.scalar(select(func.count(Customer.id)).where(Customer.owner_id == staff_id)) or 0
    if owned:
        raise InvalidInput(SM.STAFF_STILL_OWNS.format(name=staff.name, count=owned))
    reports = list(session.scalars(select(Staff.name).where(Staff.manager_id == staff_id, Staff.active.is_(True))
                                   .order_by(Staff.id)))
    if reports:  # their orders would wait for an approver who can no longer answer
        raise InvalidInput(SM.STAFF_STILL_MANAGES.format(name=staff.name, count=len(reports),
                                                         names="、".join(reports), first=reports[0]))
    identities = session.execute(select(ChatIdentity.channel, ChatIdentity.external_id)
                                 .where(ChatIdentity.staff_id == staff_id).order_by(ChatIdentity.id)).all()
    shares = session.scalar(select(func.count(CustomerShare.id)).where(CustomerShare.staff_id == staff_id)) or 0
    reminders = session.scalar(select(func.count(Reminder.id)).where(
        Reminder.staff_id == staff_id, Reminder.status.in_(OPEN_REMINDER_STATUSES))) or 0
    return DeactivationPlan(staff.id, staff.name, staff.role, [f"{c}:{e}" for c, e in identities], shares, reminders)


def deactivate_staff(session: Session, actor: Actor | None, staff_id: int, now: datetime) -> DeactivationPlan:
    """Turn a staff account off: refused while they still own customers (hand them over first); their chat
    accounts are unbound, shares revoked; an open reminder on a (shared) customer goes to the customer's
    owner, one on no customer is cancelled. Flushes only."""
    require_aware(now)
    plan = plan_deactivation(session, actor, staff_id, lock=True)
    staff = session.get(Staff, staff_id)
    assert staff is not None  # plan_deactivation found it
    staff.active = False
    session.flush()
    audit(session, actor, "staff.deactivate", "staff", staff.id, before={"active": True},
          after={"active": False, "unbound": plan.identities}, now=now)
    unbind_staff(session, staff_id, actor=actor, now=now)
    shares = list(session.scalars(select(CustomerShare.id).where(CustomerShare.staff_id == staff_id)))
    _revoke_shares(session, actor, shares, now)
    open_reminders = list(session.scalars(select(Reminder).where(
        Reminder.staff_id == staff_id, Reminder.status.in_(OPEN_REMINDER_STATUSES)).order_by(Reminder.id)))
    _return_reminders(session, actor, [r.id for r in open_reminders if r.customer_id is not None], now)
    for reminder in open_reminders:
        if reminder.customer_id is None:
            audit(session, actor, "reminder.cancel", "reminder", reminder.id, before={"status": reminder.status},
                  after={"status": "cancelled"}, now=now)
            reminder.status = "cancelled"
    session.flush()
    return plan
