"""Helpers for the service tests: the fixed clock, row counts, fixture data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store.models import Base, Customer, CustomerAlias, CustomerShare
from crm_store.services import Actor

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)


# Append-only feeds for other processes (the NLU names feed): a reverted write leaves its row, by design.
FEED_TABLES = {"name_change"}


def table_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
        if table.name not in FEED_TABLES
    }


@dataclass
class Org:
    director: Actor
    manager: Actor
    other_manager: Actor
    rep_a: Actor
    rep_b: Actor
    rep_c: Actor  # in the other manager's team
    clerk: Actor
    admin: Actor



def add_customer(
    session: Session, name: str, owner: Actor, *, aliases: tuple[str, ...] = (), lifecycle: str = "target",
    created_at: datetime | None = None, last_contact_at: datetime | None = None,
) -> Customer:
    """A customer written directly (fixture data, not through the services)."""
    customer = Customer(
        name=name, owner_id=owner.staff_id, lifecycle=lifecycle,
        created_at=created_at or NOW.astimezone(UTC), updated_at=created_at or NOW.astimezone(UTC),
        last_contact_at=last_contact_at,
    )
    customer.aliases = [CustomerAlias(alias=a) for a in aliases]
    session.add(customer)
    session.flush()
    return customer


def share(session: Session, customer: Customer, actor: Actor) -> None:
    session.add(CustomerShare(customer_id=customer.id, staff_id=actor.staff_id))
    session.flush()

