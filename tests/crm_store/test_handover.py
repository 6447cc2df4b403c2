"""Hand-over: preview counts, one transaction (a failure mid-way changes nothing), permissions, deactivation."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import transaction
from crm_store.errors import InvalidInput, PermissionDenied
from crm_store.models import AuditLog, Customer, Opportunity, Reminder, Staff
from crm_store.services import actor_for_staff, find_staff, handover
from tests.crm_store.helpers import NOW, Org, add_customer

OPEN = ("initial", "qualified", "proposal", "negotiation")


def _ids(session: Session) -> dict[str, int]:
    return {s.name: s.id for s in session.scalars(select(Staff))}


def _owners(session: Session) -> dict[str, dict[int, int]]:
    return {
        "customers": dict(session.execute(select(Customer.id, Customer.owner_id)).all()),
        "opportunities": dict(session.execute(select(Opportunity.id, Opportunity.owner_id)).all()),
        "reminders": dict(session.execute(select(Reminder.id, Reminder.staff_id)).all()),
    }


def test_hand_over_all_of_a_reps_customers(demo_session: Session) -> None:
    session = demo_session
    staff = _ids(session)
    zhang, li = staff["张伟"], staff["李娜"]
    manager = actor_for_staff(session, staff["陈静"])
    customers = set(session.scalars(select(Customer.id).where(Customer.owner_id == zhang)))
    opps = set(session.scalars(select(Opportunity.id).where(
        Opportunity.customer_id.in_(customers), Opportunity.owner_id == zhang, Opportunity.stage.in_(OPEN))))
    reminders = set(session.scalars(select(Reminder.id).where(
        Reminder.customer_id.in_(customers), Reminder.staff_id == zhang, Reminder.status == "pending")))
    closed = set(session.scalars(select(Opportunity.id).where(
        Opportunity.owner_id == zhang, Opportunity.stage.in_(("won", "lost")))))
    assert customers and opps and reminders

    plan = handover.plan_handover(session, manager, target_id=li, source_id=zhang)
    assert (set(plan.customer_ids), set(plan.opportunity_ids), set(plan.reminder_ids)) == (customers, opps, reminders)
    result = handover.transfer_customers(session, manager, target_id=li, source_id=zhang,
                                         expected_ids=plan.customer_ids, now=NOW)
    session.commit()

    assert session.scalar(select(func.count()).where(Customer.owner_id == zhang)) == 0
    assert set(session.scalars(select(Customer.id).where(Customer.id.in_(customers)))) == customers
    assert all(session.get(Customer, c).owner_id == li for c in customers)
    assert all(session.get(Opportunity, o).owner_id == li for o in opps)
    assert all(session.get(Reminder, r).staff_id == li for r in reminders)
    assert all(session.get(Opportunity, o).owner_id == zhang for o in closed)  # won/lost stay credited to 张伟
    actions = dict(session.execute(
        select(AuditLog.action, func.count()).where(AuditLog.actor_staff_id == manager.staff_id).group_by(AuditLog.action)
    ).all())
    assert actions == {"customer.transfer": len(customers), "opportunity.transfer": len(opps),
                       "reminder.transfer": len(reminders), "customers.handover": 1,
                       "customer_share.revoke": 1}  # 李娜's share of 华为: she owns it now
    assert result.notice.startswith(f"陈静把{len(customers)}个客户转给您跟进（原负责人：张伟）")
    assert "【华为技术有限公司】" in result.notice and "拜访" in result.notice


@pytest.mark.parametrize("fail_at", [1, 15, 30])
def test_failure_mid_way_changes_nothing(factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch,
                                         fail_at: int) -> None:
    """Runs on SQLite and PostgreSQL: the audit write number `fail_at` fails after owners already changed."""
    from crm_store.demo import seed_demo

    with transaction(factory) as session:
        seed_demo(session, now=NOW)
    with factory() as session:
        before = _owners(session)
        staff = _ids(session)
    calls = {"n": 0}
    real_audit = handover.audit

    def failing_audit(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise RuntimeError("disk full")
        return real_audit(*args, **kwargs)

    monkeypatch.setattr(handover, "audit", failing_audit)
    with pytest.raises(RuntimeError), transaction(factory) as session:
        manager = actor_for_staff(session, staff["陈静"])
        handover.transfer_customers(session, manager, target_id=staff["李娜"], source_id=staff["张伟"], now=NOW)
    assert calls["n"] == fail_at
    with factory() as session:
        assert _owners(session) == before
        assert session.scalar(select(func.count()).where(AuditLog.action.like("%.transfer"))) == 0


def test_permissions(session: Session, org: Org) -> None:
    mine = add_customer(session, "一组客户", org.rep_a)
    theirs = add_customer(session, "二组客户", org.rep_c)
    session.commit()
    with pytest.raises(PermissionDenied):  # a rep cannot hand over
        handover.plan_handover(session, org.rep_a, target_id=org.rep_b.staff_id, source_id=org.rep_a.staff_id)
    with pytest.raises(PermissionDenied):  # another team's customer
        handover.transfer_customers(session, org.manager, target_id=org.rep_a.staff_id, customer_ids=[theirs.id],
                                    now=NOW)
    with pytest.raises(PermissionDenied):  # another team's rep as the target
        handover.transfer_customers(session, org.manager, target_id=org.rep_c.staff_id, customer_ids=[mine.id], now=NOW)
    with pytest.raises(InvalidInput):  # a clerk owns no customers
        handover.plan_handover(session, org.admin, target_id=org.clerk.staff_id, customer_ids=[mine.id])
    with pytest.raises(InvalidInput):  # already theirs
        handover.plan_handover(session, org.manager, target_id=org.rep_a.staff_id, customer_ids=[mine.id])
    assert session.get(Customer, theirs.id).owner_id == org.rep_c.staff_id
    # The other manager and the director can.
    handover.transfer_customers(session, org.director, target_id=org.rep_b.staff_id, customer_ids=[mine.id, theirs.id],
                                now=NOW)
    assert {session.get(Customer, c).owner_id for c in (mine.id, theirs.id)} == {org.rep_b.staff_id}


def test_preview_changed_before_confirm_is_refused(session: Session, org: Org) -> None:
    first = add_customer(session, "客户甲", org.rep_a)
    plan = handover.plan_handover(session, org.manager, target_id=org.rep_b.staff_id, source_id=org.rep_a.staff_id)
    add_customer(session, "客户乙", org.rep_a)  # arrives between preview and confirmation
    with pytest.raises(InvalidInput):
        handover.transfer_customers(session, org.manager, target_id=org.rep_b.staff_id, source_id=org.rep_a.staff_id,
                                    expected_ids=plan.customer_ids, now=NOW)
    assert session.get(Customer, first.id).owner_id == org.rep_a.staff_id


def test_deactivate_refuses_while_owning_customers(session: Session, org: Org) -> None:
    customer = add_customer(session, "客户丙", org.rep_a)
    with pytest.raises(InvalidInput, match="名下还有1个客户"):
        handover.deactivate_staff(session, org.admin, org.rep_a.staff_id, NOW)
    with pytest.raises(PermissionDenied):
        handover.deactivate_staff(session, org.rep_b, org.rep_a.staff_id, NOW)
    with pytest.raises(PermissionDenied):
        handover.deactivate_staff(session, org.other_manager, org.rep_a.staff_id, NOW)
    handover.transfer_customers(session, org.manager, target_id=org.rep_b.staff_id, customer_ids=[customer.id], now=NOW)
    handover.deactivate_staff(session, org.manager, org.rep_a.staff_id, NOW)
    assert session.get(Staff, org.rep_a.staff_id).active is False
    with pytest.raises(InvalidInput):  # nobody hands customers to an inactive account
        handover.plan_handover(session, org.manager, target_id=org.rep_a.staff_id, customer_ids=[customer.id])
    assert find_staff(session, "张三").active is False
