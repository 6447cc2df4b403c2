"""The rep's follow-up loop in the store (issue 15): reminders by range, the one a visit answers, closing them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store.errors import InvalidInput, NotFound
from crm_store.models import AuditLog, Reminder
from crm_store.services import (
    close_reminders,
    log_visit,
    open_reminders,
    reminder_answered_by_visit,
    undo_last_write,
)
from tests.crm_store.helpers import NOW, Org, add_customer


def _reminder(session: Session, org_actor, customer_id, hours: float, text: str, status: str = "pending") -> Reminder:  # type: ignore[no-untyped-def]
    row = Reminder(staff_id=org_actor.staff_id, customer_id=customer_id, due_at=NOW + timedelta(hours=hours),
                   text=text, status=status)
    session.add(row)
    session.flush()
    return row


def test_open_reminders_in_a_range_are_the_actors_open_ones_by_due_time(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为技术有限公司", org.rep_a)
    tomorrow = _reminder(session, org.rep_a, customer.id, 24, "明天的")
    _reminder(session, org.rep_a, customer.id, 25, "明天但已完成", status="done")
    next_week = _reminder(session, org.rep_a, customer.id, 24 * 7, "下周的")
    sent = _reminder(session, org.rep_a, customer.id, -30, "昨天发过提醒还没办", status="sent")
    _reminder(session, org.rep_b, customer.id, 24, "别人的")
    assert open_reminders(session, org.rep_a) == [sent, tomorrow, next_week]
    day = NOW.replace(hour=0) + timedelta(days=1)
    assert open_reminders(session, org.rep_a, start=day, end=day + timedelta(days=1)) == [tomorrow]
    assert open_reminders(session, org.rep_a, end=NOW.replace(hour=0)) == [sent]


def test_a_visit_answers_the_due_follow_up_of_that_customer_only(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为技术有限公司", org.rep_a)
    other = add_customer(session, "万科物业", org.rep_a)
    contract = _reminder(session, org.rep_a, customer.id, -24, "准备合同")
    later_today = _reminder(session, org.rep_a, customer.id, 5, "约张总见面")
    older = _reminder(session, org.rep_a, customer.id, -48, "回访华为张总")
    _reminder(session, org.rep_a, customer.id, 48, "后天再跟进")
    _reminder(session, org.rep_a, other.id, -1, "联系万科")
    assert reminder_answered_by_visit(session, org.rep_a, customer.id, NOW) == older  # the oldest follow-up
    log_visit(session, org.rep_a, customer.id, summary="聊了合同", visited_at=NOW, now=NOW)
    assert (older.status, later_today.status, contract.status) == ("done", "pending", "pending")
    assert reminder_answered_by_visit(session, org.rep_a, customer.id, NOW) == later_today
    # a task is never answered by a visit, and a follow-up for a later day is left for that day
    later_today.status = "done"
    assert reminder_answered_by_visit(session, org.rep_a, customer.id, NOW) is None


def test_a_visits_own_next_step_is_a_follow_up_whatever_its_words(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为技术有限公司", org.rep_a)
    first = log_visit(session, org.rep_a, customer.id, summary="第一次", visited_at=NOW - timedelta(days=3),
                      next_step="发报价单", next_followup_at=NOW - timedelta(hours=2), now=NOW - timedelta(days=3))
    step = session.scalar(select(Reminder).where(Reminder.visit_id == first.id))
    assert step is not None and reminder_answered_by_visit(session, org.rep_a, customer.id, NOW) == step


def test_close_reminders_one_audit_row_and_one_undo(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为技术有限公司", org.rep_a)
    a = _reminder(session, org.rep_a, customer.id, -3, "发报价", status="sent")
    b = _reminder(session, org.rep_a, customer.id, 3, "回访")
    close_reminders(session, org.rep_a, [a.id, b.id], status="done", now=NOW)
    assert (a.status, b.status) == ("done", "done")
    row = session.scalar(select(AuditLog).where(AuditLog.action == "reminder.done"))
    assert row is not None and row.before == {"statuses": {str(a.id): "sent", str(b.id): "pending"}}
    undo_last_write(session, org.rep_a, now=NOW + timedelta(minutes=1), window_minutes=5)
    assert (a.status, b.status) == ("sent", "pending")


def test_close_reminders_refuses_others_and_closed_ones(session: Session, org: Org) -> None:
    customer = add_customer(session, "华为技术有限公司", org.rep_a)
    mine = _reminder(session, org.rep_a, customer.id, 3, "回访")
    theirs = _reminder(session, org.rep_b, customer.id, 3, "别人的")
    with pytest.raises(NotFound):
        close_reminders(session, org.rep_a, [theirs.id], status="cancelled", now=NOW)
    close_reminders(session, org.rep_a, [mine.id], status="cancelled", now=NOW)
    assert mine.status == "cancelled" and theirs.status == "pending"
    with pytest.raises(InvalidInput):
        close_reminders(session, org.rep_a, [mine.id], status="done", now=NOW)
    with pytest.raises(InvalidInput):
        close_reminders(session, org.rep_a, [theirs.id], status="sent", now=NOW)
