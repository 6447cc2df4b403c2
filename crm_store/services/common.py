"""Actors, permissions, audit rows and small helpers shared by every service."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, event, false, literal_column, or_, select, true
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput, NotFound, PermissionDenied
from crm_store.models import AuditLog, Customer, CustomerShare, Product, Staff

CUSTOMER_ROLES = ("rep", "manager", "director", "admin")


def written_in(status: str) -> ColumnElement[Any]:
    """A status value written into the SQL instead of bound. Pooled connections run the hot polling
    statements prepared, and a prepared statement's generic plan cannot seek an index by a status it does
    not know: it would read every row the queue ever held, on every poll."""
    if not re.fullmatch(r"[a-z_]+", status):
        raise ValueError(status)
    return literal_column(f"'{status}'")


def dialect_insert(session: Session) -> Any:
    """The dialect's INSERT construct (ON CONFLICT ... for PostgreSQL and SQLite alike)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert

ALL_CUSTOMERS_ROLES = ("director", "admin")
_MEMO = "crm_store.transaction_memo"


def transaction_memo(session: Session) -> dict[Any, Any]:
    """A dict that lives as long as the session's current transaction: rows one message reads several times
    (visibility answers, the product list) are read once. Cleared when a flush changes what it holds."""
    transaction = session.get_transaction()
    if transaction is None:
        return {}
    held = session.info.get(_MEMO)
    if held is None or held[0] is not transaction:
        held = session.info[_MEMO] = (transaction, {})
    return held[1]  # type: ignore[no-any-return]


@event.listens_for(Session, "before_flush")
def _forget_changed(session: Session, _context: Any, _instances: Any) -> None:
    """Ownership, shares or products changing in this transaction: what the memo knew may be stale."""
    held = session.info.get(_MEMO)
    if held is None:
        return
    touched = {type(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
    if touched & {Customer, CustomerShare, Staff, Product}:
        kept = held[1].get("keep")
        held[1].clear()
        if kept:
            held[1]["keep"] = kept


@dataclass(frozen=True)
class Actor:
    staff_id: int | None
    member_id: int | None
    role: str
    name: str
    team: str | None = None
    store: str | None = None
    via_channel: str | None = None
    via_message: str | None = None


def actor_for_staff(
    session: Session, staff_id: int, via_channel: str | None = None, via_message: str | None = None
) -> Actor:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(SM.STAFF_NOT_FOUND)
    return actor_from_staff(staff, via_channel, via_message)


def actor_from_staff(staff: Staff, via_channel: str | None = None, via_message: str | None = None) -> Actor:
    """The actor for a loaded staff row; PermissionDenied for a deactivated account."""
    if not staff.active:
        raise PermissionDenied(SM.STAFF_INACTIVE)
    return Actor(
        staff_id=staff.id,
        member_id=None,
        role=staff.role,
        name=staff.name,
        team=staff.team,
        store=staff.store,
        via_channel=via_channel,
        via_message=via_message,
    )


def require_staff(actor: Actor) -> int:
    if actor.staff_id is None:
        raise PermissionDenied(SM.STAFF_ONLY)
    return actor.staff_id


def require_aware(value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidInput(SM.NAIVE_DATETIME)


# --- visibility ---------------------------------------------------------------------------------


def visible_customers_clause(actor: Actor) -> ColumnElement[bool]:
    """WHERE clause selecting the customers the actor may see (and edit)."""
    if actor.staff_id is None or actor.role not in CUSTOMER_ROLES:
        return false()
    if actor.role in ALL_CUSTOMERS_ROLES:
        return true()
    shared = select(CustomerShare.customer_id).where(CustomerShare.staff_id == actor.staff_id)
    conditions: list[ColumnElement[bool]] = [Customer.owner_id == actor.staff_id, Customer.id.in_(shared)]
    if actor.role == "manager":
        team = select(Staff.id).where(Staff.manager_id == actor.staff_id)
        conditions.append(Customer.owner_id.in_(team))
    return or_(*conditions)


def require_customer_role(actor: Actor) -> int:
    if actor.staff_id is None or actor.role not in CUSTOMER_ROLES:
        raise PermissionDenied(SM.NO_PERMISSION_CUSTOMERS)
    return actor.staff_id


def is_visible(session: Session, actor: Actor, customer_id: int) -> bool:
    memo = transaction_memo(session)
    key = ("visible", actor.staff_id, actor.role, customer_id)
    if key not in memo:
        stmt = select(Customer.id).where(Customer.id == customer_id, visible_customers_clause(actor))
        memo[key] = session.scalar(stmt) is not None
    return bool(memo[key])


def keep_loaded(session: Session, *rows: Any) -> None:
    """Hold rows for the rest of the transaction: the identity map keeps rows only while something references
    them, and a row read by one service is often needed by the next (an order's customer, for its notice)."""
    transaction_memo(session).setdefault("keep", []).extend(rows)


def remember_visible(session: Session, actor: Actor, customers: list[Customer]) -> None:
    """Customers just read through `visible_customers_clause(actor)`: is_visible needs no query for them."""
    memo = transaction_memo(session)
    for customer in customers:
        memo[("visible", actor.staff_id, actor.role, customer.id)] = True


def customer_for_write(session: Session, actor: Actor, customer_id: int) -> Customer:
    """The customer the actor wants to change: NotFound if missing, PermissionDenied if not theirs."""
    require_customer_role(actor)
    memo = transaction_memo(session)
    known = session.identity_map.get(session.identity_key(Customer, customer_id))
    if known is None and ("visible", actor.staff_id, actor.role, customer_id) not in memo:
        # Neither the row nor the answer yet: both in one statement.
        known = session.scalar(select(Customer).where(Customer.id == customer_id, visible_customers_clause(actor)))
        if known is not None:
            remember_visible(session, actor, [known])
    if not is_visible(session, actor, customer_id):
        if session.get(Customer, customer_id) is None:
            raise NotFound(SM.CUSTOMER_NOT_FOUND)
        raise PermissionDenied(SM.NO_PERMISSION_CUSTOMER)
    customer = known if known is not None else session.get(Customer, customer_id)
    if customer is None:  # deleted in this transaction
        raise NotFound(SM.CUSTOMER_NOT_FOUND)
    keep_loaded(session, customer)
    return customer


def team_ids(session: Session, manager_id: int) -> set[int]:
    return set(session.scalars(select(Staff.id).where(Staff.manager_id == manager_id)))


# --- audit --------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value


def parse_dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def parse_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def parse_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def audit(
    session: Session,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: int | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: datetime | None = None,
    flush: bool = True,
) -> AuditLog:
    row = AuditLog(
        actor_staff_id=actor.staff_id if actor else None,
        actor_member_id=actor.member_id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        via_channel=actor.via_channel if actor else None,
        via_message=actor.via_message if actor else None,
    )
    if now is not None:
        row.at = now
    session.add(row)
    if flush:  # flush=False: the caller's next flush writes it (with its other rows, in one INSERT)
        session.flush()
    return row


# --- input normalization ------------------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def normalize_phone(raw: str | None) -> str | None:
    """11-digit mainland mobile, or landline with area code; spaces, dashes and +86 removed."""
    if raw is None:
        return None
    phone = re.sub(r"[\s\-－—()（）]", "", raw)
    if not phone:
        return None
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return phone
    raise InvalidInput(SM.PHONE_INVALID)


def money_value(value: Any) -> Decimal:
    """A database sum (possibly NULL) as yuan with two decimals."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def to_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(SM.AMOUNT_INVALID) from exc
    if not result.is_finite() or result < 0:
        raise InvalidInput(SM.AMOUNT_INVALID)
    return result.quantize(Decimal("0.01"))


def name_key(text: str) -> str:
    """The comparison form of a name: no whitespace, latin letters lower-cased."""
    return re.sub(r"\s+", "", text).lower()


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
