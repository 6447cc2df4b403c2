"""办卡 / 续卡 services (issue 15): checks before the preview, member numbers, periods, undo.

Every test runs on SQLite and PostgreSQL (the `session` fixture is parametrized over both).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store.errors import InvalidInput, NotFound, PermissionDenied
from crm_store.models import AuditLog, Member, Purchase
from crm_store.services import member_cards as cards
from crm_store.services import undo_last_write
from crmbot.config import Config
from tests.crm_store.helpers import NOW, TZ, Org
from tests.crm_store.test_members import add_member, count

RULES = Config().rules
TODAY = NOW.astimezone(TZ).date()


def register(session: Session, org: Org, name: str, phone: str, **kw: object) -> Member:
    return cards.register_member(session, org.clerk, name=name, phone=phone, rules=RULES, tz=TZ, now=NOW, **kw)


@pytest.mark.parametrize(("start", "months", "end"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 11, 27), 12, date(2027, 11, 27)),
    (date(2026, 12, 4), 6, date(2027, 6, 4)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
])
def test_add_months_keeps_the_day_or_takes_the_month_end(start: date, months: int, end: date) -> None:
    assert cards.add_months(start, months) == end


def test_new_card_gets_the_next_vip_number_a_year_and_an_audit_row(session: Session, org: Org) -> None:
    add_member(session, member_no="VIP0009")
    add_member(session, member_no="VIP0123")
    add_member(session, member_no="T00001")
    member = register(session, org, " 王 小丽 ", "139-1234-5678", tier="银卡", birthday=date(1990, 3, 5))
    assert (member.member_no, member.name, member.phone, member.tier) == ("VIP0124", "王小丽", "13912345678", "银卡")
    assert (member.joined_at, member.expires_at, member.store) == (TODAY, date(2027, 11, 27), "南京西路店")
    assert member.points == 0 and member.birthday == date(1990, 3, 5)
    row = session.scalar(select(AuditLog).where(AuditLog.action == "member.create"))
    assert row is not None and row.entity_id == member.id and row.actor_staff_id == org.clerk.staff_id
    assert register(session, org, "李美美", "13912340001", months=24).expires_at == date(2028, 11, 27)
    assert register(session, org, "赵一", "13912340002").member_no == "VIP0126"


def test_a_phone_that_is_already_a_members_is_refused_and_nothing_is_written(session: Session, org: Org) -> None:
    add_member(session, "段杰海", member_no="VIP0001", phone="18318471602")
    with pytest.raises(InvalidInput) as refused:
        cards.check_new_member(session, org.clerk, name="张三", phone="183 1847 1602", rules=RULES, tz=TZ, now=NOW)
    assert "段杰海" in refused.value.message and "VIP0001" in refused.value.message
    assert count(session, Member) == 1


@pytest.mark.parametrize(("kw", "needle"), [
    ({"name": "", "phone": "13912345678"}, "姓名"),
    ({"name": "王小丽123", "phone": "13912345678"}, "姓名"),
    ({"name": "王小丽", "phone": "12345"}, "手机"),
    ({"name": "王小丽", "phone": "021-12345678"}, "11位"),
    ({"name": "王小丽", "phone": "13912345678", "tier": "钻石卡"}, "普通、银卡、金卡"),
    ({"name": "王小丽", "phone": "13912345678", "birthday": date(2027, 1, 1)}, "生日"),
    ({"name": "王小丽", "phone": "13912345678", "months": 0}, "期限"),
    ({"name": "王小丽", "phone": "13912345678", "months": 121}, "期限"),
])
def test_bad_new_member_input_is_refused_with_the_reason(session: Session, org: Org, kw: dict, needle: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        cards.check_new_member(session, org.clerk, rules=RULES, tz=TZ, now=NOW, **kw)
    assert needle in refused.value.message


def test_only_store_staff_open_or_renew_cards(session: Session, org: Org) -> None:
    member = add_member(session, member_no="VIP0001", expires_at=TODAY)
    with pytest.raises(PermissionDenied):
        cards.register_member(session, org.rep_a, name="王小丽", phone="13912345678", rules=RULES, tz=TZ, now=NOW)
    with pytest.raises(PermissionDenied):
        cards.renew_member(session, org.rep_a, member.id, 12, tz=TZ, now=NOW)


def test_renewal_runs_on_from_the_end_date_or_from_today_when_expired(session: Session, org: Org) -> None:
    running = add_member(session, member_no="VIP0001", expires_at=date(2026, 12, 4))
    expired = add_member(session, member_no="VIP0002", expires_at=date(2025, 3, 1))
    never = add_member(session, member_no="VIP0003")
    assert cards.renew_member(session, org.clerk, running.id, 12, tz=TZ, now=NOW).new_expires == date(2027, 12, 4)
    assert cards.renew_member(session, org.clerk, expired.id, 6, tz=TZ, now=NOW).new_expires == date(2027, 5, 27)
    assert cards.renew_member(session, org.clerk, never.id, 12, tz=TZ, now=NOW).new_expires == date(2027, 11, 27)
    row = session.scalar(select(AuditLog).where(AuditLog.action == "member.renew", AuditLog.entity_id == running.id))
    assert row is not None and row.before == {"expires_at": "2026-12-04"} and row.after["months"] == 12
    with pytest.raises(NotFound):
        cards.renew_member(session, org.clerk, 999_999, 12, tz=TZ, now=NOW)


def test_undo_takes_back_a_renewal_and_an_unused_card(session: Session, org: Org) -> None:
    running = add_member(session, member_no="VIP0001", expires_at=date(2026, 12, 4))
    cards.renew_member(session, org.clerk, running.id, 12, tz=TZ, now=NOW)
    assert "2026年12月4日" in undo_last_write(session, org.clerk, now=NOW + timedelta(minutes=1), window_minutes=5)
    assert running.expires_at == date(2026, 12, 4)
    register(session, org, "王小丽", "13912345678")
    assert "王小丽" in undo_last_write(session, org.clerk, now=NOW + timedelta(minutes=2), window_minutes=5)
    assert count(session, Member, Member.phone == "13912345678") == 0


def test_a_card_already_used_cannot_be_undone(session: Session, org: Org) -> None:
    member = register(session, org, "王小丽", "13912345678")
    session.add(Purchase(member_id=member.id, clerk_id=org.clerk.staff_id, store="南京西路店", amount=100,
                         points_earned=0, purchased_at=NOW))
    session.flush()
    with pytest.raises(InvalidInput) as refused:
        undo_last_write(session, org.clerk, now=NOW + timedelta(minutes=1), window_minutes=5)
    assert member.member_no in refused.value.message
    assert count(session, Member, Member.id == member.id) == 1
