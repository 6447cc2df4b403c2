"""Members: exact look-ups and their rate limit, points arithmetic, tiers, expiry, redemption, opt-out, stats.

Every test runs on SQLite and PostgreSQL (the `session` fixture is parametrized over both).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store.errors import InvalidInput, NotFound, PermissionDenied, RateLimited
from crm_store.models import AuditLog, Member, OutboxMessage, PointsLedger, Purchase, SecurityEvent
from crm_store.services import Actor
from crm_store.services import members as svc
from crmbot.config import Config, ConfigError, load_config
from tests.crm_store.helpers import NOW, TZ, Org

CONFIG = Config()
_numbers = itertools.count(1)


def add_member(
    session: Session, name: str = "王小明", *, member_no: str | None = None, phone: str | None = None,
    tier: str = "普通", spent: str = "0", opted_out: bool = False, birthday: date | None = None,
    expires_at: date | None = None,
) -> Member:
    member = Member(
        member_no=member_no or f"T{next(_numbers):05d}", name=name, phone=phone, tier=tier, points=0,
        total_spent=Decimal(spent), joined_at=date(2025, 1, 1), opted_out=opted_out, birthday=birthday,
        expires_at=expires_at, store="南京西路店",
    )
    session.add(member)
    session.flush()
    return member


def member_actor(member: Member) -> Actor:
    return Actor(staff_id=None, member_id=member.id, role="member", name="会员", via_channel="console")


def count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def ledger_sum(session: Session, member: Member) -> int:
    return svc.ledger_balance(session, member.id)


def config_with(**points: object) -> Config:
    return Config.model_validate({"rules": {"points": points}})


# --- look-up privacy -----------------------------------------------------------------------------


def test_lookup_exact_pair_and_exact_phone(session: Session, org: Org) -> None:
    member = add_member(session, "王小明", member_no="VIP0023", phone="13800138000")
    assert svc.lookup_member(session, org.clerk, name="王小明", member_no="VIP0023", now=NOW) is member
    assert svc.lookup_member(session, org.clerk, name=" 王小明 ", member_no="vip 0023", now=NOW) is member
    assert svc.lookup_member(session, org.manager, phone="138-0013-8000", now=NOW) is member
    assert count(session, SecurityEvent) == 0
    assert count(session, AuditLog, AuditLog.action == "member.lookup") == 3


@pytest.mark.parametrize(
    "query",
    [
        {"name": "王小明", "member_no": "VIP0024"},  # wrong pair: both exist, not together
        {"name": "王小", "member_no": "VIP0023"},  # partial name
        {"name": "王小明"},  # name only
        {"member_no": "VIP0023"},  # number only
        {"name": "王小明", "member_no": "VIP002"},  # partial number
        {"name": "李不存在", "member_no": "VIP9999"},  # nobody
        {"phone": "1380013800"},  # partial phone
        {"phone": "13800138001"},  # wrong phone
        {"name": "王小明' OR 1=1 --", "member_no": "VIP0023"},  # SQL-looking text
        {},
    ],
)
def test_lookup_misses_reveal_nothing_and_are_logged(session: Session, org: Org, query: dict[str, str]) -> None:
    add_member(session, "王小明", member_no="VIP0023", phone="13800138000")
    add_member(session, "李红", member_no="VIP0024")
    assert svc.lookup_member(session, org.clerk, now=NOW, **query) is None
    events = list(session.scalars(select(SecurityEvent)))
    assert [(e.kind, e.subject) for e in events] == [(svc.LOOKUP_FAILED, f"staff:{org.clerk.staff_id}")]
    assert count(session, AuditLog, AuditLog.action == "member.lookup") == 0


def test_shared_phone_identifies_nobody(session: Session, org: Org) -> None:
    add_member(session, "王小明", phone="13800138000")
    add_member(session, "王大明", phone="13800138000")
    assert svc.lookup_member(session, org.clerk, phone="13800138000", now=NOW) is None


@pytest.mark.parametrize("who", ["rep_a", "member"])
def test_reps_and_members_may_not_look_up(session: Session, org: Org, who: str) -> None:
    member = add_member(session, "王小明", member_no="VIP0023")
    actor = member_actor(member) if who == "member" else getattr(org, who)
    with pytest.raises(PermissionDenied):
        svc.lookup_member(session, actor, name="王小明", member_no="VIP0023", now=NOW)
    assert count(session, SecurityEvent) == 0


def test_repeated_failures_lock_the_clerk_for_ten_minutes(session: Session, org: Org) -> None:
    member = add_member(session, "王小明", member_no="VIP0023")
    for minute in range(5):
        assert svc.lookup_member(session, org.clerk, name="王小明", now=NOW + timedelta(minutes=minute)) is None
    locked_at = NOW + timedelta(minutes=4)
    assert count(session, SecurityEvent, SecurityEvent.kind == svc.LOOKUP_LOCKED) == 1
    # Even the right pair is refused while locked; other staff are not affected.
    with pytest.raises(RateLimited) as caught:
        svc.lookup_member(session, org.clerk, name="王小明", member_no="VIP0023", now=locked_at + timedelta(minutes=3))
    assert "7分钟" in caught.value.message
    assert svc.lookup_member(session, org.manager, name="王小明", member_no="VIP0023", now=locked_at) is member
    after = locked_at + timedelta(minutes=10)
    assert svc.lookup_member(session, org.clerk, name="王小明", member_no="VIP0023", now=after) is member
    # The failures before the lock do not count again: one more miss does not re-lock.
    assert svc.lookup_member(session, org.clerk, name="王小明", now=after) is None
    assert svc.lookup_member(session, org.clerk, name="王小明", member_no="VIP0023", now=after) is member


def test_failures_spread_out_do_not_lock(session: Session, org: Org) -> None:
    member = add_member(session, "王小明", member_no="VIP0023")
    for n in range(8):
        svc.lookup_member(session, org.clerk, name="王小明", now=NOW + timedelta(minutes=3 * n))
    assert count(session, SecurityEvent, SecurityEvent.kind == svc.LOOKUP_LOCKED) == 0
    later = NOW + timedelta(minutes=25)
    assert svc.lookup_member(session, org.clerk, name="王小明", member_no="VIP0023", now=later) is member


# --- points arithmetic, tiers, care message ------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "spent", "rounding", "amount", "expected"),
    [
        ("普通", "0", "floor", "1288", 1288),
        ("普通", "0", "floor", "99.99", 99),
        ("普通", "0", "round", "99.50", 100),
        ("银卡", "6000", "floor", "1288", 1545),  # 1545.6
        ("银卡", "6000", "round", "1288", 1546),
        ("金卡", "30000", "floor", "0.50", 0),
        ("金卡", "30000", "floor", "333.33", 499),  # 499.995
        ("金卡", "30000", "round", "333.33", 500),
    ],
)
def test_points_by_tier_and_rounding(
    session: Session, org: Org, tier: str, spent: str, rounding: str, amount: str, expected: int
) -> None:
    member = add_member(session, tier=tier, spent=spent)
    result = svc.record_purchase(
        session, org.clerk, member.member_no, amount, rules=config_with(rounding=rounding).rules, tz=TZ, now=NOW
    )
    assert result.earned == expected == result.purchase.points_earned
    assert member.points == expected == ledger_sum(session, member)
    assert member.total_spent == Decimal(spent) + Decimal(amount)
    assert result.purchase.store == "南京西路店" and result.purchase.clerk_id == org.clerk.staff_id
    rows = list(session.scalars(select(PointsLedger).where(PointsLedger.member_id == member.id)))
    assert [(r.delta, r.reason, r.expires_on) for r in rows] == ([(expected, "earn", date(2027, 12, 31))] if expected
                                                                 else [])


def test_promotion_multiplies_only_inside_its_dates_and_stores(session: Session, org: Org) -> None:
    config = config_with(promotions=[
        {"name": "双12", "start": "2026-12-10", "end": "2026-12-12", "multiplier": 2},
        {"name": "新店", "start": "2026-12-12", "end": "2026-12-12", "multiplier": 3, "stores": ["徐家汇店"]},
    ])
    member = add_member(session)
    before, first, last, after = (datetime(2026, 12, d, 23, 59, tzinfo=TZ) for d in (9, 10, 12, 13))
    earned = [svc.record_purchase(session, org.clerk, member.member_no, 100, rules=config.rules, tz=TZ, now=when).earned
              for when in (before, first, last, after)]
    assert earned == [100, 200, 200, 100]  # the 徐家汇店 promotion does not apply at 南京西路店
    # Local dates count: 2026-12-09 16:30 UTC is already the 10th in Shanghai.
    late = datetime(2026, 12, 9, 16, 30, tzinfo=UTC)
    assert svc.record_purchase(session, org.clerk, member.member_no, 100, rules=config.rules, tz=TZ, now=late).earned == 200
    assert member.points == ledger_sum(session, member) == 800


def test_tier_upgrade_and_care_message(session: Session, org: Org) -> None:
    member = add_member(session, "王小明", spent="4900", expires_at=date(2027, 3, 1))
    result = svc.record_purchase(session, org.clerk, member.member_no, "200", rules=CONFIG.rules, tz=TZ, now=NOW)
    assert result.earned == 200  # earned at the tier held before the purchase
    assert result.upgraded_to == "银卡" and member.tier == "银卡"
    care = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"purchase:{result.purchase.id}"))
    assert care is not None and care.recipient_member_id == member.id and care.recipient_staff_id is None
    assert "王小明" in care.text and "200" in care.text and "银卡" in care.text
    # Next purchase earns at the new rate; no second upgrade message.
    second = svc.record_purchase(session, org.clerk, member.member_no, "100", rules=CONFIG.rules, tz=TZ, now=NOW)
    assert second.earned == 120 and second.upgraded_to is None
    # A jump over two thresholds lands on the highest tier reached; tiers never go down.
    third = svc.record_purchase(session, org.clerk, member.member_no, "20000", rules=CONFIG.rules, tz=TZ, now=NOW)
    assert third.upgraded_to == "金卡" and third.earned == 24000
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "purchase.create").order_by(AuditLog.id))
    assert audit is not None and audit.before["tier"] == "普通" and audit.after["tier"] == "银卡"


def test_opted_out_member_gets_no_care_message(session: Session, org: Org) -> None:
    member = add_member(session, opted_out=True)
    svc.record_purchase(session, org.clerk, member.member_no, "500", rules=CONFIG.rules, tz=TZ, now=NOW)
    svc.redeem_points(session, org.clerk, member.member_no, 100, rules=CONFIG.rules, tz=TZ, now=NOW)
    assert count(session, OutboxMessage) == 0
    assert member.points == 400


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1000000.01", "NaN", "", True])
def test_bad_purchase_amount_refused_without_writes(session: Session, org: Org, amount: object) -> None:
    member = add_member(session)
    with pytest.raises(InvalidInput):
        svc.record_purchase(session, org.clerk, member.member_no, amount, rules=CONFIG.rules, tz=TZ, now=NOW)
    assert count(session, Purchase) == 0 and count(session, PointsLedger) == 0


def test_purchase_unknown_member_and_wrong_roles(session: Session, org: Org) -> None:
    member = add_member(session)
    with pytest.raises(NotFound):
        svc.record_purchase(session, org.clerk, "VIP9999", "10", rules=CONFIG.rules, tz=TZ, now=NOW)
    with pytest.raises(PermissionDenied):
        svc.record_purchase(session, org.rep_a, member.member_no, "10", rules=CONFIG.rules, tz=TZ, now=NOW)
    with pytest.raises(PermissionDenied):
        svc.record_purchase(session, member_actor(member), member.member_no, "10", rules=CONFIG.rules, tz=TZ, now=NOW)
    assert count(session, Purchase) == 0


# --- redemption and expiry -----------------------------------------------------------------------


def test_redemption_checks_the_balance(session: Session, org: Org) -> None:
    member = add_member(session)
    svc.record_purchase(session, org.clerk, member.member_no, "800", rules=CONFIG.rules, tz=TZ, now=NOW)
    with pytest.raises(InvalidInput) as caught:
        svc.redeem_points(session, org.clerk, member.member_no, 801, rules=CONFIG.rules, tz=TZ, now=NOW)
    assert "800" in caught.value.message
    for bad in (0, -5, "abc", 1.5, True):
        with pytest.raises(InvalidInput):
            svc.redeem_points(session, org.clerk, member.member_no, bad, rules=CONFIG.rules, tz=TZ, now=NOW)
    result = svc.redeem_points(session, org.clerk, member.member_no, 500, rules=CONFIG.rules, tz=TZ, now=NOW)
    assert result.yuan == Decimal("5.00") and result.ledger.delta == -500 and result.ledger.reason == "redeem"
    assert member.points == 300 == ledger_sum(session, member)
    care = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"redeem:{result.ledger.id}"))
    assert care is not None and "500" in care.text and "5元" in care.text


def test_expiry_fifo_and_idempotent(session: Session, org: Org) -> None:
    member = add_member(session)
    in_2025 = datetime(2025, 6, 1, 12, tzinfo=TZ)
    svc.record_purchase(session, org.clerk, member.member_no, "1000", rules=CONFIG.rules, tz=TZ, now=in_2025)  # expires 2026-12-31
    svc.redeem_points(session, org.clerk, member.member_no, 300, rules=CONFIG.rules, tz=TZ, now=in_2025 + timedelta(days=30))
    svc.record_purchase(session, org.clerk, member.member_no, "500", rules=CONFIG.rules, tz=TZ, now=NOW)  # expires 2027-12-31
    # Spending in 2026 uses the older lot first.
    svc.redeem_points(session, org.clerk, member.member_no, 200, rules=CONFIG.rules, tz=TZ, now=NOW)
    assert svc.expire_points(session, datetime(2026, 12, 31, 23, 0, tzinfo=TZ), tz=TZ) == 0
    new_year = datetime(2027, 1, 1, 0, 30, tzinfo=TZ)
    assert svc.expire_points(session, new_year, tz=TZ) == 1
    expired = session.scalar(select(PointsLedger).where(PointsLedger.reason == "expire"))
    assert expired is not None and expired.delta == -500 and expired.expires_on == date(2026, 12, 31)
    assert member.points == 500 == ledger_sum(session, member)
    assert svc.expire_points(session, new_year + timedelta(hours=5), tz=TZ) == 0
    assert svc.remaining_lots(session, member.id) == [(date(2027, 12, 31), 500)]
    assert svc.expire_points(session, datetime(2028, 1, 1, 9, tzinfo=TZ), tz=TZ) == 1
    assert member.points == 0 == ledger_sum(session, member)


def test_redemption_cannot_use_points_past_expiry_before_the_job_ran(session: Session, org: Org) -> None:
    member = add_member(session)
    svc.record_purchase(session, org.clerk, member.member_no, "1000", rules=CONFIG.rules, tz=TZ,
                        now=datetime(2025, 3, 1, 12, tzinfo=TZ))
    jan = datetime(2027, 1, 1, 9, tzinfo=TZ)
    savepoint = session.begin_nested()  # as the dialog engine runs a job
    with pytest.raises(InvalidInput) as caught:
        svc.redeem_points(session, org.clerk, member.member_no, 100, rules=CONFIG.rules, tz=TZ, now=jan)
    assert "当前可用0分" in caught.value.message
    savepoint.rollback()
    session.refresh(member)
    assert member.points == 1000 == ledger_sum(session, member)
    assert svc.expire_points(session, jan, tz=TZ) == 1
    assert member.points == 0 == ledger_sum(session, member)


def test_expire_after_years_zero(session: Session, org: Org) -> None:
    config = config_with(expire_after_years=0)
    member = add_member(session)
    svc.record_purchase(session, org.clerk, member.member_no, "100", rules=config.rules, tz=TZ, now=NOW)
    assert svc.remaining_lots(session, member.id) == [(date(2026, 12, 31), 100)]


# --- member self-service -------------------------------------------------------------------------


def test_points_summary_is_the_members_own(session: Session, org: Org) -> None:
    mine = add_member(session, "王小明", expires_at=date(2027, 5, 1))
    other = add_member(session, "李红")
    svc.record_purchase(session, org.clerk, mine.member_no, "300", rules=CONFIG.rules, tz=TZ, now=NOW - timedelta(days=400))
    svc.record_purchase(session, org.clerk, mine.member_no, "200", rules=CONFIG.rules, tz=TZ, now=NOW)
    svc.record_purchase(session, org.clerk, other.member_no, "999", rules=CONFIG.rules, tz=TZ, now=NOW)
    summary = svc.points_summary(session, member_actor(mine), tz=TZ, now=NOW)
    assert summary.member is mine and summary.points == 500 and summary.tier == "普通"
    assert (summary.next_expiring_points, summary.next_expiring_on) == (300, date(2026, 12, 31))
    assert summary.membership_expires == date(2027, 5, 1)
    for staff in (org.clerk, org.admin):
        with pytest.raises(PermissionDenied):
            svc.points_summary(session, staff, tz=TZ, now=NOW)


def test_unsubscribe_and_resubscribe(session: Session, org: Org) -> None:
    member = add_member(session)
    me = member_actor(member)
    assert svc.set_opt_out(session, me, True, now=NOW) is True
    assert svc.set_opt_out(session, me, True, now=NOW) is False
    svc.record_purchase(session, org.clerk, member.member_no, "100", rules=CONFIG.rules, tz=TZ, now=NOW)
    assert count(session, OutboxMessage) == 0
    assert svc.set_opt_out(session, me, False, now=NOW) is True
    svc.record_purchase(session, org.clerk, member.member_no, "100", rules=CONFIG.rules, tz=TZ, now=NOW)
    assert count(session, OutboxMessage) == 1
    assert [a.action for a in session.scalars(select(AuditLog).where(AuditLog.actor_member_id == member.id)
                                              .order_by(AuditLog.id))] == ["member.opt_out", "member.opt_in"]
    with pytest.raises(PermissionDenied):
        svc.set_opt_out(session, org.clerk, True, now=NOW)


# --- care templates and the scheduler's queries --------------------------------------------------


def test_render_care_and_template_validation(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    member = add_member(session, "王小明", expires_at=date(2026, 12, 27))
    member.points = 1234
    text = svc.render_care(CONFIG.rules.care, "membership_expiry", member, days=30)
    assert "王小明" in text and "2026年12月27日" in text and "30天" in text
    text = svc.render_care(CONFIG.rules.care, "points_expiry", member, expiring_points=300, points_expire_on=date(2026, 12, 31))
    assert "300积分" in text and "2026年12月31日" in text and "1234" in text
    with pytest.raises(InvalidInput):
        svc.render_care(CONFIG.rules.care, "nope", member)
    custom = Config.model_validate({"rules": {"care": {"templates": {"birthday": "{name}生日快乐"}}}})
    assert svc.render_care(custom.rules.care, "birthday", member) == "王小明生日快乐"
    assert "purchase" in custom.rules.care.templates  # defaults kept for kinds not overridden
    bad = tmp_path / "config.yml"
    bad.write_text("rules:\n  care:\n    templates:\n      birthday: '{name}{password}'\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(bad, environ={})


def test_scheduler_queries(session: Session, org: Org) -> None:
    day = date(2026, 12, 27)
    soon = add_member(session, "甲", expires_at=day, birthday=date(1990, 12, 27))
    add_member(session, "乙", expires_at=day, birthday=date(1990, 12, 27), opted_out=True)
    add_member(session, "丙", expires_at=day + timedelta(days=1), birthday=date(1990, 12, 28))
    leapling = add_member(session, "丁", birthday=date(1992, 2, 29))
    assert svc.members_expiring_on(session, day) == [soon]
    assert len(svc.members_expiring_on(session, day, include_opted_out=True)) == 2
    assert svc.members_with_birthday(session, day) == [soon]
    assert svc.members_with_birthday(session, date(2027, 2, 28)) == [leapling]
    assert svc.members_with_birthday(session, date(2028, 2, 28)) == []
    assert svc.members_with_birthday(session, date(2028, 2, 29)) == [leapling]

    svc.record_purchase(session, org.clerk, soon.member_no, "400", rules=CONFIG.rules, tz=TZ, now=NOW)  # expires 2027-12-31
    svc.record_purchase(session, org.clerk, leapling.member_no, "100", rules=CONFIG.rules, tz=TZ,
                        now=NOW - timedelta(days=365))  # expires 2026-12-31
    svc.redeem_points(session, org.clerk, leapling.member_no, 40, rules=CONFIG.rules, tz=TZ, now=NOW)
    found = svc.points_expiring_before(session, date(2026, 12, 31))
    assert [(f.member, f.points, f.expires_on) for f in found] == [(leapling, 60, date(2026, 12, 31))]
    assert {f.member.name: f.points for f in svc.points_expiring_before(session, date(2027, 12, 31))} == {
        "甲": 400, "丁": 60,
    }


# --- statistics ----------------------------------------------------------------------------------


def test_store_and_clerk_sales(session: Session, org: Org) -> None:
    member = add_member(session)
    svc.record_purchase(session, org.clerk, member.member_no, "100", rules=CONFIG.rules, tz=TZ, now=NOW)
    svc.record_purchase(session, org.clerk, member.member_no, "50.5", rules=CONFIG.rules, tz=TZ, now=NOW)
    svc.record_purchase(session, org.manager, member.member_no, "30", rules=CONFIG.rules, tz=TZ, now=NOW)  # no store
    svc.record_purchase(session, org.clerk, member.member_no, "999", rules=CONFIG.rules, tz=TZ, now=NOW - timedelta(days=40))
    start, end = datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ)
    stores = svc.store_sales(session, org.manager, start, end)
    assert [(s.store, s.purchases, s.amount, s.members) for s in stores] == [
        ("南京西路店", 2, Decimal("150.50"), 1), ("未指定门店", 1, Decimal("30.00"), 1),
    ]
    clerks = svc.clerk_sales(session, org.director, start, end, store="南京西路店")
    assert [(c.clerk, c.purchases, c.amount) for c in clerks] == [("周店员", 2, Decimal("150.50"))]
    for who in (org.clerk, org.rep_a):
        with pytest.raises(PermissionDenied):
            svc.store_sales(session, who, start, end)
    with pytest.raises(InvalidInput):
        svc.store_sales(session, org.manager, end, start)


# --- the ledger is the truth ---------------------------------------------------------------------

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.decimals(min_value="0.01", max_value="30000", places=2), st.integers(0, 200)),
        st.tuples(st.just("redeem"), st.integers(1, 6000), st.integers(0, 200)),
        st.tuples(st.just("expire"), st.just(0), st.integers(0, 400)),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, rounding=st.sampled_from(["floor", "round"]))
def test_ledger_always_equals_balance(session: Session, org: Org, operations: list, rounding: str) -> None:
    config = config_with(
        rounding=rounding,
        promotions=[{"name": "促销", "start": "2025-03-01", "end": "2025-03-31", "multiplier": 1.5}],
    )
    member = add_member(session)
    now = datetime(2024, 12, 1, 12, tzinfo=TZ)
    for kind, value, days in operations:
        now += timedelta(days=days)
        if kind == "buy":
            svc.record_purchase(session, org.clerk, member.member_no, value, rules=config.rules, tz=TZ, now=now)
        elif kind == "redeem":
            nested = session.begin_nested()
            try:
                svc.redeem_points(session, org.clerk, member.member_no, value, rules=config.rules, tz=TZ, now=now)
                nested.commit()
            except InvalidInput:
                nested.rollback()
        else:
            svc.expire_points(session, now, tz=config.tz)
        session.refresh(member)
        lots = svc.remaining_lots(session, member.id)
        assert member.points == ledger_sum(session, member) == sum(p for _, p in lots) >= 0
        if kind == "expire":
            assert all(day is None or day >= now.date() for day, _ in lots)
    spent = session.scalar(select(func.sum(Purchase.amount)).where(Purchase.member_id == member.id))
    assert member.total_spent == (spent or Decimal(0))
    assert member.tier == svc.tier_for_spent(config.rules.points, member.total_spent).name


# --- undo handlers (wired into crm_store.services.undo by the lead) ------------------------------


def _audit_row(session: Session, action: str) -> AuditLog:
    row = session.scalar(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id.desc()))
    assert row is not None
    return row


def test_undo_purchase_and_redemption(session: Session, org: Org) -> None:
    member = add_member(session, spent="4900")
    svc.record_purchase(session, org.clerk, member.member_no, "1000", rules=CONFIG.rules, tz=TZ, now=NOW)
    svc.record_purchase(session, org.clerk, member.member_no, "500", rules=CONFIG.rules, tz=TZ, now=NOW)  # 银卡 now: +600
    redeemed = svc.redeem_points(session, org.clerk, member.member_no, 1200, rules=CONFIG.rules, tz=TZ, now=NOW)
    assert member.points == 400 and member.tier == "银卡"
    assert "1200" in svc.undo_redeem(session, _audit_row(session, "points.redeem"), NOW)
    assert session.get(PointsLedger, redeemed.ledger.id) is None
    assert member.points == 1600 == ledger_sum(session, member)
    assert count(session, OutboxMessage, OutboxMessage.idempotency_key.like("redeem:%")) == 0
    assert "500元" in svc.undo_purchase(session, _audit_row(session, "purchase.create"), NOW)
    assert member.points == 1000 == ledger_sum(session, member)
    assert member.total_spent == Decimal("5900") and member.tier == "银卡"  # reached by the first purchase
    assert count(session, Purchase) == 1


def test_undo_purchase_restores_tier_and_refuses_when_points_spent(session: Session, org: Org) -> None:
    member = add_member(session, spent="4900")
    svc.record_purchase(session, org.clerk, member.member_no, "300", rules=CONFIG.rules, tz=TZ, now=NOW)
    assert member.tier == "银卡"
    row = _audit_row(session, "purchase.create")
    svc.redeem_points(session, org.clerk, member.member_no, 250, rules=CONFIG.rules, tz=TZ, now=NOW)
    with pytest.raises(InvalidInput):
        svc.undo_purchase(session, row, NOW)
    svc.undo_redeem(session, _audit_row(session, "points.redeem"), NOW)
    svc.undo_purchase(session, row, NOW)
    assert (member.points, member.tier, member.total_spent) == (0, "普通", Decimal("4900"))
    assert count(session, PointsLedger) == 0 and count(session, OutboxMessage) == 0


def test_points_rules_validation() -> None:
    with pytest.raises(ValueError):
        config_with(promotions=[{"name": "反了", "start": "2026-12-12", "end": "2026-12-10"}])
    with pytest.raises(ValueError):
        config_with(promotions=[{"name": "零倍", "start": "2026-12-10", "end": "2026-12-12", "multiplier": 0}])
    with pytest.raises(ValueError):
        config_with(tiers=[])
    shuffled = config_with(tiers=[{"name": "金卡", "min_spent": 20000, "points_per_yuan": 1.5},
                                  {"name": "普通", "min_spent": 0, "points_per_yuan": 1}])
    assert [t.name for t in shuffled.rules.points.tiers] == ["普通", "金卡"]
    assert svc.tier_for_spent(shuffled.rules.points, Decimal("19999.99")).name == "普通"
