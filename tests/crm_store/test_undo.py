from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store.errors import InvalidInput, NotFound
from crm_store.models import AuditLog, Contact, Customer, OpportunityStageChange, Reminder
from crm_store.services import (
    create_customer,
    create_reminder,
    log_visit,
    undo_last_write,
    update_opportunity,
)
from tests.crm_store.helpers import NOW, Org, add_customer, table_counts

LATER = NOW + timedelta(minutes=2)


def test_undo_visit_restores_customer(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为技术有限公司", org.rep_a, lifecycle="dormant",
                            last_contact_at=NOW - timedelta(days=40))
    session.commit()
    before = table_counts(session)
    log_visit(session, org.rep_a, customer.id, summary="拜访", visited_at=NOW, contact_name="新联系人",
              next_step="报价", next_followup_at=NOW + timedelta(days=2), now=NOW)
    session.commit()
    assert customer.lifecycle == "prospect"
    message = undo_last_write(session, org.rep_a, now=LATER, window_minutes=5)
    session.commit()
    assert message == "已撤销：华为技术有限公司的拜访记录"
    assert customer.lifecycle == "dormant"
    assert customer.last_contact_at == (NOW - timedelta(days=40)).astimezone(UTC)
    after = table_counts(session)
    assert after.pop("audit_log") == before["audit_log"] + 3  # contact.create, visit.create, undo
    assert after == {k: v for k, v in before.items() if k != "audit_log"}
    with pytest.raises(NotFound) as err:
        undo_last_write(session, org.rep_a, now=LATER, window_minutes=5)
    assert err.value.message == "没有可以撤销的操作"


def test_undo_customer_create(session: Session, org: Org) -> None:
    create_customer(session, org.rep_a, "安信会计师事务所", aliases=["安信"], contact_name="刘明", now=NOW)
    session.commit()
    assert undo_last_write(session, org.rep_a, now=LATER, window_minutes=5) == "已撤销：新建客户安信会计师事务所"
    session.commit()
    assert session.scalar(select(Customer)) is None and session.scalar(select(Contact)) is None
    assert session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all() == ["customer.create", "undo"]


def test_undo_customer_in_use_is_refused(session: Session, org: Org) -> None:
    customer = create_customer(session, org.rep_a, "安信会计师事务所", now=NOW)
    session.add(Reminder(staff_id=org.rep_b.staff_id, customer_id=customer.id, due_at=NOW, text="x"))
    session.commit()
    with pytest.raises(InvalidInput):
        undo_last_write(session, org.rep_a, now=LATER, window_minutes=5)


def test_undo_opportunity_create_and_update(session: Session, org: Org) -> None:
    customer = add_customer(session, "万科物业", org.rep_a, lifecycle="prospect")
    opp = update_opportunity(session, org.rep_a, customer.id, amount=100000, now=NOW)
    update_opportunity(session, org.rep_a, customer.id, stage="won", amount=120000, now=NOW + timedelta(minutes=1))
    session.commit()
    assert customer.lifecycle == "customer" and opp.closed_at is not None
    assert undo_last_write(session, org.rep_a, now=LATER, window_minutes=5).startswith("已撤销：商机")
    session.commit()
    assert opp.stage == "initial" and opp.amount == Decimal("100000.00") and opp.probability == 10
    assert opp.closed_at is None and customer.lifecycle == "opportunity"
    changes = session.scalars(select(OpportunityStageChange.to_stage)).all()
    assert changes == ["initial"]
    with pytest.raises(NotFound):  # one level: the latest write is already undone
        undo_last_write(session, org.rep_a, now=LATER, window_minutes=5)


def test_undo_opportunity_create_deletes_it(session: Session, org: Org) -> None:
    customer = add_customer(session, "万科物业", org.rep_a, lifecycle="target")
    session.commit()
    before = table_counts(session)
    update_opportunity(session, org.rep_a, customer.id, stage="proposal", now=NOW)
    session.commit()
    assert customer.lifecycle == "opportunity"
    undo_last_write(session, org.rep_a, now=LATER, window_minutes=5)
    session.commit()
    assert customer.lifecycle == "target"
    after = table_counts(session)
    assert after.pop("audit_log") == 2
    assert after == {k: v for k, v in before.items() if k != "audit_log"}


def test_undo_reminder_cancels(session: Session, org: Org) -> None:
    reminder = create_reminder(session, org.rep_a, due_at=NOW + timedelta(days=1), text="打电话", now=NOW)
    session.commit()
    assert undo_last_write(session, org.rep_a, now=LATER, window_minutes=5) == "已撤销：提醒「打电话」"
    assert reminder.status == "cancelled"


def test_undo_window_and_actor(session: Session, org: Org) -> None:
    create_reminder(session, org.rep_a, due_at=NOW + timedelta(days=1), text="打电话", now=NOW)
    session.commit()
    before = table_counts(session)
    with pytest.raises(NotFound):
        undo_last_write(session, org.rep_a, now=NOW + timedelta(minutes=6), window_minutes=5)
    with pytest.raises(NotFound):  # someone else's write is not mine to undo
        undo_last_write(session, org.rep_b, now=LATER, window_minutes=5)
    with pytest.raises(NotFound):
        undo_last_write(session, org.clerk, now=LATER, window_minutes=5)
    assert table_counts(session) == before


def test_a_visit_closes_the_follow_up_it_answers_and_undo_reopens_it(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为技术有限公司", org.rep_a)
    other = add_customer(session, "万科物业", org.rep_a)
    due = Reminder(staff_id=org.rep_a.staff_id, customer_id=customer.id, due_at=NOW - timedelta(hours=1),
                   text="回访华为张总", status="sent")
    task = Reminder(staff_id=org.rep_a.staff_id, customer_id=customer.id, due_at=NOW - timedelta(days=1),
                    text="给华为准备合同", status="pending")
    later = Reminder(staff_id=org.rep_a.staff_id, customer_id=customer.id, due_at=NOW + timedelta(days=3),
                     text="下周再跟进", status="pending")
    elsewhere = Reminder(staff_id=org.rep_a.staff_id, customer_id=other.id, due_at=NOW - timedelta(hours=1),
                         text="联系万科", status="pending")
    session.add_all([due, task, later, elsewhere])
    session.commit()
    log_visit(session, org.rep_a, customer.id, summary="送了报价", visited_at=NOW, now=NOW)
    session.commit()
    assert (due.status, task.status, later.status, elsewhere.status) == ("done", "pending", "pending", "pending")
    undo_last_write(session, org.rep_a, now=LATER, window_minutes=5)
    session.commit()
    assert due.status == "sent"
