"""Editing and deleting a saved visit or reminder (issue 15): who may, what follows, audit and undo."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store.errors import NotFound, PermissionDenied
from crm_store.models import AuditLog, Reminder, Visit
from crm_store.services import create_reminder, log_visit, undo_last_write
from crm_store.services.edits import delete_reminder, delete_visit, edit_reminder, edit_visit, recent_visits
from tests.crm_store.helpers import NOW, Org, add_customer, share

LATER = NOW + timedelta(minutes=30)


def _visit(session: Session, org: Org) -> Visit:
    customer = add_customer(session, "华为技术有限公司", org.rep_a)
    visit = log_visit(session, org.rep_a, customer.id, summary="聊了新项目", visited_at=NOW, contact_name="张总",
                      next_step="报价", next_followup_at=NOW + timedelta(days=5), now=NOW)
    session.commit()
    return visit


def _audits(session: Session, action: str) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_only_the_author_or_their_managers_may_edit_a_visit(session: Session, org: Org) -> None:
    visit = _visit(session, org)
    share(session, visit.customer, org.rep_b)  # rep_b sees the customer, but did not write the visit
    with pytest.raises(PermissionDenied):
        edit_visit(session, org.rep_b, visit.id, summary="改过", now=LATER)
    with pytest.raises((PermissionDenied, NotFound)):
        delete_visit(session, org.rep_c, visit.id, now=LATER)
    with pytest.raises((PermissionDenied, NotFound)):
        edit_visit(session, org.other_manager, visit.id, summary="改过", now=LATER)
    session.rollback()
    edit_visit(session, org.manager, visit.id, summary="经理改的", now=LATER)
    session.commit()
    assert session.get(Visit, visit.id).summary == "经理改的"
    [row] = _audits(session, "visit.update")
    assert row.actor_staff_id == org.manager.staff_id and row.before["summary"] == "聊了新项目"
    assert recent_visits(session, org.rep_b) == []  # 刚才那条 never finds someone else's visit


def test_moving_the_followup_moves_its_reminder_and_undo_puts_it_back(session: Session, org: Org) -> None:
    visit = _visit(session, org)
    new_time = NOW + timedelta(days=7, hours=4)
    edit_visit(session, org.rep_a, visit.id, next_followup_at=new_time, next_step="发正式报价", now=LATER)
    session.commit()
    [reminder] = session.scalars(select(Reminder).where(Reminder.visit_id == visit.id)).all()
    assert reminder.due_at == new_time.astimezone(UTC)
    assert reminder.text == "跟进华为技术有限公司 张总：发正式报价"
    assert undo_last_write(session, org.rep_a, now=LATER + timedelta(minutes=1), window_minutes=5).startswith("已撤销")
    session.commit()
    assert reminder.due_at == (NOW + timedelta(days=5)).astimezone(UTC) and reminder.text.endswith("：报价")
    assert session.get(Visit, visit.id).next_step == "报价"


def test_deleting_a_visit_cancels_its_reminder_and_undo_brings_both_back(session: Session, org: Org) -> None:
    visit = _visit(session, org)
    visit_id = visit.id
    assert delete_visit(session, org.rep_a, visit_id, now=LATER) == "华为技术有限公司"
    session.commit()
    assert session.get(Visit, visit_id) is None
    reminder = session.scalars(select(Reminder)).one()
    assert reminder.status == "cancelled"
    assert len(_audits(session, "visit.delete")) == 1
    undo_last_write(session, org.rep_a, now=LATER + timedelta(minutes=1), window_minutes=5)
    session.commit()
    restored = session.get(Visit, visit_id)
    assert restored is not None and restored.summary == "聊了新项目"
    assert reminder.status == "pending" and reminder.visit_id == visit_id


def test_reminders_are_changed_only_by_their_owner(session: Session, org: Org) -> None:
    reminder = create_reminder(session, org.rep_a, due_at=NOW + timedelta(days=2), text="给林总发合同", now=NOW)
    session.commit()
    with pytest.raises(PermissionDenied):
        delete_reminder(session, org.manager, reminder.id, now=LATER)
    with pytest.raises(PermissionDenied):
        edit_reminder(session, org.rep_b, reminder.id, text="别人改的", now=LATER)
    session.rollback()
    edit_reminder(session, org.rep_a, reminder.id, due_at=NOW + timedelta(days=1), now=LATER)
    delete_reminder(session, org.rep_a, reminder.id, now=LATER)
    session.commit()
    assert reminder.status == "cancelled" and reminder.due_at == (NOW + timedelta(days=1)).astimezone(UTC)
    assert [len(_audits(session, a)) for a in ("reminder.update", "reminder.delete")] == [1, 1]
    with pytest.raises(NotFound):  # a cancelled reminder is not edited again
        edit_reminder(session, org.rep_a, reminder.id, text="再改", now=LATER)


def test_moving_the_last_visit_back_moves_the_last_contact_with_it(session: Session, org: Org) -> None:
    visit = _visit(session, org)
    customer = visit.customer
    assert customer.last_contact_at == NOW.astimezone(UTC)
    edit_visit(session, org.rep_a, visit.id, visited_at=NOW - timedelta(days=2), now=LATER)
    session.commit()
    assert customer.last_contact_at == (NOW - timedelta(days=2)).astimezone(UTC)
    undo_last_write(session, org.rep_a, now=LATER + timedelta(minutes=1), window_minutes=5)
    session.commit()
    assert customer.last_contact_at == NOW.astimezone(UTC)
    delete_visit(session, org.rep_a, visit.id, now=LATER)
    session.commit()
    assert customer.last_contact_at is None  # no visit left
