from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import transaction
from crm_store.errors import Ambiguous, InvalidInput, NotFound, PermissionDenied
from crm_store.models import (
    AuditLog,
    Contact,
    Customer,
    Opportunity,
    OpportunityStageChange,
    Product,
    Reminder,
    Visit,
)
from crm_store.services import (
    create_customer,
    create_reminder,
    customer_history,
    list_followups,
    log_visit,
    open_opportunities,
    update_opportunity,
)
from tests.crm_store.helpers import NOW, TZ, Org, add_customer, table_counts


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("start", "expected"),
    [("target", "prospect"), ("prospect", "prospect"), ("dormant", "prospect"), ("lost", "prospect"),
     ("opportunity", "opportunity"), ("customer", "customer")],
)
def test_log_visit_lifecycle(session: Session, org: Org, start: str, expected: str) -> None:
    customer = add_customer(session, "华为技术有限公司", org.rep_a, lifecycle=start)
    log_visit(session, org.rep_a, customer.id, summary="聊了门禁", visited_at=NOW, now=NOW)
    assert customer.lifecycle == expected


def test_log_visit_contact_reminder_audit(session: Session, org: Org) -> None:
    customer = create_customer(session, org.rep_a, "华为技术有限公司", contact_name="张伟", contact_title="总经理", now=NOW)
    earlier = NOW - timedelta(days=1)
    follow = NOW + timedelta(days=5)
    visit = log_visit(
        session, org.rep_a, customer.id, summary="  和张总聊了门禁系统，下周报价 ", visited_at=earlier,
        contact_name="张总", next_step="发报价单", next_followup_at=follow, now=NOW,
    )
    session.commit()
    assert visit.summary == "  和张总聊了门禁系统，下周报价 "  # kept as written
    assert visit.contact is not None and visit.contact.name == "张伟"
    assert count(session, Contact) == 1
    assert customer.last_contact_at == earlier.astimezone(UTC)
    assert customer.lifecycle == "prospect"
    reminder = session.scalar(select(Reminder))
    assert reminder is not None
    assert reminder.staff_id == org.rep_a.staff_id and reminder.visit_id == visit.id
    assert reminder.due_at == follow.astimezone(UTC) and reminder.status == "pending"
    assert reminder.text == "跟进华为技术有限公司 张伟：发报价单"
    row = session.scalar(select(AuditLog).where(AuditLog.action == "visit.create"))
    assert row is not None and row.entity_id == visit.id
    assert row.before == {"customer": {"lifecycle": "target", "last_contact_at": None}}
    assert row.after["reminder_id"] == reminder.id

    # an older visit does not move last_contact_at back; a new contact is created
    log_visit(session, org.rep_a, customer.id, summary="补记", visited_at=NOW - timedelta(days=10),
              contact_name="王芳", now=NOW)
    assert customer.last_contact_at == earlier.astimezone(UTC)
    assert count(session, Contact) == 2


def test_log_visit_rolls_back_with_the_transaction(factory: sessionmaker[Session], org: Org) -> None:
    with transaction(factory) as session:
        customer_id = add_customer(session, "华为技术有限公司", org.rep_a).id
    with factory() as session:
        before = table_counts(session)
    with pytest.raises(RuntimeError), transaction(factory) as session:
        log_visit(session, org.rep_a, customer_id, summary="拜访", visited_at=NOW, contact_name="张总",
                  next_step="回访", next_followup_at=NOW + timedelta(days=1), now=NOW)
        assert count(session, Visit) == 1 and count(session, AuditLog) >= 1
        raise RuntimeError("after the write")
    with factory() as session:
        assert table_counts(session) == before
        customer = session.get(Customer, customer_id)
        assert customer is not None and customer.lifecycle == "target" and customer.last_contact_at is None


def test_log_visit_rejects_naive_and_empty(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为", org.rep_a)
    with pytest.raises(InvalidInput):
        log_visit(session, org.rep_a, customer.id, summary="x", visited_at=datetime(2026, 11, 27, 10), now=NOW)
    with pytest.raises(InvalidInput):
        log_visit(session, org.rep_a, customer.id, summary="  ", visited_at=NOW, now=NOW)
    with pytest.raises(NotFound):
        log_visit(session, org.rep_a, 9999, summary="x", visited_at=NOW, now=NOW)


def test_clerk_cannot_log_visit(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为", org.rep_a)
    session.commit()
    before = table_counts(session)
    with pytest.raises(PermissionDenied):
        log_visit(session, org.clerk, customer.id, summary="x", visited_at=NOW, now=NOW)
    with pytest.raises(PermissionDenied):
        update_opportunity(session, org.rep_b, customer.id, stage="won", now=NOW)
    with pytest.raises(PermissionDenied):
        update_opportunity(session, org.other_manager, customer.id, stage="won", now=NOW)
    with pytest.raises(PermissionDenied):
        create_reminder(session, org.rep_c, due_at=NOW, text="x", customer_id=customer.id, now=NOW)
    session.commit()
    assert table_counts(session) == before


def test_opportunity_create_and_stage_history(session: Session, org: Org) -> None:
    session.add(Product(name="门禁系统", unit="套", unit_price=Decimal("28000"), aliases=["门禁"]))
    customer = add_customer(session, "万科物业", org.rep_a, lifecycle="prospect")
    opp = update_opportunity(session, org.rep_a, customer.id, product_name="门禁", amount=500000, now=NOW)
    assert opp.title == "门禁系统" and opp.stage == "initial" and opp.probability == 10
    assert opp.amount == Decimal("500000.00")
    assert customer.lifecycle == "opportunity"
    later = NOW + timedelta(hours=1)
    same = update_opportunity(session, org.rep_a, customer.id, stage="negotiation", now=later)
    assert same.id == opp.id and same.probability == 70
    update_opportunity(session, org.rep_a, customer.id, stage="proposal", probability=55, now=later)
    assert opp.probability == 55
    update_opportunity(session, org.rep_a, customer.id, amount="480000", now=later)  # no stage change
    history = session.scalars(
        select(OpportunityStageChange).where(OpportunityStageChange.opportunity_id == opp.id)
        .order_by(OpportunityStageChange.id)
    ).all()
    assert [(h.from_stage, h.to_stage) for h in history] == [
        (None, "initial"), ("initial", "negotiation"), ("negotiation", "proposal")
    ]
    won = update_opportunity(session, org.rep_a, customer.id, stage="won", now=later)
    assert won.closed_at == later.astimezone(UTC) and won.probability == 100
    assert customer.lifecycle == "customer"
    assert open_opportunities(session, org.rep_a, customer.id) == []
    session.commit()
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["opportunity.create"] + ["opportunity.update"] * 4
    items, total = customer_history(session, org.rep_a, customer.id)
    assert total == 4 and items[0].kind == "opportunity" and "赢单" in items[0].text


def test_opportunity_defaults_ambiguity_and_validation(session: Session, org: Org) -> None:
    customer = add_customer(session, "比亚迪", org.rep_a)
    first = update_opportunity(session, org.rep_a, customer.id, now=NOW)
    assert first.title == "比亚迪项目"
    second = update_opportunity(session, org.rep_a, customer.id, opportunity_id=None, title="二期", now=NOW)
    assert second.id == first.id  # one open opportunity: it is updated
    session.add(Opportunity(customer_id=customer.id, title="服务器", owner_id=org.rep_a.staff_id, stage="proposal"))
    session.flush()
    with pytest.raises(Ambiguous) as err:
        update_opportunity(session, org.rep_a, customer.id, stage="won", now=NOW)
    assert len(err.value.candidates) == 2
    updated = update_opportunity(session, org.rep_a, customer.id, opportunity_id=first.id, stage="lost", now=NOW)
    assert updated.closed_at is not None and customer.lifecycle == "opportunity"
    for kwargs in ({"stage": "done"}, {"probability": 120}, {"amount": "很多"}, {"amount": -5}):
        with pytest.raises(InvalidInput):
            update_opportunity(session, org.rep_a, customer.id, opportunity_id=first.id, now=NOW, **kwargs)
    with pytest.raises(NotFound):
        update_opportunity(session, org.rep_a, customer.id, opportunity_id=9999, now=NOW)


def test_create_reminder(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为", org.rep_a)
    reminder = create_reminder(session, org.rep_a, due_at=NOW + timedelta(days=1), text=" 打电话 ",
                               customer_id=customer.id, now=NOW)
    assert reminder.text == "打电话" and reminder.staff_id == org.rep_a.staff_id
    with pytest.raises(InvalidInput):
        create_reminder(session, org.rep_a, due_at=NOW, text="", now=NOW)
    assert session.scalar(select(AuditLog.action)) == "reminder.create"


def test_followups(session: Session, org: Org) -> None:
    day = timedelta(days=1)
    for offset, text, status in [
        (-2 * day, "两天前", "pending"), (-timedelta(hours=12), "昨晚", "sent"),
        (-timedelta(hours=1), "今早", "pending"), (timedelta(hours=5), "今天下午", "pending"),
        (timedelta(hours=14, minutes=30), "明天0点半", "pending"), (-3 * day, "已完成", "done"),
    ]:
        session.add(Reminder(staff_id=org.rep_a.staff_id, due_at=NOW + offset, text=text, status=status))
    session.add(Reminder(staff_id=org.rep_b.staff_id, due_at=NOW, text="别人的", status="pending"))
    old = NOW - timedelta(days=100)
    add_customer(session, "很久没联系", org.rep_a, created_at=old, last_contact_at=NOW - timedelta(days=45))
    add_customer(session, "从没联系", org.rep_a, created_at=old)
    add_customer(session, "刚联系", org.rep_a, created_at=old, last_contact_at=NOW - timedelta(days=3))
    add_customer(session, "正好30天", org.rep_a, created_at=old, last_contact_at=NOW - timedelta(days=30))
    add_customer(session, "流失了", org.rep_a, created_at=old, lifecycle="lost")
    add_customer(session, "别人的客户", org.rep_b, created_at=old)
    session.commit()
    result = list_followups(session, org.rep_a, now=NOW, tz=TZ)
    assert [r.text for r in result.today] == ["今早", "今天下午"]
    assert [r.text for r in result.overdue] == ["两天前", "昨晚"]
    assert [(c.name, d) for c, d in result.untouched] == [("从没联系", 100), ("很久没联系", 45), ("正好30天", 30)]
    assert list_followups(session, org.clerk, now=NOW, tz=TZ).untouched == []
    manager_view = list_followups(session, org.manager, now=NOW, tz=TZ, untouched_days=60)
    assert sorted(c.name for c, _ in manager_view.untouched) == ["从没联系", "别人的客户"]


def test_customer_history_paging(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为", org.rep_a)
    for i in range(7):
        log_visit(session, org.rep_a, customer.id, summary=f"第{i}次", visited_at=NOW - timedelta(days=10 - i),
                  now=NOW)
    update_opportunity(session, org.rep_a, customer.id, now=NOW - timedelta(days=5, hours=12))
    session.commit()
    page, total = customer_history(session, org.rep_a, customer.id, limit=5)
    assert total == 8
    assert [i.text for i in page] == ["拜访：第6次", "拜访：第5次", "商机「华为项目」：新建，初步接触", "拜访：第4次", "拜访：第3次"]
    rest, _ = customer_history(session, org.rep_a, customer.id, offset=5, limit=5)
    assert [i.text for i in rest] == ["拜访：第2次", "拜访：第1次", "拜访：第0次"]
    assert all(a.at >= b.at for a, b in zip(page + rest, (page + rest)[1:], strict=False))
    with pytest.raises(NotFound):
        customer_history(session, org.rep_c, customer.id)


def test_expected_close_and_dates(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为", org.rep_a)
    opp = update_opportunity(session, org.rep_a, customer.id, expected_close=date(2026, 12, 31), now=NOW)
    session.commit()
    session.expire_all()
    assert session.get(Opportunity, opp.id).expected_close == date(2026, 12, 31)  # type: ignore[union-attr]
