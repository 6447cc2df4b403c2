"""Visits, opportunities, reminders and follow-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import Ambiguous, InvalidInput, NotFound
from crm_store.models import (
    STAGE_PROBABILITY,
    STAGES,
    Contact,
    Customer,
    Opportunity,
    OpportunityStageChange,
    Product,
    Reminder,
    Visit,
)
from crm_store.services.common import (
    CUSTOMER_ROLES,
    Actor,
    audit,
    customer_for_write,
    is_visible,
    require_aware,
    require_customer_role,
    require_staff,
    to_decimal,
    visible_customers_clause,
)
from crm_store.services.customers import find_or_create_contact
from crm_store.services.reminders import open_reminders, reminder_answered_by_visit

CLOSED_STAGES = ("won", "lost")


# --- visits -------------------------------------------------------------------------------------


def _customer_snapshot(customer: Customer) -> dict[str, Any]:
    return {"lifecycle": customer.lifecycle, "last_contact_at": customer.last_contact_at}


def followup_text(customer: Customer, contact: Contact | None, next_step: str | None) -> str:
    """A visit's follow-up reminder: 跟进华为技术有限公司 张总：预计下周三报价."""
    step = (next_step or "").strip() or SM.DEFAULT_NEXT_STEP
    if contact is not None:
        return SM.REMINDER_FOLLOWUP_TEXT.format(customer=customer.name, contact=contact.name, next_step=step)
    return SM.REMINDER_FOLLOWUP_TEXT_NO_CONTACT.format(customer=customer.name, next_step=step)


def log_visit(
    session: Session,
    actor: Actor,
    customer_id: int,
    *,
    summary: str,
    visited_at: datetime,
    contact_name: str | None = None,
    contact_title: str | None = None,
    contact_phone: str | None = None,
    next_step: str | None = None,
    next_followup_at: datetime | None = None,
    source: str | None = None,
    now: datetime,
    answered: Reminder | None | Literal["find"] = "find",
) -> Visit:
    """`source` is 'voice' for a report that came in as a voice message (the platform's recognised text)."""
    require_aware(now)
    require_aware(visited_at)
    require_aware(next_followup_at)
    staff_id = require_customer_role(actor)
    customer = customer_for_write(session, actor, customer_id)
    if not summary or not summary.strip():
        raise InvalidInput(SM.SUMMARY_REQUIRED)
    before = _customer_snapshot(customer)
    contact: Contact | None = None
    contact_created = False
    if contact_name and contact_name.strip():
        contact, contact_created = find_or_create_contact(
            session, actor, customer, contact_name, title=contact_title, phone=contact_phone, now=now
        )
    visit = Visit(
        customer_id=customer.id,
        contact_id=contact.id if contact else None,
        staff_id=staff_id,
        visited_at=visited_at,
        summary=summary,
        next_step=next_step,
        next_followup_at=next_followup_at,
        created_at=now,
        source=source,
    )
    session.add(visit)
    if customer.last_contact_at is None or visited_at > customer.last_contact_at:
        customer.last_contact_at = visited_at
    if customer.lifecycle in ("target", "dormant", "lost"):
        customer.lifecycle = "prospect"
    customer.updated_at = now
    closed = _close_answered_reminder(session, actor, customer.id, visited_at, answered)
    session.flush()
    reminder_id = None
    if next_followup_at is not None:
        text = followup_text(customer, contact, next_step)
        reminder = Reminder(
            staff_id=staff_id,
            customer_id=customer.id,
            contact_id=contact.id if contact else None,
            visit_id=visit.id,
            due_at=next_followup_at,
            text=text,
            status="pending",
            created_at=now,
        )
        session.add(reminder)
        session.flush()
        reminder_id = reminder.id
    after = {
        "customer_id": customer.id,
        "visited_at": visited_at,
        "summary": summary,
        "contact_id": visit.contact_id,
        "contact_created": contact_created,
        "next_step": next_step,
        "next_followup_at": next_followup_at,
        "reminder_id": reminder_id,
        "closed_reminders": closed,
        "source": source,
        "customer": _customer_snapshot(customer),
    }
    audit(session, actor, "visit.create", "visit", visit.id, before={"customer": before}, after=after, now=now)
    return visit


def _close_answered_reminder(
    session: Session, actor: Actor, customer_id: int, visited_at: datetime, answered: Reminder | None | Literal["find"]
) -> dict[str, str]:
    """A visit is the follow-up it was reminded of: that one reminder is done, unrelated ones stay open.
    `answered` is that reminder when the caller already looked it up for its preview.

    Returns {reminder id: previous status} so undo can reopen it."""
    if answered == "find":
        answered = reminder_answered_by_visit(session, actor, customer_id, visited_at)
    if answered is None:
        return {}
    closed = {str(answered.id): answered.status}
    answered.status = "done"
    return closed


# --- opportunities ------------------------------------------------------------------------------


def open_opportunities(session: Session, actor: Actor, customer_id: int) -> list[Opportunity]:
    if not is_visible(session, actor, customer_id):
        raise NotFound(SM.CUSTOMER_NOT_FOUND)
    stmt = (
        select(Opportunity)
        .where(Opportunity.customer_id == customer_id, Opportunity.stage.not_in(CLOSED_STAGES))
        .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
    )
    return list(session.scalars(stmt))


def opportunity_state(opp: Opportunity) -> dict[str, Any]:
    return {
        "title": opp.title,
        "product_id": opp.product_id,
        "amount": opp.amount,
        "stage": opp.stage,
        "probability": opp.probability,
        "expected_close": opp.expected_close,
        "closed_at": opp.closed_at,
        "updated_at": opp.updated_at,
    }


def find_product(session: Session, name: str) -> Product | None:
    key = name.strip()
    if not key:
        return None
    product = session.scalar(select(Product).where(func.lower(Product.name) == key.lower()))
    if product is not None:
        return product
    for candidate in session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.id)):
        if key.lower() in [str(a).lower() for a in (candidate.aliases or [])]:
            return candidate
    return None


def update_opportunity(
    session: Session,
    actor: Actor,
    customer_id: int,
    *,
    opportunity_id: int | None = None,
    stage: str | None = None,
    amount: Any = None,
    probability: int | None = None,
    expected_close: date | None = None,
    title: str | None = None,
    product_name: str | None = None,
    create: bool = False,
    now: datetime,
) -> Opportunity:
    require_aware(now)
    staff_id = require_customer_role(actor)
    customer = customer_for_write(session, actor, customer_id)
    if stage is not None and stage not in STAGES:
        raise InvalidInput(SM.STAGE_INVALID)
    if probability is not None and not (0 <= int(probability) <= 100):
        raise InvalidInput(SM.PROBABILITY_INVALID)
    amount_value = to_decimal(amount)
    product = find_product(session, product_name) if product_name else None

    opp: Opportunity | None
    if create:  # 华为新开了个服务器项目: a deal of its own beside the open ones
        opp = None
    elif opportunity_id is not None:
        opp = session.get(Opportunity, opportunity_id)
        if opp is None or opp.customer_id != customer.id:
            raise NotFound(SM.OPPORTUNITY_NOT_FOUND)
    else:
        candidates = open_opportunities(session, actor, customer.id)
        if len(candidates) > 1 and product is not None:
            same = [o for o in candidates if o.product_id == product.id]
            candidates = same if same else candidates
        if len(candidates) > 1:
            raise Ambiguous(SM.OPPORTUNITY_AMBIGUOUS, candidates)
        opp = candidates[0] if candidates else None

    customer_before = {"lifecycle": customer.lifecycle}
    created = opp is None
    if opp is None:
        new_stage = stage or "initial"
        opp_title = (title or "").strip() or (product.name if product else (product_name or "").strip())
        opp_title = opp_title or SM.OPPORTUNITY_DEFAULT_TITLE.format(customer=customer.name)
        opp = Opportunity(
            customer_id=customer.id,
            title=opp_title[:200],
            product_id=product.id if product else None,
            amount=amount_value,
            stage=new_stage,
            probability=int(probability) if probability is not None else STAGE_PROBABILITY[new_stage],
            expected_close=expected_close,
            owner_id=customer.owner_id if actor.role != "rep" else staff_id,
            created_at=now,
            updated_at=now,
            closed_at=now if new_stage in CLOSED_STAGES else None,
        )
        session.add(opp)
        session.flush()
        from_stage = None
        before = None
    else:
        before = opportunity_state(opp)
        from_stage = opp.stage
        if title is not None and title.strip():
            opp.title = title.strip()[:200]
        if product is not None:
            opp.product_id = product.id
        if amount_value is not None:
            opp.amount = amount_value
        if expected_close is not None:
            opp.expected_close = expected_close
        if probability is not None:
            opp.probability = int(probability)
        if stage is not None and stage != opp.stage:
            opp.stage = stage
            if probability is None:
                opp.probability = STAGE_PROBABILITY[stage]
            opp.closed_at = now if stage in CLOSED_STAGES else None
        opp.updated_at = now

    change_id = None
    if created or opp.stage != from_stage:
        change = OpportunityStageChange(
            opportunity_id=opp.id,
            from_stage=from_stage,
            to_stage=opp.stage,
            amount=opp.amount,
            probability=opp.probability,
            changed_by_id=staff_id,
            changed_at=now,
        )
        session.add(change)
        session.flush()
        change_id = change.id

    if opp.stage == "won":
        customer.lifecycle = "customer"
    elif opp.stage not in CLOSED_STAGES and customer.lifecycle in ("target", "prospect", "dormant"):
        customer.lifecycle = "opportunity"
    if customer.lifecycle != customer_before["lifecycle"]:
        customer.updated_at = now
    session.flush()
    after = opportunity_state(opp) | {
        "customer_id": customer.id,
        "stage_change_id": change_id,
        "customer": {"lifecycle": customer.lifecycle},
    }
    audit(
        session, actor, "opportunity.create" if created else "opportunity.update", "opportunity", opp.id,
        before=(before or {}) | {"customer": customer_before}, after=after, now=now,
    )
    return opp


# --- reminders and follow-ups -------------------------------------------------------------------


def create_reminder(
    session: Session,
    actor: Actor,
    *,
    due_at: datetime,
    text: str,
    customer_id: int | None = None,
    contact_id: int | None = None,
    now: datetime,
) -> Reminder:
    require_aware(now)
    require_aware(due_at)
    staff_id = require_staff(actor)
    if not text or not text.strip():
        raise InvalidInput(SM.REMINDER_TEXT_REQUIRED)
    if customer_id is not None:
        customer_for_write(session, actor, customer_id)
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or (customer_id is not None and contact.customer_id != customer_id):
            raise NotFound(SM.CONTACT_NOT_FOUND)
        if customer_id is None:
            customer_for_write(session, actor, contact.customer_id)
            customer_id = contact.customer_id
    reminder = Reminder(
        staff_id=staff_id,
        customer_id=customer_id,
        contact_id=contact_id,
        due_at=due_at,
        text=text.strip(),
        status="pending",
        created_at=now,
    )
    session.add(reminder)
    session.flush()
    audit(
        session, actor, "reminder.create", "reminder", reminder.id,
        after={"due_at": due_at, "text": reminder.text, "customer_id": customer_id,
               "contact_id": contact_id, "status": "pending"},
        now=now,
    )
    return reminder


@dataclass
class Followups:
    today: list[Reminder] = field(default_factory=list)
    overdue: list[Reminder] = field(default_factory=list)
    untouched: list[tuple[Customer, int]] = field(default_factory=list)


def list_followups(
    session: Session, actor: Actor, *, now: datetime, tz: tzinfo, untouched_days: int = 30
) -> Followups:
    """Today's open reminders, the overdue ones and the customers nobody has contacted for a while."""
    require_aware(now)
    local_today = now.astimezone(tz).date()
    start = datetime.combine(local_today, time(0), tzinfo=tz)
    end = datetime.combine(local_today + timedelta(days=1), time(0), tzinfo=tz)
    return Followups(
        today=open_reminders(session, actor, start=start, end=end),
        overdue=open_reminders(session, actor, end=start),
        untouched=untouched_customers(session, actor, now=now, days=untouched_days),
    )


def untouched_customers(session: Session, actor: Actor, *, now: datetime, days: int, limit: int = 10) -> list[tuple[Customer, int]]:
    """The actor's customers (not lost) with no contact for `days` days: (customer, days since), longest first."""
    if actor.role not in CUSTOMER_ROLES:
        return []
    touched = func.coalesce(Customer.last_contact_at, Customer.created_at)
    stmt = (
        select(Customer)
        .where(visible_customers_clause(actor), Customer.lifecycle != "lost", touched <= now - timedelta(days=days))
        .order_by(touched, Customer.id)
        .limit(limit)
    )
    found = []
    for customer in session.scalars(stmt):
        last = customer.last_contact_at or customer.created_at
        found.append((customer, (now - last).days))
    return found
