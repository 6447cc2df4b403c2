"""Helpers for the service tests: the fixed clock, row counts, fixture data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from crm_store.models import Base, Customer, CustomerAlias, CustomerShare
from crm_store.services import Actor

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)


# Append-only feeds for other processes (the NLU names feed): a reverted write leaves its row, by design.
FEED_TABLES = {"name_change"}


@contextmanager
def generic_plans_reading(session: Session, table: str) -> Iterator[Callable[[], int]]:
    """PostgreSQL: inside the session's transaction, statements run prepared with generic plans, as a
    server's pooled connections run their hot statements after a few uses; yields a function giving the
    index entries plus rows `table` has returned by scans since."""
    connection = session.connection()
    session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    raw = connection.connection.dbapi_connection
    threshold = raw.prepare_threshold  # type: ignore[union-attr]
    raw.prepare_threshold = 0  # type: ignore[union-attr]

    def returned() -> int:  # this backend's counts not yet flushed to the statistics: a difference is exact
        return int(session.scalar(text(
            f"SELECT pg_stat_get_xact_tuples_returned('{table}'::regclass) + coalesce(sum("
            f"pg_stat_get_xact_tuples_returned(indexrelid)), 0) FROM pg_index WHERE indrelid = '{table}'::regclass")))

    start = returned()
    try:
        yield lambda: returned() - start
    finally:
        raw.prepare_threshold = threshold  # type: ignore[union-attr]


def vacuum_analyze(session: Session, table: str) -> None:
    """What autovacuum leaves a busy table like: statistics and a visibility map."""
    with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # type: ignore[union-attr]
        conn.exec_driver_sql(f"VACUUM ANALYZE {table}")


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

