"""Order numbers under concurrency: unique per day on both backends, and on PostgreSQL no submitter waits for
another message to commit (the day's counter is not locked across a message)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import transaction
from crm_store.models import Order, Product, Staff
from crm_store.services import Actor, actor_for_staff, orders
from crmbot.config import ApprovalRules
from tests.crm_store.helpers import NOW, add_customer

RULES = ApprovalRules()


def _org(factory: sessionmaker[Session]) -> tuple[int, int]:
    """A rep under a manager, one customer of theirs and one product: (rep id, customer id)."""
    with transaction(factory) as session:
        manager = Staff(name="陈经理", role="manager")
        session.add(manager)
        session.flush()
        rep = Staff(name="张三", role="rep", manager_id=manager.id)
        session.add_all([rep, Product(name="显示器", unit="台", unit_price=Decimal("1299"), aliases=[])])
        session.flush()
        customer = add_customer(session, "华为技术有限公司", Actor(rep.id, None, "rep", "张三"))
        return rep.id, customer.id


def _create_and_submit(session: Session, rep_id: int, customer_id: int, message: str) -> str:
    rep = actor_for_staff(session, rep_id, via_channel="wechat", via_message=message)
    order = orders.create_order(session, rep, customer_id, [("显示器", 1, None, None)], now=NOW)
    orders.submit_order(session, rep, order.id, RULES, now=NOW)
    return order.number


def test_concurrent_submits_get_distinct_numbers(factory: sessionmaker[Session]) -> None:
    """8 messages at once, each still busy after taking its number (the rest of a message's work), on
    SQLite and PostgreSQL: every order committed, every number distinct, all of the same day."""
    rep_id, customer_id = _org(factory)
    barrier = threading.Barrier(8)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def message(n: int) -> None:
        barrier.wait(10)
        for k in range(3):
            try:
                with transaction(factory) as session:
                    number = _create_and_submit(session, rep_id, customer_id, f"m{n}-{k}")
                    time.sleep(0.02)
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)
                continue
            with lock:
                numbers.append(number)

    threads = [threading.Thread(target=message, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert len(numbers) == 24 and len(set(numbers)) == 24
    assert all(n.startswith("SO20261127") and len(n) == 13 for n in numbers)
    with factory() as session:
        stored = session.scalars(select(Order.number)).all()
    assert sorted(stored) == sorted(numbers)


def test_pg_a_message_holding_its_number_does_not_block_the_next(
    factory: sessionmaker[Session], db_url: str
) -> None:
    """A message that has taken its number and is still working (not committed) leaves the day's counter
    free: a second submitter gets the next number at once, while the first one is still open."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer for the whole database; this is about PostgreSQL's row locks")
    rep_id, customer_id = _org(factory)
    first_has_number = threading.Event()
    release_first = threading.Event()
    taken: dict[str, str] = {}

    def first() -> None:
        with transaction(factory) as session:
            taken["first"] = _create_and_submit(session, rep_id, customer_id, "slow")
            first_has_number.set()
            release_first.wait(30)  # the rest of a long message: NLU, notices, the reply

    slow = threading.Thread(target=first)
    slow.start()
    try:
        assert first_has_number.wait(10)
        started = time.monotonic()
        with transaction(factory) as session:
            taken["second"] = _create_and_submit(session, rep_id, customer_id, "fast")
        waited = time.monotonic() - started
        assert slow.is_alive(), "the first message must still be open while the second commits"
    finally:
        release_first.set()
        slow.join(30)
    assert waited < 5, f"the second submitter waited {waited:.1f} s for the first message to commit"
    assert (taken["first"], taken["second"]) == ("SO20261127001", "SO20261127002")


def test_a_rolled_back_message_never_causes_a_duplicate(factory: sessionmaker[Session], db_url: str) -> None:
    """A message that fails after taking a number: its order is gone; the next order still gets a unique
    number (PostgreSQL does not hand the taken number out again, like a sequence; SQLite rolls it back)."""
    rep_id, customer_id = _org(factory)
    with pytest.raises(RuntimeError), transaction(factory) as session:
        _create_and_submit(session, rep_id, customer_id, "fails")
        raise RuntimeError("the message failed after its order was numbered")
    with transaction(factory) as session:
        number = _create_and_submit(session, rep_id, customer_id, "next")
        again = _create_and_submit(session, rep_id, customer_id, "after")
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 2
    expected = ("SO20261127002", "SO20261127003") if db_url.startswith("postgresql") else (
        "SO20261127001", "SO20261127002")
    assert (number, again) == expected
