"""Names for the NLU gazetteer, and the names feed that tells a running engine what changed.

Every flush that adds a customer, alias, contact, product, staff member or member writes a `name_change`
row per new name in the same transaction; a rename, a deactivation or a deletion writes one row with no
name, meaning "reload this entity's names". Core statements that bypass the ORM (bulk import, undo's
contact delete) call `entity_changed`. A dialog engine keeps a `NamesCursor`: one indexed count tells it
whether anything new committed, and then it adds just those names (cost follows the change, not the size
of the company).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ScalarSelect, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from crm_store.models import Contact, Customer, CustomerAlias, Member, NameChange, Product, Staff

# A gap in the ids (a transaction that took its id but has not committed yet, or rolled back) is waited for
# this long before the cursor moves past it.
GAP_SECONDS = 30.0
# More new names of one entity in one flush (an import) are announced as one "reload" row.
BULK_NAMES = 500
# When an engine starts it also reads this many of the latest rows, so a transaction committing just
# after the full load (with an id below the latest) is still seen.
START_LOOKBACK = 200


def _unique(values: Iterable[str | None]) -> list[str]:
    return sorted({v.strip() for v in values if v and v.strip()})


def _product_names(session: Session) -> list[str]:
    products: list[str | None] = []
    for name, aliases in session.execute(select(Product.name, Product.aliases).where(Product.active.is_(True))):
        products.append(name)
        products.extend(str(a) for a in (aliases or []))
    return _unique(products)


ENTITY_LOADERS: dict[str, Any] = {
    "customer": lambda s: _unique(list(s.scalars(select(Customer.name)))
                                  + list(s.scalars(select(CustomerAlias.alias)))),
    "contact": lambda s: _unique(s.scalars(select(Contact.name))),
    "product": _product_names,
    "staff": lambda s: _unique(s.scalars(select(Staff.name).where(Staff.active.is_(True)))),
    "member": lambda s: _unique(s.scalars(select(Member.name))),
}


def entity_names(session: Session, entity: str) -> list[str]:
    """All current names of one gazetteer entity."""
    return list(ENTITY_LOADERS[entity](session))


def gazetteer_names(session: Session) -> dict[str, list[str]]:
    return {entity: entity_names(session, entity) for entity in ENTITY_LOADERS}


# --- writing the feed ----------------------------------------------------------------------------

# model -> (gazetteer entity, attributes that hold or gate its names)
_WATCHED: dict[type, tuple[str, tuple[str, ...]]] = {
    Customer: ("customer", ("name",)),
    CustomerAlias: ("customer", ("alias",)),
    Contact: ("contact", ("name",)),
    Product: ("product", ("name", "aliases", "active")),
    Staff: ("staff", ("name", "active")),
    Member: ("member", ("name",)),
}


def _new_names(obj: Any) -> list[str]:
    if isinstance(obj, Product):
        return [obj.name, *map(str, obj.aliases or [])] if obj.active is not False else []
    if isinstance(obj, Staff):
        return [obj.name] if obj.active is not False else []
    return [obj.alias if isinstance(obj, CustomerAlias) else obj.name]


def entity_changed(session: Session, entity: str) -> None:
    """For writes that bypass the ORM (bulk inserts, Core deletes): engines reload this entity's names."""
    session.execute(insert(NameChange).values(entity=entity, name=None))


@event.listens_for(Session, "before_flush")
def _record_name_changes(session: Session, _context: Any, _instances: Any) -> None:
    added: set[tuple[str, str]] = set()
    reload: set[str] = set()
    for obj in session.new:
        watched = _WATCHED.get(type(obj))
        if watched:
            added.update((watched[0], n.strip()) for n in _new_names(obj) if n and n.strip())
    for obj in session.dirty:
        watched = _WATCHED.get(type(obj))
        if watched and any(inspect(obj).attrs[a].history.has_changes() for a in watched[1]):
            reload.add(watched[0])  # renamed, aliases or active flag changed: rare, reload that entity
    for obj in session.deleted:
        watched = _WATCHED.get(type(obj))
        if watched:
            reload.add(watched[0])
    per_entity: dict[str, int] = {}
    for entity, _ in added:
        per_entity[entity] = per_entity.get(entity, 0) + 1
    reload.update(entity for entity, count in per_entity.items() if count > BULK_NAMES)
    for entity, name in sorted(added):
        if entity not in reload:
            session.add(NameChange(entity=entity, name=name[:200]))
    for entity in sorted(reload):
        session.add(NameChange(entity=entity, name=None))


# --- following the feed --------------------------------------------------------------------------


@dataclass
class NameUpdate:
    """What an engine applies to its gazetteer: names to add, entities to reload in full."""

    add: dict[str, set[str]] = field(default_factory=dict)
    reload: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.add or self.reload)


@dataclass
class NamesCursor:
    """How far one engine has read the names feed: every id <= `low` is applied, `seen` holds the applied
    ids above it (ids commit out of order on PostgreSQL; a gap may be a transaction still running)."""

    low: int | None = None  # None: nothing loaded yet
    seen: set[int] = field(default_factory=set)
    gap_since: float | None = None

    def unseen_count(self) -> ScalarSelect[int]:
        """A scalar subquery: how many feed rows above `low` exist; more than len(seen) means news."""
        return select(func.count()).select_from(NameChange).where(NameChange.id > (self.low or 0)).scalar_subquery()

    def has_news(self, count: int | None) -> bool:
        return self.low is None or count is None or count != len(self.seen)

    def read(self, session: Session) -> NameUpdate:
        """The changes committed since the last read (the first read: reload everything)."""
        update = NameUpdate()
        if self.low is None:
            latest = session.scalar(select(func.max(NameChange.id))) or 0
            self.low = max(0, latest - START_LOOKBACK)
            self.seen = set(session.scalars(select(NameChange.id).where(NameChange.id > self.low)))
            update.reload = set(ENTITY_LOADERS)
            self._advance()
            return update
        rows = session.execute(
            select(NameChange.id, NameChange.entity, NameChange.name).where(NameChange.id > self.low)
            .order_by(NameChange.id)
        )
        for row_id, entity, name in rows:
            if row_id in self.seen:
                continue
            self.seen.add(row_id)
            if name is None:
                update.reload.add(entity)
            else:
                update.add.setdefault(entity, set()).add(name)
        for entity in update.reload:
            update.add.pop(entity, None)
        self._advance()
        return update

    def _advance(self) -> None:
        assert self.low is not None
        while self.low + 1 in self.seen:
            self.low += 1
            self.seen.discard(self.low)
        if not self.seen:
            self.gap_since = None
        elif self.gap_since is None:
            self.gap_since = time.monotonic()
        elif time.monotonic() - self.gap_since > GAP_SECONDS:  # a rolled-back id: never coming
            self.low, self.seen, self.gap_since = max(self.seen), set(), None
