"""Names for the NLU gazetteer, and a cheap fingerprint to know when they changed."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store.models import Contact, Customer, CustomerAlias, Member, Product, Staff


def _unique(values: list[str | None]) -> list[str]:
    return sorted({v.strip() for v in values if v and v.strip()})


def gazetteer_names(session: Session) -> dict[str, list[str]]:
    products: list[str | None] = []
    for name, aliases in session.execute(select(Product.name, Product.aliases).where(Product.active.is_(True))):
        products.append(name)
        products.extend(str(a) for a in (aliases or []))
    return {
        "customer": _unique(
            list(session.scalars(select(Customer.name))) + list(session.scalars(select(CustomerAlias.alias)))
        ),
        "contact": _unique(list(session.scalars(select(Contact.name)))),
        "product": _unique(products),
        "staff": _unique(list(session.scalars(select(Staff.name).where(Staff.active.is_(True))))),
        "member": _unique(list(session.scalars(select(Member.name)))),
    }


def names_fingerprint(session: Session) -> str:
    """Counts, max ids and max updated_at of the name tables: changes whenever a name may have changed."""
    parts = [
        select(func.count(Customer.id), func.max(Customer.id), func.max(Customer.updated_at)),
        select(func.count(CustomerAlias.id), func.max(CustomerAlias.id)),
        select(func.count(Contact.id), func.max(Contact.id)),
        select(func.count(Product.id), func.max(Product.id)),
        select(func.count(Staff.id), func.max(Staff.id)),
        select(func.count(Member.id), func.max(Member.id)),
    ]
    values: list[str] = []
    for stmt in parts:
        values.extend(str(v) for v in session.execute(stmt).one())
    # Product aliases and active flags live in a small table without updated_at: hash them too.
    for row in session.execute(select(Product.id, Product.name, Product.aliases, Product.active).order_by(Product.id)):
        values.append(repr(tuple(row)))
    for row in session.execute(select(Staff.id, Staff.name, Staff.active).order_by(Staff.id)):
        values.append(repr(tuple(row)))
    return hashlib.sha1("|".join(values).encode("utf-8")).hexdigest()
