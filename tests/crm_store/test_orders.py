"""Orders and approvals: pricing, numbering, routing, decisions, escalation; races on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_store import messages as SM
from crm_store.db import make_engine, session_factory, transaction
from crm_store.errors import AlreadyDecided, Ambiguous, InvalidInput, NotFound, PermissionDenied
from crm_store.models import ApprovalStep, AuditLog, Order, OrderLine, Product, Staff
from crm_store.services import Actor, actor_for_staff, approvals, orders
from crmbot.config import ApprovalRules
from tests.conftest import _empty_pg
from tests.crm_store.helpers import NOW, Org, add_customer, table_counts

RULES = ApprovalRules()  # manager above 0, director above 100000, director below 8折


@pytest.fixture
def catalog(session: Session) -> dict[str, Product]:
    rows = {
        "服务器": Product(name="服务器", unit="台", unit_price=Decimal("45000"), aliases=[]),
        "门禁系统": Product(name="门禁系统", unit="套", unit_price=Decimal("28000"), aliases=["门禁"]),
        "显示器": Product(name="显示器", unit="台", unit_price=Decimal("1299"), aliases=[]),
        "定制服务": Product(name="定制服务", unit="项", unit_price=None, aliases=[]),
    }
    session.add_all(rows.values())
    session.commit()
    return rows


@pytest.fixture
def customer_id(session: Session, org: Org) -> int:
    customer = add_customer(session, "华为技术有限公司", org.rep_a, aliases=("华为",))
    session.commit()
    return customer.id


def _submit(session: Session, actor: Actor, customer_id: int, lines, **kw) -> Order:  # type: ignore[no-untyped-def]
    order = orders.create_order(session, actor, customer_id, lines, now=kw.pop("now", NOW), **kw)
    order = orders.submit_order(session, actor, order.id, RULES, now=NOW)
    session.commit()
    return orders.get_order(session, order.id)


def _route(order: Order) -> list[tuple[str, int | None, str]]:
    return [(s.role, s.approver_id, s.status) for s in order.steps]


# --- drafts and pricing ---------------------------------------------------------------------------


def test_totals_from_list_price_unit_price_and_line_total(session: Session, org: Org, catalog, customer_id) -> None:
    order = orders.create_order(
        session, org.rep_a, customer_id,
        [("服务器", 2, None, None), ("门禁", 3, None, "150000"), ("显示器", 40, "1200.50", None)],
        now=NOW,
    )
    session.commit()
    lines = [(line.product_name, line.quantity, line.unit_price, line.amount) for line in order.lines]
    assert lines == [
        ("服务器", 2, Decimal("45000.00"), Decimal("90000.00")),
        ("门禁系统", 3, Decimal("50000.00"), Decimal("150000.00")),
        ("显示器", 40, Decimal("1200.50"), Decimal("48020.00")),
    ]
    assert order.total == Decimal("288020.00")
    assert order.status == "draft"
    assert order.discount is None  # above list price overall


def test_discount_applies_to_list_prices_and_is_recorded(session: Session, org: Org, catalog, customer_id) -> None:
    order = orders.create_order(session, org.rep_a, customer_id, [("服务器", 2, None, None)], discount=0.9, now=NOW)
    assert order.total == Decimal("81000.00")
    assert order.discount == pytest.approx(0.9)
    cheap = orders.create_order(session, org.rep_a, customer_id, [("服务器", 10, "20000", None)], now=NOW)
    assert cheap.discount == pytest.approx(20000 / 45000, abs=1e-4)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], SM.ORDER_NO_LINES),
        ([("服务器", 0, None, None)], None),
        ([("服务器", -3, None, None)], None),
        ([("服务器", 1.5, None, None)], None),
        ([("服务器", "十", None, None)], None),
        ([("服务器", 10**9, None, None)], None),
        ([("服务器", 1, "-5", None)], SM.AMOUNT_INVALID),
        ([("服务器", 1, "abc", None)], SM.AMOUNT_INVALID),
        ([("服务器", 10**6, "9999999999", None)], SM.ORDER_TOTAL_TOO_LARGE),
        ([("'; DROP TABLE sales_order; --", 1, None, None)], None),
        ([("🚀", 1, None, None)], None),
        ([("定制服务", 1, None, None)], SM.ORDER_PRICE_REQUIRED.format(name="定制服务")),
    ],
)
def test_bad_lines_are_refused_without_writing(session: Session, org: Org, catalog, customer_id, lines, message) -> None:
    before = table_counts(session)
    with pytest.raises(InvalidInput) as caught:
        orders.create_order(session, org.rep_a, customer_id, lines, now=NOW)
    session.rollback()
    if message is not None:
        assert caught.value.message == message
    assert caught.value.message  # always a Chinese sentence, never a traceback
    assert table_counts(session) == before


def test_only_visible_customers_and_sales_roles(session: Session, org: Org, catalog, customer_id) -> None:
    with pytest.raises(PermissionDenied):
        orders.create_order(session, org.rep_c, customer_id, [("服务器", 1, None, None)], now=NOW)
    with pytest.raises(PermissionDenied):
        orders.create_order(session, org.clerk, customer_id, [("服务器", 1, None, None)], now=NOW)
    with pytest.raises(InvalidInput):
        orders.create_order(session, org.rep_a, customer_id, [("服务器", 1, None, None)], now=NOW.replace(tzinfo=None))


# --- numbering ------------------------------------------------------------------------------------


def test_numbers_are_daily_sequences_in_local_time(session: Session, org: Org, catalog, customer_id) -> None:
    numbers = [
        orders.create_order(session, org.rep_a, customer_id, [("显示器", 1, None, None)], now=NOW).number
        for _ in range(3)
    ]
    assert numbers == ["SO20261127001", "SO20261127002", "SO20261127003"]
    late_utc = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # 01:30 on the 28th in Shanghai
    from tests.crm_store.helpers import TZ

    next_day = orders.create_order(
        session, org.rep_a, customer_id, [("显示器", 1, None, None)], now=late_utc, tz=TZ
    )
    assert next_day.number == "SO20261128001"
    session.commit()
    assert session.scalar(select(func.count(func.distinct(Order.number)))) == 4


# --- routing --------------------------------------------------------------------------------------


def test_up_to_threshold_goes_to_the_manager_only(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("门禁系统", 2, None, "100000")])
    assert order.total == Decimal("100000.00") and order.status == "pending"
    assert _route(order) == [("manager", org.manager.staff_id, "pending")]
    assert order.steps[0].pending_since == NOW
    assert order.submitted_at == NOW


def test_above_threshold_goes_to_manager_then_director(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("门禁系统", 2, None, "100000.01")])
    assert _route(order) == [
        ("manager", org.manager.staff_id, "pending"),
        ("director", org.director.staff_id, "waiting"),
    ]
    assert order.steps[1].pending_since is None


def test_deep_discount_needs_the_director_too(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("显示器", 10, "1000", None)])  # 77折, 1万
    assert [s.role for s in order.steps] == ["manager", "director"]


def test_approver_is_never_the_submitter(session: Session, org: Org, catalog, customer_id) -> None:
    from crm_store.models import Customer

    session.get(Customer, customer_id).owner_id = org.manager.staff_id  # type: ignore[union-attr]
    session.commit()
    by_manager = _submit(session, org.manager, customer_id, [("服务器", 4, None, None)])  # 18万
    # manager step goes one level up to the director; the director step is then not asked twice
    assert _route(by_manager) == [("manager", org.director.staff_id, "pending")]
    by_director = _submit(session, org.director, customer_id, [("服务器", 4, None, None)])
    assert {s.approver_id for s in by_director.steps} == {org.admin.staff_id}
    for order in (by_manager, by_director):
        assert all(s.approver_id != order.submitter_id for s in order.steps)


def test_inactive_manager_is_skipped(session: Session, org: Org, catalog, customer_id) -> None:
    session.get(Staff, org.manager.staff_id).active = False  # type: ignore[union-attr]
    session.commit()
    order = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    assert _route(order) == [("manager", org.director.staff_id, "pending")]


def test_submit_twice_is_refused(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    with pytest.raises(InvalidInput):
        orders.submit_order(session, org.rep_a, order.id, RULES, now=NOW)
    session.rollback()
    with pytest.raises(PermissionDenied):
        orders.submit_order(session, org.rep_b, order.id, RULES, now=NOW)


# --- decisions ------------------------------------------------------------------------------------


def test_multi_step_approval_runs_in_order(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("服务器", 3, None, None)])  # 13.5万
    with pytest.raises(PermissionDenied) as caught:
        approvals.decide(session, org.director, order_ref=order.number, approve=True, now=NOW)
    assert "还没轮到您" in caught.value.message
    later = NOW + timedelta(hours=2)
    first = approvals.decide(session, org.manager, order_ref=order.number, approve=True, now=later, via_message="m1")
    session.commit()
    assert first.next_step is not None and first.next_step.approver_id == org.director.staff_id
    assert first.order.status == "pending"
    assert first.next_step.pending_since == later
    final = approvals.decide(session, org.director, order_ref=None, approve=True, now=later, via_message="m2")
    session.commit()
    assert final.next_step is None and final.order.status == "approved" and final.order.decided_at == later
    rows = session.scalars(select(AuditLog).where(AuditLog.action == "order.approve").order_by(AuditLog.id)).all()
    assert [(r.actor_staff_id, r.after["via_message"]) for r in rows] == [
        (org.manager.staff_id, "m1"), (org.director.staff_id, "m2"),
    ]


def test_reject_needs_a_reason_and_skips_the_rest(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("服务器", 3, None, None)])
    with pytest.raises(InvalidInput) as caught:
        approvals.decide(session, org.manager, order_ref=order.number, approve=False, reason="  ", now=NOW)
    assert caught.value.message == SM.REJECT_REASON_REQUIRED
    decision = approvals.decide(session, org.manager, order_ref=order.id, approve=False, reason="价格太低", now=NOW)
    session.commit()
    assert decision.order.status == "rejected"
    assert [(s.status, s.reason) for s in orders.get_order(session, order.id).steps] == [
        ("rejected", "价格太低"), ("skipped", None),
    ]


def test_decide_twice_applies_once(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    approvals.decide(session, org.manager, order_ref=order.number, approve=True, now=NOW, via_message="tap-1")
    session.commit()
    for approve in (True, False):
        with pytest.raises(AlreadyDecided) as caught:
            approvals.decide(session, org.manager, order_ref=order.number, approve=approve, reason="x", now=NOW)
        session.rollback()
        assert caught.value.message.startswith("该订单已处理")
    with pytest.raises(AlreadyDecided):  # an admin cannot reopen it either
        approvals.decide(session, org.admin, order_ref=order.number, approve=False, reason="x", now=NOW)
    session.rollback()
    audits = session.scalars(select(AuditLog).where(AuditLog.action.in_(["order.approve", "order.reject"]))).all()
    assert len(audits) == 1 and audits[0].after["via_message"] == "tap-1"
    assert audits[0].via_channel == "console"


def test_who_may_decide(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    for actor in (org.rep_a, org.rep_b, org.clerk):
        with pytest.raises(PermissionDenied) as caught:
            approvals.decide(session, actor, order_ref=order.number, approve=True, now=NOW)
        assert caught.value.message == SM.NO_APPROVAL_RIGHT
    for actor in (org.other_manager, org.director):
        with pytest.raises(PermissionDenied) as caught:
            approvals.decide(session, actor, order_ref=order.number, approve=True, now=NOW)
        assert caught.value.message == SM.NOT_YOUR_APPROVAL
    decision = approvals.decide(session, org.admin, order_ref=order.number, approve=True, now=NOW)
    assert decision.order.status == "approved" and decision.step.decided_by_id == org.admin.staff_id


def test_order_references(session: Session, org: Org, catalog, customer_id) -> None:
    first = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    second = _submit(session, org.rep_a, customer_id, [("显示器", 2, None, None)])
    assert approvals.find_order(session, org.manager, first.number.lower()).id == first.id
    assert approvals.find_order(session, org.manager, first.number[2:]).id == first.id
    assert approvals.find_order(session, org.manager, "002").id == second.id  # tail among my pending
    assert approvals.find_order(session, org.manager, f"#{first.id}").id == first.id
    for junk in ("SO19990101001", "abc", "'; drop table x; --", "9" * 40, "🚀"):
        with pytest.raises(NotFound):
            approvals.find_order(session, org.manager, junk)
    with pytest.raises(Ambiguous) as caught:
        approvals.decide(session, org.manager, order_ref=None, approve=True, now=NOW)
    assert {o.id for o in caught.value.candidates} == {first.id, second.id}
    with pytest.raises(NotFound):
        approvals.decide(session, org.other_manager, order_ref=None, approve=True, now=NOW)


def test_queues_for_approver_and_rep(session: Session, org: Org, catalog, customer_id) -> None:
    big = _submit(session, org.rep_a, customer_id, [("服务器", 3, None, None)])
    small = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    assert [s.order_id for s in approvals.pending_for(session, org.manager)] == [big.id, small.id]
    assert approvals.pending_for(session, org.director) == []
    assert approvals.pending_for(session, org.rep_a) == []
    approvals.decide(session, org.manager, order_ref=big.number, approve=True, now=NOW)
    session.commit()
    assert [s.order_id for s in approvals.pending_for(session, org.director)] == [big.id]
    mine = orders.my_orders(session, org.rep_a, limit=10)
    assert {o.id for o in mine} == {big.id, small.id}
    waiting = {o.id: orders.current_step(o).approver_id for o in mine}  # type: ignore[union-attr]
    assert waiting == {big.id: org.director.staff_id, small.id: org.manager.staff_id}
    assert orders.my_orders(session, org.rep_b) == []


# --- escalation -----------------------------------------------------------------------------------


def test_escalation_reminds_then_goes_one_level_up(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    hours = RULES.escalate_after_hours
    assert approvals.escalation_due(session, NOW + timedelta(hours=hours - 1), hours) == []
    at = NOW + timedelta(hours=hours)
    due = approvals.escalation_due(session, at, hours)
    assert [s.order_id for s in due] == [order.id]
    remind = approvals.mark_escalated(session, due[0].id, at, hours)
    assert remind is not None and remind.kind == "remind" and remind.to_staff_id == org.manager.staff_id
    assert order.number in remind.text
    assert approvals.mark_escalated(session, due[0].id, at, hours) is None  # a second run does nothing
    session.commit()
    assert approvals.escalation_due(session, at + timedelta(hours=1), hours) == []
    later = at + timedelta(hours=hours)
    escalate = approvals.mark_escalated(session, due[0].id, later, hours)
    assert escalate is not None and escalate.kind == "escalate" and escalate.to_staff_id == org.director.staff_id
    session.commit()
    assert approvals.escalation_due(session, later + timedelta(days=3), hours) == []
    # once escalated, the next level may decide it
    decision = approvals.decide(session, org.director, order_ref=order.number, approve=True, now=later)
    assert decision.order.status == "approved"


def test_decided_steps_are_not_escalated(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    approvals.decide(session, org.manager, order_ref=order.number, approve=True, now=NOW)
    session.commit()
    assert approvals.escalation_due(session, NOW + timedelta(days=5), 24) == []


# --- PostgreSQL races -----------------------------------------------------------------------------


@pytest.fixture
def pg_factory(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine: Engine = make_engine(pg_url)
    _empty_pg(engine)
    yield session_factory(engine)
    engine.dispose()


def _pg_org(factory: sessionmaker[Session]) -> dict[str, int]:
    with transaction(factory) as session:
        director = Staff(name="赵总监", role="director")
        session.add(director)
        session.flush()
        manager = Staff(name="陈经理", role="manager", manager_id=director.id)
        session.add(manager)
        session.flush()
        rep = Staff(name="张三", role="rep", manager_id=manager.id)
        admin = Staff(name="管理员", role="admin")
        session.add_all([rep, admin, Product(name="显示器", unit="台", unit_price=Decimal("1299"), aliases=[])])
        session.flush()
        customer = add_customer(session, "华为技术有限公司", Actor(rep.id, None, "rep", "张三"))
        return {"director": director.id, "manager": manager.id, "rep": rep.id, "admin": admin.id,
                "customer": customer.id}


def _actor(session: Session, staff_id: int, message: str) -> Actor:
    return actor_for_staff(session, staff_id, via_channel="telegram", via_message=message)


def _pg_submit(factory: sessionmaker[Session], ids: dict[str, int]) -> tuple[int, str]:
    with transaction(factory) as session:
        rep = _actor(session, ids["rep"], "submit")
        order = orders.create_order(session, rep, ids["customer"], [("显示器", 1, None, None)], now=NOW)
        orders.submit_order(session, rep, order.id, RULES, now=NOW)
        return order.id, order.number


def test_pg_concurrent_decisions_one_wins(pg_factory: sessionmaker[Session]) -> None:
    """The first decision holds the step's row lock; the second blocks on it, then sees it decided."""
    ids = _pg_org(pg_factory)
    _, number = _pg_submit(pg_factory, ids)
    first_updated = threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        with transaction(pg_factory) as session:
            approvals.decide(session, _actor(session, ids["manager"], "tap-1"), order_ref=number, approve=True,
                             now=NOW)
            outcomes["first"] = "approved"
            first_updated.set()
            time.sleep(0.5)  # keep the lock while the other one arrives

    def second() -> None:
        first_updated.wait(10)
        try:
            with transaction(pg_factory) as session:
                approvals.decide(session, _actor(session, ids["admin"], "tap-2"), order_ref=number, approve=False,
                                 reason="太贵", now=NOW)
                outcomes["second"] = "rejected"
        except AlreadyDecided as error:
            outcomes["second"] = error

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes["first"] == "approved"
    assert isinstance(outcomes["second"], AlreadyDecided)
    with pg_factory() as session:
        order = session.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.status == "approved"
        actions = session.scalars(select(AuditLog.action).where(AuditLog.action.like("order.%"))).all()
        assert sorted(actions) == ["order.approve", "order.create", "order.submit"]


def test_pg_many_simultaneous_taps_apply_once(pg_factory: sessionmaker[Session]) -> None:
    ids = _pg_org(pg_factory)
    _, number = _pg_submit(pg_factory, ids)
    barrier = threading.Barrier(6)
    results: list[str] = []
    lock = threading.Lock()

    def tap(n: int) -> None:
        barrier.wait(10)
        try:
            with transaction(pg_factory) as session:
                who = ids["manager"] if n % 2 else ids["admin"]
                approvals.decide(session, _actor(session, who, f"tap-{n}"), order_ref=number, approve=True, now=NOW)
            outcome = "ok"
        except AlreadyDecided:
            outcome = "already"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=tap, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["already"] * 5 + ["ok"]
    with pg_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "order.approve")) == 1
        assert session.scalar(select(func.count()).select_from(ApprovalStep).where(ApprovalStep.status == "approved")) == 1


def test_pg_concurrent_numbering(pg_factory: sessionmaker[Session]) -> None:
    ids = _pg_org(pg_factory)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait(10)
        for _ in range(5):
            try:
                _, number = _pg_submit(pg_factory, ids)
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)
                continue
            with lock:
                numbers.append(number)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(numbers) == [f"SO20261127{n:03d}" for n in range(1, 21)]
    with pg_factory() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 20
        assert session.scalar(select(func.count()).select_from(OrderLine)) == 20


def test_undo_submit_cancels_an_undecided_order(session: Session, org: Org, catalog, customer_id) -> None:
    order = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    row = session.scalar(select(AuditLog).where(AuditLog.action == "order.submit", AuditLog.entity_id == order.id))
    assert order.number in orders.undo_submit(session, row, NOW)
    session.commit()
    assert orders.get_order(session, order.id).status == "cancelled"
    assert approvals.pending_for(session, org.manager) == []
    with pytest.raises(AlreadyDecided):
        approvals.decide(session, org.manager, order_ref=order.number, approve=True, now=NOW)
    session.rollback()
    decided = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    approvals.decide(session, org.manager, order_ref=decided.number, approve=True, now=NOW)
    row = session.scalar(select(AuditLog).where(AuditLog.action == "order.submit", AuditLog.entity_id == decided.id))
    with pytest.raises(NotFound):
        orders.undo_submit(session, row, NOW)


def test_run_escalations_records_each_once(session: Session, org: Org, catalog, customer_id) -> None:
    first = _submit(session, org.rep_a, customer_id, [("显示器", 1, None, None)])
    second = _submit(session, org.rep_a, customer_id, [("服务器", 3, None, None)])
    at = NOW + timedelta(hours=30)
    done = approvals.run_escalations(session, at, 24)
    session.commit()
    assert sorted((e.step.order_id, e.kind, e.to_staff_id) for e in done) == [
        (first.id, "remind", org.manager.staff_id), (second.id, "remind", org.manager.staff_id),
    ]
    assert approvals.run_escalations(session, at, 24) == []
    assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "approval.remind")) == 2


def test_undo_decision_reopens_the_step_until_a_later_step_is_decided(
    session: Session, org: Org, catalog, customer_id
) -> None:
    """Issue 15: 撤销 after 同意 puts the step back; the director's step waits again; not after the director decided."""
    from crm_store.services import undo

    order = _submit(session, org.rep_a, customer_id, [("服务器", 3, None, None)])  # manager, then director
    later = NOW + timedelta(minutes=1)
    approvals.decide(session, org.manager, order_ref=order.number, approve=True, now=later)
    session.commit()
    assert "撤销" in undo.undo_last_write(session, org.manager, now=later + timedelta(minutes=2), window_minutes=5)
    session.commit()
    order = orders.get_order(session, order.id)
    assert (order.status, order.decided_at) == ("pending", None)
    assert [(s.role, s.status, s.decided_by_id) for s in order.steps] == [
        ("manager", "pending", None), ("director", "waiting", None),
    ]
    assert [s.order.number for s in approvals.pending_for(session, org.manager)] == [order.number]
    assert approvals.pending_for(session, org.director) == []
    with pytest.raises(NotFound):  # undone once: nothing more to undo
        undo.undo_last_write(session, org.manager, now=later + timedelta(minutes=3), window_minutes=5)
    session.rollback()

    approvals.decide(session, org.manager, order_ref=order.number, approve=True, now=later + timedelta(minutes=4))
    approvals.decide(session, org.director, order_ref=order.number, approve=True, now=later + timedelta(minutes=4))
    session.commit()
    with pytest.raises(InvalidInput) as caught:  # the director decided after the manager: too late
        undo.undo_last_write(session, org.manager, now=later + timedelta(minutes=5), window_minutes=5)
    assert caught.value.message == SM.UNDO_DECISION_LATER
    session.rollback()
    assert orders.get_order(session, order.id).status == "approved"
