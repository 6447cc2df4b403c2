"""The counter preview (issue 15): what a purchase and the points spent with it would do, checked before 确认;
a purchase and its redemption undone together.

Every test runs on SQLite and PostgreSQL (the `session` fixture is parametrized over both).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store.errors import NotFound
from crm_store.models import Member, PointsLedger, Purchase, SecurityEvent
from crm_store.services import members as svc
from crm_store.services import undo_last_write
from crmbot.config import Config
from tests.crm_store.helpers import NOW, TZ, Org
from tests.crm_store.test_members import add_member, count

RULES = Config().rules


def give_points(session: Session, member_id: int, points: int, expires_on: date | None) -> None:
    member = session.get(Member, member_id)
    assert member is not None
    session.add(PointsLedger(member_id=member_id, delta=points, reason="earn", expires_on=expires_on, created_at=NOW))
    member.points += points
    session.flush()


def preview(session: Session, org: Org, member_no: str, **kw: object) -> svc.CounterPreview:
    kw.setdefault("amount", None)
    kw.setdefault("redeem", None)
    return svc.preview_counter(session, org.clerk, member_no, rules=RULES, tz=TZ, now=NOW, **kw)


def test_preview_counts_only_unexpired_points_and_writes_nothing(session: Session, org: Org) -> None:
    member = add_member(session, member_no="VIP0001", spent="6000", tier="银卡")
    give_points(session, member.id, 300, date(2025, 12, 31))  # past its expiry: not usable any more
    give_points(session, member.id, 1000, date(2027, 12, 31))
    result = preview(session, org, "vip0001", amount="688", redeem=800)
    assert (result.name, result.available, result.redeem, result.redeem_yuan) == ("王小明", 1000, 800, Decimal("8.00"))
    assert result.earned == 825  # 688 × 1.2 at 银卡, floor
    with pytest.raises(svc.PointsRefused) as refused:
        preview(session, org, "VIP0001", amount="688", redeem=1001)
    assert "1000" in refused.value.message and "1001" in refused.value.message
    assert count(session, PointsLedger, PointsLedger.reason != "earn") == 0
    assert count(session, Purchase) == 0


def test_points_pay_for_at_most_the_purchase(session: Session, org: Org) -> None:
    member = add_member(session, member_no="VIP0001")
    give_points(session, member.id, 5021, date(2027, 12, 31))
    assert preview(session, org, "VIP0001", amount="50", redeem_all=True).redeem == 5000
    assert preview(session, org, "VIP0001", redeem_all=True).redeem == 5021  # points only: all of them
    with pytest.raises(svc.PointsRefused):
        preview(session, org, "VIP0001", amount="20", redeem=3000)


def test_an_unknown_number_at_the_counter_is_a_failed_look_up(session: Session, org: Org) -> None:
    with pytest.raises(NotFound):
        preview(session, org, "VIP9999", amount="100")
    kinds = list(session.scalars(select(SecurityEvent.kind)))
    assert kinds == [svc.LOOKUP_FAILED]


def test_undo_takes_back_a_purchase_and_the_points_spent_on_it(session: Session, org: Org) -> None:
    member = add_member(session, member_no="VIP0001")
    give_points(session, member.id, 2000, date(2027, 12, 31))
    spent = svc.redeem_points(session, org.clerk, "VIP0001", 1000, rules=RULES, tz=TZ, now=NOW)
    svc.record_purchase(session, org.clerk, "VIP0001", "300", rules=RULES, tz=TZ, now=NOW, redeemed=spent)
    assert member.points == 1300
    done = undo_last_write(session, org.clerk, now=NOW + timedelta(minutes=1), window_minutes=5)
    assert "300元" in done and "1000分" in done
    assert member.points == 2000 and member.points == svc.ledger_balance(session, member.id)
    assert count(session, Purchase) == 0 and count(session, PointsLedger, PointsLedger.reason == "redeem") == 0
