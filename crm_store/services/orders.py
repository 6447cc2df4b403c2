"""Sales orders: drafts with priced lines, readable numbers, submission into the approval route.

Decisions on submitted orders live in crm_store.services.approvals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from crm_store import messages as SM
from crm_store.db import autocommit_engine
from crm_store.errors import InvalidInput, NotFound, PermissionDenied
from crm_store.models import ApprovalStep, Order, OrderLine, OrderSequence, Product, Staff
from crm_store.services import outbox
from crm_store.services.common import (
    Actor,
    audit,
    customer_for_write,
    dialect_insert,
    name_key,
    require_aware,
    require_customer_role,
    to_decimal,
    transaction_memo,
)

if TYPE_CHECKING:
    from crm_store.rules import ApprovalRules

MAX_LINES = 50
MAX_QUANTITY = 1_000_000
MAX_TOTAL = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_NOTE = 500
CENT = Decimal("0.01")
# Who stands in when a role has nobody (or only the submitter): one level up.
NEXT_LEVEL = {"manager": "director", "director": "admin", "admin": None}

# (product name as typed, quantity, unit price or None, line total or None)
LineSpec = tuple[str, int, Any, Any]


# --- products -----------------------------------------------------------------------------------


def active_products(session: Session) -> list[Product]:
    """The active catalog, read once per transaction (a draft order matches every line against it)."""
    memo = transaction_memo(session)
    if "active_products" not in memo:
        memo["active_products"] = list(
            session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.id))
        )
    return list(memo["active_products"])


def match_product(session: Session, name: str) -> Product | None:
    """An active product by exact name or alias, else the single product whose name contains it (or vice versa)."""
    key = name_key(name or "")
    if not key:
        return None
    products = active_products(session)
    for product in products:
        if key == name_key(product.name) or key in {name_key(a) for a in product.aliases or []}:
            return product
    loose = [
        p for p in products
        if key in name_key(p.name) or name_key(p.name) in key or any(name_key(a) in key for a in p.aliases or [])
    ]
    return loose[0] if len(loose) == 1 else None


def _product_options(session: Session) -> str:
    return "、".join(p.name for p in active_products(session))


# --- numbering ----------------------------------------------------------------------------------


def next_order_number(session: Session, day: date) -> str:
    """SO + yyyymmdd + the day's sequence (3 digits, more past 999); unique, increasing within a day.

    PostgreSQL: the day's counter is bumped by one autocommitted upsert on a connection beside the
    message's, so its row lock lasts that one statement, not the whole message (which held every other
    submitter of the day waiting until it committed). Like a database sequence, a number whose message is
    then rolled back is not reused: a gap, never a duplicate. SQLite: in the message's own transaction,
    which already holds the database's single write lock.
    """
    insert = dialect_insert(session)
    table = OrderSequence.__table__
    stmt = (
        insert(table)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=[table.c.day], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        engine = bind if isinstance(bind, Engine) else bind.engine
        with autocommit_engine(engine).connect() as conn:
            last = conn.execute(stmt).scalar_one()
    else:
        last = session.execute(stmt).scalar_one()
    return f"SO{day:%Y%m%d}{last:03d}"


# --- drafts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    product: Product
    quantity: int
    unit_price: Decimal
    amount: Decimal
    explicit_price: bool
    quoted_price: Decimal | None = None  # the unit price the rep quoted, before the discount


def _quantity(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidInput(SM.ORDER_QUANTITY_INVALID.format(limit=MAX_QUANTITY))
    try:
        number = Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any unparsable quantity is the same user error
        raise InvalidInput(SM.ORDER_QUANTITY_INVALID.format(limit=MAX_QUANTITY)) from exc
    if not number.is_finite() or number != number.to_integral_value() or not 0 < number <= MAX_QUANTITY:
        raise InvalidInput(SM.ORDER_QUANTITY_INVALID.format(limit=MAX_QUANTITY))
    return int(number)


def price_lines(session: Session, lines: Sequence[LineSpec], discount: float | None = None) -> list[PricedLine]:
    """Match products and price each line: the given line total, or the quoted unit price, or the list price;
    a discount multiplies a quoted or listed unit price (a line total is taken as already final).
    Raises InvalidInput with a message the user can act on."""
    if not lines:
        raise InvalidInput(SM.ORDER_NO_LINES)
    if len(lines) > MAX_LINES:
        raise InvalidInput(SM.ORDER_TOO_MANY_LINES.format(limit=MAX_LINES))
    priced: list[PricedLine] = []
    for name, quantity, unit_price, line_total in lines:
        if not name or not str(name).strip():
            raise InvalidInput(SM.ORDER_PRODUCT_REQUIRED)
        product = match_product(session, str(name))
        if product is None:
            raise InvalidInput(SM.ORDER_PRODUCT_UNKNOWN.format(name=str(name)[:20], options=_product_options(session)))
        qty = _quantity(quantity)
        unit = to_decimal(unit_price)
        total = to_decimal(line_total)
        explicit = unit is not None or total is not None
        quoted = unit if total is None else None
        if total is not None:
            amount = total
            unit = (total / qty).quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            if unit is None:
                if product.unit_price is None:
                    raise InvalidInput(SM.ORDER_PRICE_REQUIRED.format(name=product.name))
                unit = Decimal(product.unit_price)
            if discount is not None:
                unit = (unit * Decimal(str(discount))).quantize(CENT, rounding=ROUND_HALF_UP)
            amount = (unit * qty).quantize(CENT)
        if amount > MAX_TOTAL:
            raise InvalidInput(SM.ORDER_TOTAL_TOO_LARGE)
        priced.append(PricedLine(product, qty, unit, amount, explicit, quoted))
    if sum((p.amount for p in priced), Decimal(0)) > MAX_TOTAL:
        raise InvalidInput(SM.ORDER_TOTAL_TOO_LARGE)
    return priced


def effective_discount(priced: Sequence[PricedLine]) -> float | None:
    """Order total over list total (0.85 = 85折), when every line has a list price; None when at or above list."""
    if any(p.product.unit_price is None for p in priced):
        return None
    listed = sum((Decimal(p.product.unit_price) * p.quantity for p in priced), Decimal(0))  # type: ignore[arg-type]
    if listed <= 0:
        return None
    ratio = sum((p.amount for p in priced), Decimal(0)) / listed
    return None if ratio >= 1 else float(ratio.quantize(Decimal("0.0001")))


def _validate_discount(discount: float | None) -> float | None:
    if discount is None:
        return None
    try:
        value = float(discount)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(SM.ORDER_DISCOUNT_INVALID) from exc
    if not 0 < value <= 1:
        raise InvalidInput(SM.ORDER_DISCOUNT_INVALID)
    return value


def order_state(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "customer_id": order.customer_id,
        "submitter_id": order.submitter_id,
        "total": order.total,
        "discount": order.discount,
        "status": order.status,
        "lines": [
            {"product": line.product_name, "quantity": line.quantity, "unit_price": line.unit_price, "amount": line.amount}
            for line in order.lines
        ],
    }


def create_order(
    session: Session,
    actor: Actor,
    customer_id: int,
    lines: Sequence[LineSpec],
    note: str | None = None,
    discount: float | None = None,
    *,
    now: datetime,
    tz: tzinfo | None = None,
) -> Order:
    """A draft order for a customer the actor may work on; the number's date is `now` in `tz` (default: now's zone)."""
    require_aware(now)
    staff_id = require_customer_role(actor)
    customer = customer_for_write(session, actor, customer_id)
    explicit_discount = _validate_discount(discount)
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(SM.ORDER_NOTE_TOO_LONG.format(limit=MAX_NOTE))
    priced = price_lines(session, lines, explicit_discount)
    local_day = now.astimezone(tz or now.tzinfo).date()
    order = Order(
        number=next_order_number(session, local_day),
        customer_id=customer.id,
        submitter_id=staff_id,
        total=sum((p.amount for p in priced), Decimal(0)),
        discount=explicit_discount if explicit_discount is not None else effective_discount(priced),
        status="draft",
        note=(note or "").strip() or None,
        created_at=now,
    )
    order.lines = [
        OrderLine(product_id=p.product.id, product_name=p.product.name, quantity=p.quantity,
                  unit_price=p.unit_price, amount=p.amount, quoted_price=p.quoted_price)
        for p in priced
    ]
    session.add(order)
    session.flush()
    transaction_memo(session)[("created_order", order.id)] = order
    # Written with the next flush (submit_order's: both audit rows in one INSERT), at the latest on commit.
    audit(session, actor, "order.create", "order", order.id, after=order_state(order), now=now, flush=False)
    return order


# --- approval route -----------------------------------------------------------------------------


def _active(session: Session, role: str, exclude: set[int]) -> Staff | None:
    return session.scalar(
        select(Staff)
        .where(Staff.role == role, Staff.active.is_(True), Staff.id.not_in(exclude or {-1}))
        .order_by(Staff.id)
        .limit(1)
    )


def resolve_approver(session: Session, submitter: Staff, role: str, exclude: set[int] | None = None) -> Staff:
    """Who approves a step of `role` for this submitter: never the submitter (nor anyone in `exclude`).

    manager: the submitter's manager (up the chain past inactive ones); director: an active director;
    admin: an active admin. Nobody suitable: one level up (manager -> director -> admin).
    """
    banned = {submitter.id} | (exclude or set())
    current: str | None = role
    while current is not None:
        if current == "manager":
            boss = submitter.manager
            seen: set[int] = set()
            while boss is not None and boss.id not in seen:
                seen.add(boss.id)
                if boss.active and boss.id not in banned and boss.role in ("manager", "director", "admin"):
                    return boss
                boss = boss.manager
        else:
            found = _active(session, current, banned)
            if found is not None:
                return found
        current = NEXT_LEVEL[current]
    raise InvalidInput(SM.NO_APPROVER)


def route_roles(total: Decimal, discount: float | None, rules: ApprovalRules) -> list[str]:
    """The roles whose steps apply: total above the step's threshold; a deep discount also needs a director."""
    deep = discount is not None and discount < rules.discount_needs_director_below
    roles = [
        step.role for step in rules.steps
        if total > Decimal(step.above) or (deep and step.role == "director")
    ]
    if deep and "director" not in roles:
        roles.append("director")
    if not roles:  # every order gets at least one look
        roles = [rules.steps[0].role if rules.steps else "manager"]
    return roles


def approval_route(
    session: Session, submitter_id: int, total: Decimal, discount: float | None, rules: ApprovalRules
) -> list[tuple[str, Staff]]:
    """(role, approver) per step, in order; a person already approving an earlier step is not asked twice."""
    submitter = session.get(Staff, submitter_id)
    if submitter is None:
        raise NotFound(SM.STAFF_NOT_FOUND)
    route: list[tuple[str, Staff]] = []
    for role in route_roles(total, discount, rules):
        approver = resolve_approver(session, submitter, role)
        if all(approver.id != chosen.id for _, chosen in route):
            route.append((role, approver))
    return route


def submit_order(session: Session, actor: Actor, order_id: int, rules: ApprovalRules, *, now: datetime) -> Order:
    """Draft -> pending with its approval steps: the first step pending from now, the others waiting."""
    require_aware(now)
    staff_id = require_customer_role(actor)
    created = transaction_memo(session).get(("created_order", order_id))
    # An order this transaction created is invisible to others until commit: no lock to take, no row to read.
    order = created if created is not None else session.scalar(
        select(Order).where(Order.id == order_id).with_for_update()
    )
    if order is None:
        raise NotFound(SM.ORDER_NOT_FOUND)
    if order.submitter_id != staff_id and actor.role != "admin":
        raise PermissionDenied(SM.ORDER_NOT_YOURS)
    if order.status != "draft":
        raise InvalidInput(SM.ORDER_NOT_DRAFT.format(status=SM.ORDER_STATUS_NAMES.get(order.status, order.status)))
    route = approval_route(session, order.submitter_id, Decimal(order.total), order.discount, rules)
    steps = []
    for step_no, (role, approver) in enumerate(route, start=1):
        first = step_no == 1
        steps.append(ApprovalStep(
            order_id=order.id, step_no=step_no, role=role, approver_id=approver.id,
            status="pending" if first else "waiting", pending_since=now if first else None,
        ))
    session.add_all(steps)
    order.status = "pending"
    order.submitted_at = now
    audit(
        session, actor, "order.submit", "order", order.id,
        before={"status": "draft"},
        after={"status": "pending", "number": order.number,
               "route": [{"role": role, "approver_id": a.id} for role, a in route]},
        now=now, flush=False,
    )
    session.flush()  # steps, the order's status and the audit rows in one go
    if "steps" in inspect(order).unloaded:  # a new order: its steps are exactly these (no reload needed)
        set_committed_value(order, "steps", steps)
        for step, (_, approver) in zip(steps, route, strict=True):
            set_committed_value(step, "approver", approver)
    else:
        session.expire(order, ["steps"])
    return order


# --- reading ------------------------------------------------------------------------------------


def get_order(session: Session, order_id: int) -> Order:
    known = session.identity_map.get(session.identity_key(Order, order_id))
    if known is not None and not inspect(known).expired_attributes & {"lines", "steps", "status"} \
            and not inspect(known).unloaded & {"lines", "steps"}:
        return known  # type: ignore[no-any-return]  # this transaction has it, lines and steps loaded
    order = session.scalar(
        select(Order).where(Order.id == order_id).options(selectinload(Order.lines), selectinload(Order.steps))
    )
    if order is None:
        raise NotFound(SM.ORDER_NOT_FOUND)
    return order


def current_step(order: Order) -> ApprovalStep | None:
    return next((s for s in order.steps if s.status == "pending"), None)


def my_orders(session: Session, actor: Actor, limit: int = 10) -> list[Order]:
    """The actor's most recent orders (newest first) with lines and steps loaded."""
    if actor.staff_id is None:
        return []
    stmt = (
        select(Order)
        .where(Order.submitter_id == actor.staff_id)
        .options(selectinload(Order.lines), selectinload(Order.steps).selectinload(ApprovalStep.approver),
                 selectinload(Order.customer))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(max(1, min(limit, 50)))
    )
    return list(session.scalars(stmt))


def undo_submit(session: Session, row: Any, now: datetime) -> str:
    """Undo handler for an `order.submit` audit row (crm_store.services.undo): cancels the order while
    nobody has decided on it yet. Signature matches undo._HANDLERS."""
    order = session.scalar(select(Order).where(Order.id == row.entity_id).with_for_update())
    if order is None or order.status != "pending":
        raise NotFound(SM.NOTHING_TO_UNDO)
    steps = list(session.scalars(select(ApprovalStep).where(ApprovalStep.order_id == order.id).with_for_update()))
    if any(step.status in ("approved", "rejected") for step in steps):
        raise InvalidInput(SM.UNDO_ORDER_DECIDED)
    for step in steps:
        step.status = "skipped"
    order.status, order.decided_at = "cancelled", now
    session.flush()
    submitter = session.get(Staff, order.submitter_id)
    told = SM.NOTICE_ORDER_WITHDRAWN.format(
        number=order.number, submitter=submitter.name if submitter else "", total=SM.money(order.total),
    )
    withdraw_notices(session, order, now, lambda staff_id: told if staff_id != order.submitter_id else None)
    return SM.UNDO_WHAT_ORDER.format(number=order.number)


def order_topic(order_id: int) -> str:
    """The outbox topic of every notice about an order (see outbox.withdraw)."""
    return f"order:{order_id}"


def withdraw_notices(
    session: Session, order: Order, now: datetime, told: Callable[[int], str | None], *,
    since: datetime | None = None, keep_for: int | None = None,
) -> None:
    """The order's notices not sent yet are withdrawn (not those for `keep_for`); a colleague who already got
    one is sent told(their id) (e.g. "不用再审批了"), so nobody acts on something that no longer holds."""
    delivered = outbox.withdraw(session, order_topic(order.id), now=now, since=since, keep_for=keep_for)
    for staff_id in sorted({row.recipient_staff_id for row in delivered if row.recipient_staff_id is not None}):
        text = told(staff_id)
        if text:
            outbox.enqueue(session, key=f"withdrawn:{order.id}:{staff_id}:{now.timestamp():.0f}", kind="notice",
                           staff_id=staff_id, text=text, due_at=now, now=now)
