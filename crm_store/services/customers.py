"""Customers and contacts: search, visibility, creation, history."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, joinedload

from crm_store import messages as SM
from crm_store.errors import Duplicate, InvalidInput, NotFound, PermissionDenied
from crm_store.models import (
    LIFECYCLE,
    Contact,
    Customer,
    CustomerAlias,
    Opportunity,
    OpportunityStageChange,
    Order,
    Staff,
    Visit,
)
from crm_store.services.common import (
    Actor,
    audit,
    customer_for_write,
    is_visible,
    keep_loaded,
    like_escape,
    name_key,
    normalize_phone,
    remember_visible,
    require_aware,
    require_customer_role,
    team_ids,
    visible_customers_clause,
)

# Suffix noise people add to (or drop from) a company name; longest first.
NAME_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团", "公司")

# Words that follow a surname to address someone: 张总, 李经理, 刘工.
TITLE_WORDS = (
    "总经理", "总监", "经理", "主任", "主管", "处长", "科长", "部长", "院长", "校长", "书记",
    "老师", "医生", "会计", "老板", "董事长", "董", "总", "工", "姐", "哥",
)


def _key_expr(column: Any) -> ColumnElement[str]:
    """SQL side of name_key: spaces removed, lower-cased (ASCII on SQLite)."""
    return func.lower(func.replace(column, " ", ""))


def _query_variants(query: str) -> list[str]:
    key = name_key(query)
    variants = [key] if key else []
    for suffix in NAME_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            stripped = key[: -len(suffix)]
            if stripped not in variants:
                variants.append(stripped)
    return variants


def _matching(
    session: Session, actor: Actor, name_cond: ColumnElement[bool], alias_cond: ColumnElement[bool],
    limit: int, exclude: set[int],
) -> list[Customer]:
    alias_ids = select(CustomerAlias.customer_id).where(alias_cond)
    stmt = (
        select(Customer)
        .where(or_(name_cond, Customer.id.in_(alias_ids)), visible_customers_clause(actor))
        .order_by(func.length(Customer.name), Customer.id)
        .limit(limit + len(exclude))
        .options(joinedload(Customer.aliases))  # the caller compares aliases (is_exact): same statement
    )
    return [c for c in session.scalars(stmt).unique() if c.id not in exclude][:limit]


def _search(session: Session, actor: Actor, key: str, limit: int) -> list[Customer]:
    name_k = _key_expr(Customer.name)
    alias_k = _key_expr(CustomerAlias.alias)
    exact = _matching(session, actor, name_k == key, alias_k == key, limit, set())
    if len(exact) == 1:
        return exact
    found = list(exact)
    seen = {c.id for c in found}
    escaped = like_escape(key)
    for pattern in (f"{escaped}%", f"%{escaped}%"):
        if len(found) >= limit:
            break
        more = _matching(
            session, actor,
            name_k.like(pattern, escape="\\"), alias_k.like(pattern, escape="\\"),
            limit - len(found), seen,
        )
        found.extend(more)
        seen.update(c.id for c in more)
    return found[:limit]


def find_customers(session: Session, actor: Actor, query: str, limit: int = 10) -> list[Customer]:
    """Customers visible to the actor matching the query: exact, then prefix, then substring."""
    if actor.staff_id is None or actor.role not in ("rep", "manager", "director", "admin"):
        return []
    for key in _query_variants(query or ""):
        found = _search(session, actor, key, limit)
        if found:
            remember_visible(session, actor, found)
            keep_loaded(session, *found)
            return found
    return []


def get_customer(session: Session, actor: Actor, customer_id: int) -> Customer:
    """NotFound when missing or not visible (existence is not leaked)."""
    known = session.identity_map.get(session.identity_key(Customer, customer_id))
    if known is not None and is_visible(session, actor, customer_id):  # read (and checked) in this message
        return known  # type: ignore[no-any-return]
    customer = session.scalar(
        select(Customer).where(Customer.id == customer_id, visible_customers_clause(actor))
    )
    if customer is None:
        raise NotFound(SM.CUSTOMER_NOT_FOUND)
    remember_visible(session, actor, [customer])
    keep_loaded(session, customer)
    return customer


def find_duplicates(session: Session, name: str, aliases: Iterable[str] = ()) -> list[Customer]:
    """Customers of any owner whose name or alias equals the given name or one of the aliases."""
    keys = {name_key(n) for n in [name, *aliases] if n and name_key(n)}
    if not keys:
        return []
    alias_ids = select(CustomerAlias.customer_id).where(_key_expr(CustomerAlias.alias).in_(keys))
    stmt = (
        select(Customer)
        .where(or_(_key_expr(Customer.name).in_(keys), Customer.id.in_(alias_ids)))
        .order_by(Customer.id)
    )
    return list(session.scalars(stmt))


def _clean_name(name: str | None, message: str, max_len: int) -> str:
    cleaned = re.sub(r"\s+", " ", (name or "")).strip()
    if not cleaned or len(cleaned) > max_len:
        raise InvalidInput(message)
    return cleaned


def customer_state(customer: Customer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "industry": customer.industry,
        "region": customer.region,
        "address": customer.address,
        "lifecycle": customer.lifecycle,
        "owner_id": customer.owner_id,
        "last_contact_at": customer.last_contact_at,
    }


def _resolve_owner(session: Session, actor: Actor, owner_id: int | None) -> int:
    staff_id = require_customer_role(actor)
    if owner_id is None or owner_id == staff_id:
        return staff_id
    owner = session.get(Staff, owner_id)
    if owner is None:
        raise NotFound(SM.OWNER_NOT_FOUND)
    if actor.role in ("director", "admin"):
        return owner_id
    if actor.role == "manager" and owner_id in team_ids(session, staff_id):
        return owner_id
    raise PermissionDenied(SM.NO_PERMISSION_OWNER)


def create_customer(
    session: Session,
    actor: Actor,
    name: str,
    *,
    aliases: Iterable[str] = (),
    industry: str | None = None,
    region: str | None = None,
    address: str | None = None,
    lifecycle: str = "target",
    contact_name: str | None = None,
    contact_title: str | None = None,
    contact_phone: str | None = None,
    owner_id: int | None = None,
    now: datetime,
) -> Customer:
    require_aware(now)
    owner = _resolve_owner(session, actor, owner_id)
    clean = _clean_name(name, SM.CUSTOMER_NAME_INVALID, 100)
    alias_list: list[str] = []
    for alias in aliases:
        a = _clean_name(alias, SM.CUSTOMER_ALIAS_INVALID, 100)
        if name_key(a) != name_key(clean) and name_key(a) not in {name_key(x) for x in alias_list}:
            alias_list.append(a)
    if lifecycle not in LIFECYCLE:
        raise InvalidInput(SM.LIFECYCLE_INVALID)
    phone = normalize_phone(contact_phone)
    contact_clean = None
    if contact_name is not None or phone is not None:
        contact_clean = _clean_name(contact_name or SM.DEFAULT_CONTACT_NAME, SM.CONTACT_NAME_INVALID, 50)
    existing = find_duplicates(session, clean, alias_list)
    if existing:
        raise Duplicate(SM.CUSTOMER_DUPLICATE.format(names="、".join(c.name for c in existing)), existing)
    customer = Customer(
        name=clean,
        industry=industry,
        region=region,
        address=address,
        lifecycle=lifecycle,
        owner_id=owner,
        created_at=now,
        updated_at=now,
    )
    customer.aliases = [CustomerAlias(alias=a) for a in alias_list]
    session.add(customer)
    session.flush()
    contact_ids: list[int] = []
    if contact_clean is not None:
        contact = Contact(customer_id=customer.id, name=contact_clean, title=contact_title, phone=phone, created_at=now)
        session.add(contact)
        session.flush()
        contact_ids.append(contact.id)
    after = customer_state(customer) | {"aliases": alias_list, "contact_ids": contact_ids}
    audit(session, actor, "customer.create", "customer", customer.id, after=after, now=now)
    return customer


# --- contacts -----------------------------------------------------------------------------------


def _address_form(name: str) -> tuple[str, str] | None:
    """张总 -> ('张', '总'); None when the name is not surname + title word."""
    for word in TITLE_WORDS:
        if name.endswith(word) and len(name) - len(word) in (1, 2):
            return name[: -len(word)], word
    return None


def match_contact(session: Session, customer_id: int, name: str) -> Contact | None:
    contacts = list(session.scalars(select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.id)))
    for contact in contacts:
        if contact.name == name:
            return contact
    form = _address_form(name)
    if form is None:
        return None
    surname, word = form
    same_surname = [c for c in contacts if c.name.startswith(surname) and _address_form(c.name) is None]
    titled = [c for c in same_surname if c.title and word in c.title]
    if len(titled) == 1:
        return titled[0]
    if len(same_surname) == 1:
        return same_surname[0]
    return None


def find_or_create_contact(
    session: Session,
    actor: Actor,
    customer: Customer,
    name: str,
    *,
    title: str | None = None,
    phone: str | None = None,
    now: datetime,
) -> tuple[Contact, bool]:
    """(contact, created). Exact name, or 张总/李经理 for a contact with that surname; else a new contact."""
    require_aware(now)
    customer_for_write(session, actor, customer.id)
    clean = _clean_name(name, SM.CONTACT_NAME_INVALID, 50)
    phone_clean = normalize_phone(phone)
    contact = match_contact(session, customer.id, clean)
    if contact is not None:
        before = {"title": contact.title, "phone": contact.phone}
        changed = False
        if title and not contact.title:
            contact.title = title
            changed = True
        if phone_clean and contact.phone != phone_clean:
            contact.phone = phone_clean
            changed = True
        if changed:
            session.flush()
            audit(
                session, actor, "contact.update", "contact", contact.id,
                before=before, after={"title": contact.title, "phone": contact.phone}, now=now,
            )
        return contact, False
    if title is None:
        form = _address_form(clean)
        title = None if form is None else form[1]
    contact = Contact(customer_id=customer.id, name=clean, title=title, phone=phone_clean, created_at=now)
    session.add(contact)
    session.flush()
    audit(
        session, actor, "contact.create", "contact", contact.id,
        after={"customer_id": customer.id, "name": clean, "title": title, "phone": phone_clean}, now=now,
    )
    return contact, True


# --- history ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryItem:
    kind: str  # visit / opportunity / order
    at: datetime
    text: str
    id: int


def _short(text: str, size: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= size else text[: size - 1] + "…"


def customer_history(
    session: Session, actor: Actor, customer_id: int, *, offset: int = 0, limit: int = 5
) -> tuple[list[HistoryItem], int]:
    """Newest first over visits, opportunity stage changes and orders; (page, total).

    Three statements whatever the page: visibility, one UNION ALL page (each branch index-ordered and cut
    at offset + limit before merging), one row with the three counts."""
    customer = get_customer(session, actor, customer_id)
    offset, limit = max(offset, 0), max(limit, 0)
    page, totals = _history_statements()
    params = {"customer_id": customer.id, "need": offset + limit, "skip": offset, "take": limit}
    rows = session.execute(page, params).all()
    return [_history_item(row) for row in rows], sum(session.execute(totals, params).one())


@cache
def _history_statements() -> tuple[Select[Any], Select[Any]]:
    """Built once with bound parameters: composing the UNION costs more CPU than running it."""
    customer_id, need = bindparam("customer_id"), bindparam("need")
    # Typed NULLs: PostgreSQL must see the same column types in every UNION branch.
    no_text = cast(null(), String())
    no_amount = cast(null(), Numeric(14, 2))
    visits = (
        select(
            literal("visit").label("kind"), Visit.visited_at.label("at"), Visit.id.label("sort_id"),
            Visit.id.label("ref_id"), Visit.summary.label("a"), Contact.name.label("b"), Visit.source.label("c"),
            no_amount.label("amount"),
        )
        .outerjoin(Contact, Contact.id == Visit.contact_id)
        .where(Visit.customer_id == customer_id)
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(need)
    )
    changes = (
        select(
            literal("opportunity"), OpportunityStageChange.changed_at, OpportunityStageChange.id,
            OpportunityStageChange.opportunity_id, Opportunity.title, OpportunityStageChange.from_stage,
            OpportunityStageChange.to_stage, OpportunityStageChange.amount,
        )
        .join(Opportunity, Opportunity.id == OpportunityStageChange.opportunity_id)
        .where(Opportunity.customer_id == customer_id)
        .order_by(OpportunityStageChange.changed_at.desc(), OpportunityStageChange.id.desc())
        .limit(need)
    )
    orders = (
        select(literal("order"), Order.created_at, Order.id, Order.id, Order.number, Order.status, no_text, Order.total)
        .where(Order.customer_id == customer_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(need)
    )
    merged = union_all(*(select(branch.subquery()) for branch in (visits, changes, orders))).subquery()
    page = (
        select(merged)
        .order_by(merged.c.at.desc(), merged.c.sort_id.desc())
        .offset(bindparam("skip"))
        .limit(bindparam("take"))
    )
    count_visits = select(func.count()).select_from(Visit).where(Visit.customer_id == customer_id)
    count_changes = (
        select(func.count())
        .select_from(OpportunityStageChange)
        .join(Opportunity, Opportunity.id == OpportunityStageChange.opportunity_id)
        .where(Opportunity.customer_id == customer_id)
    )
    count_orders = select(func.count()).select_from(Order).where(Order.customer_id == customer_id)
    totals = select(count_visits.scalar_subquery(), count_changes.scalar_subquery(), count_orders.scalar_subquery())
    return page, totals


def _history_item(row: Any) -> HistoryItem:
    if row.kind == "visit":
        summary = _short(row.a)
        text = (
            SM.HISTORY_VISIT.format(contact=row.b, summary=summary)
            if row.b
            else SM.HISTORY_VISIT_NO_CONTACT.format(summary=summary)
        )
        if row.c == "voice":  # reported by voice message: the recognised text, so say so
            text += SM.HISTORY_VOICE
    elif row.kind == "opportunity":
        to = SM.STAGE_NAMES.get(row.c, row.c)
        if row.b is None:
            text = SM.HISTORY_OPP_NEW.format(title=row.a, to=to)
        else:
            text = SM.HISTORY_OPP_CHANGE.format(title=row.a, from_=SM.STAGE_NAMES.get(row.b, row.b), to=to)
        if row.amount is not None:
            text += SM.HISTORY_AMOUNT.format(amount=SM.money(row.amount, unit=""))
    else:
        text = SM.HISTORY_ORDER.format(
            number=row.a, total=SM.money(row.amount, unit=""), status=SM.ORDER_STATUS_NAMES.get(row.b, row.b)
        )
    return HistoryItem(row.kind, row.at, text, row.ref_id)
