"""The names feed (issue 16): what a write announces to the NLU gazetteer, and how a reader follows it even
when transactions commit out of id order (PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_store.models import Customer, NameChange, Product, Staff
from crm_store.services import NamesCursor, create_customer
from tests.crm_store.helpers import Org

NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")


def _started(factory: sessionmaker[Session]) -> NamesCursor:
    cursor = NamesCursor()
    with factory() as session:
        first = cursor.read(session)
    assert first.reload == {"customer", "contact", "product", "staff", "member"}  # a new reader loads all
    return cursor


def _news(factory: sessionmaker[Session], cursor: NamesCursor) -> tuple[dict[str, set[str]], set[str]]:
    with factory() as session:
        count = session.scalar(select(cursor.unseen_count()))
        if not cursor.has_news(count):
            return {}, set()
        update = cursor.read(session)
        return update.add, update.reload


def test_new_names_are_announced_and_renames_ask_for_a_reload(factory, org: Org) -> None:  # type: ignore[no-untyped-def]
    cursor = _started(factory)
    assert _news(factory, cursor) == ({}, set())  # nothing new: no read beyond the count
    with factory.begin() as session:
        create_customer(session, org.rep_a, "澄星微电子", aliases=["澄星"], contact_name="庞经理", now=NOW)
        session.add(Product(name="边缘网关", unit="台", aliases=["网关"]))
    added, reload = _news(factory, cursor)
    assert added == {"customer": {"澄星微电子", "澄星"}, "contact": {"庞经理"}, "product": {"边缘网关", "网关"}}
    assert reload == set()
    with factory.begin() as session:
        customer = session.scalar(select(Customer).where(Customer.name == "澄星微电子"))
        assert customer is not None
        customer.name = "澄星半导体"
        staff = session.scalar(select(Staff).where(Staff.name == "李四"))
        assert staff is not None
        staff.active = False
    added, reload = _news(factory, cursor)
    assert added == {} and reload == {"customer", "staff"}
    assert _news(factory, cursor) == ({}, set())


def test_a_rolled_back_write_announces_nothing(factory, org: Org) -> None:  # type: ignore[no-untyped-def]
    cursor = _started(factory)
    with factory() as session:
        create_customer(session, org.rep_a, "不存在的客户", now=NOW)
        session.rollback()
    assert _news(factory, cursor) == ({}, set())


def test_a_transaction_committing_after_a_later_one_is_not_missed(  # type: ignore[no-untyped-def]
    factory, org: Org, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: ids commit in order")
    cursor = _started(factory)
    slow = factory()
    create_customer(slow, org.rep_a, "慢事务客户", now=NOW)
    slow.flush()  # takes the lower feed id, not committed yet
    with factory.begin() as fast:
        create_customer(fast, org.rep_a, "快事务客户", now=NOW)
    added, _ = _news(factory, cursor)
    assert added == {"customer": {"快事务客户"}}
    slow.commit()
    slow.close()
    added, _ = _news(factory, cursor)
    assert added == {"customer": {"慢事务客户"}}
    with factory() as session:
        assert cursor.low == session.scalar(select(NameChange.id).order_by(NameChange.id.desc()).limit(1))
