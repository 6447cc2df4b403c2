"""Issue 15: hand-over moves sent-but-open reminders and revokes the leaver's shares; deactivation unbinds;
adding staff one by one and from a file. SQLite and PostgreSQL (the `session` / `demo_session` fixtures)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store.errors import InvalidInput, NotFound, PermissionDenied
from crm_store.models import AuditLog, BindingCode, ChatIdentity, CustomerShare, Reminder, Staff
from crm_store.services import (
    actor_for_staff,
    bind_identity,
    binding,
    customer_history,
    find_staff,
    handover,
    transfer_io,
)
from crm_store.services import staff as staff_service
from crm_store.services.customers import find_customers
from tests.crm_store.helpers import NOW, Org, add_customer, share


def _reminder(session: Session, owner_id: int, customer_id: int | None, status: str) -> Reminder:
    row = Reminder(staff_id=owner_id, customer_id=customer_id, due_at=NOW, text="回电话", status=status)
    session.add(row)
    session.flush()
    return row


def test_sent_but_open_reminders_move_done_ones_stay(session: Session, org: Org) -> None:
    customer = add_customer(session, "客户甲", org.rep_a)
    sent = _reminder(session, org.rep_a.staff_id, customer.id, "sent")
    pending = _reminder(session, org.rep_a.staff_id, customer.id, "pending")
    done = _reminder(session, org.rep_a.staff_id, customer.id, "done")
    plan = handover.plan_handover(session, org.manager, target_id=org.rep_b.staff_id, source_id=org.rep_a.staff_id)
    assert sorted(plan.reminder_ids) == sorted([sent.id, pending.id])
    handover.transfer_customers(session, org.manager, target_id=org.rep_b.staff_id, source_id=org.rep_a.staff_id,
                                now=NOW)
    session.commit()
    assert session.get(Reminder, sent.id).staff_id == org.rep_b.staff_id
    assert session.get(Reminder, sent.id).status == "sent"
    assert session.get(Reminder, pending.id).staff_id == org.rep_b.staff_id
    assert session.get(Reminder, done.id).staff_id == org.rep_a.staff_id  # history stays with who did it


def test_leaver_loses_shares_and_cannot_read_the_customers(session: Session, org: Org) -> None:
    own = add_customer(session, "自己的客户", org.rep_a)
    colleague = add_customer(session, "同事的客户", org.rep_b)
    share(session, colleague, org.rep_a)  # rep_a works on rep_b's account too
    share(session, own, org.rep_b)  # rep_b helps on rep_a's: a share the new owner no longer needs
    on_shared = _reminder(session, org.rep_a.staff_id, colleague.id, "sent")
    session.commit()
    assert find_customers(session, org.rep_a, "同事的客户")
    plan = handover.plan_handover(session, org.manager, target_id=org.rep_b.staff_id, source_id=org.rep_a.staff_id)
    assert plan.unshared_names == ["同事的客户"] and len(plan.share_ids) == 2
    assert plan.returned_reminder_ids == [on_shared.id] and on_shared.id not in plan.reminder_ids
    handover.transfer_customers(session, org.manager, target_id=org.rep_b.staff_id, source_id=org.rep_a.staff_id,
                                expected_ids=plan.customer_ids, now=NOW)
    session.commit()
    assert session.scalar(select(func.count()).select_from(CustomerShare)) == 0
    assert not find_customers(session, org.rep_a, "同事的客户")
    assert not find_customers(session, org.rep_a, "自己的客户")
    with pytest.raises(NotFound):  # the history (contacts, phones) is not readable either
        customer_history(session, org.rep_a, colleague.id)
    assert session.scalar(select(func.count()).where(AuditLog.action == "customer_share.revoke")) == 2
    assert session.get(Reminder, on_shared.id).staff_id == org.rep_b.staff_id  # back to the customer's owner


def test_moving_chosen_customers_keeps_the_owners_other_shares(session: Session, org: Org) -> None:
    first, second, kept = (add_customer(session, n, org.rep_a) for n in ("客户一", "客户二", "客户三"))
    colleague = add_customer(session, "同事的客户", org.rep_b)
    share(session, colleague, org.rep_a)
    share(session, kept, org.rep_c)
    handover.transfer_customers(session, org.director, target_id=org.rep_c.staff_id,
                                customer_ids=[first.id, second.id], now=NOW)
    session.commit()
    assert {c.name for c in find_customers(session, org.rep_c, "客户")} == {"客户一", "客户二", "客户三"}
    assert find_customers(session, org.rep_a, "同事的客户")  # rep_a is not leaving: the share stays
    assert session.get(type(kept), kept.id).owner_id == org.rep_a.staff_id


def test_deactivate_unbinds_revokes_and_hands_reminders_to_the_owner(session: Session, org: Org) -> None:
    colleague = add_customer(session, "同事的客户", org.rep_b)
    share(session, colleague, org.rep_a)
    on_shared = _reminder(session, org.rep_a.staff_id, colleague.id, "sent")
    personal = _reminder(session, org.rep_a.staff_id, None, "pending")
    bind_identity(session, "wecom", "zhangsan", staff_id=org.rep_a.staff_id, now=NOW)
    bind_identity(session, "telegram", "1001", staff_id=org.rep_a.staff_id, now=NOW)
    code = binding.create_invite(session, org.rep_a.staff_id, actor=None, now=NOW)
    session.commit()
    with pytest.raises(InvalidInput, match="不能停用自己"):
        handover.deactivate_staff(session, org.manager, org.manager.staff_id, NOW)

    plan = handover.deactivate_staff(session, org.manager, org.rep_a.staff_id, NOW)
    session.commit()
    assert plan.identities == ["wecom:zhangsan", "telegram:1001"] and plan.shares == 1
    assert find_staff(session, "张三").active is False
    assert session.scalar(select(func.count()).select_from(ChatIdentity)) == 0
    assert session.scalar(select(func.count()).select_from(CustomerShare)) == 0
    assert session.get(Reminder, on_shared.id).staff_id == org.rep_b.staff_id
    assert session.get(Reminder, personal.id).status == "cancelled"
    assert session.get(BindingCode, code.id).expires_at <= NOW
    assert session.scalar(select(func.count()).where(AuditLog.action == "identity.unbind")) == 2
    with pytest.raises(InvalidInput, match="已经停用"):
        handover.deactivate_staff(session, None, org.rep_a.staff_id, NOW)


def test_add_staff_validates_and_joins_the_managers_team(session: Session, org: Org) -> None:
    new = staff_service.add_staff(session, None, "刘洋", "rep", manager="陈经理", phone="138 0013 8000", now=NOW)
    session.commit()
    assert (new.role, new.team, new.manager_id, new.phone) == ("rep", "一组", org.manager.staff_id, "13800138000")
    assert actor_for_staff(session, new.id).role == "rep"
    boss = staff_service.add_staff(session, org.admin, "钱经理", "销售经理", manager="赵总监", team="三组", now=NOW)
    assert (boss.role, boss.team) == ("manager", "三组")
    with pytest.raises(InvalidInput) as error:
        staff_service.add_staff(session, None, "张三", "boss", manager="不存在", now=NOW)
    message = error.value.message
    assert "已有员工“张三”" in message and "角色“boss”无效" in message and "rep（销售）" in message
    assert "找不到上级“不存在”" in message and "陈经理" in message
    with pytest.raises(InvalidInput, match="“李四”是销售，不能做上级"):
        staff_service.add_staff(session, None, "新人", "rep", manager="李四", now=NOW)
    with pytest.raises(PermissionDenied):
        staff_service.add_staff(session, org.manager, "新人", "rep", now=NOW)
    assert session.scalar(select(func.count()).where(Staff.name == "新人")) == 0


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_import_staff_lists_every_row_error(session: Session, org: Org, tmp_path: Path) -> None:
    path = _write(tmp_path / "staff.csv", [
        ["姓名", "角色", "上级", "团队", "手机"],
        ["吴经理", "经理", "赵总监", "三组", ""],
        ["郑一", "销售", "吴经理", "", "13900001111"],  # a manager from an earlier line of the same file
        ["郑一", "rep", "陈经理", "", ""],  # duplicate within the file
        ["张三", "店长", "某某", "", "123"],  # existing name, bad role, unknown manager, bad phone
        ["", "rep", "", "", ""],
        ["冯二", "店员", "", "", ""],
    ])
    report = transfer_io.import_file(session, org.admin, "staff", path, now=NOW)
    session.commit()
    assert report.imported == 3 and [r.line for r in report.rejected] == [4, 5, 6]
    reasons = {r.line: r.reason for r in report.rejected}
    assert "已有员工“郑一”" in reasons[4]
    assert all(part in reasons[5] for part in ("已有员工“张三”", "角色“店长”无效", "找不到上级“某某”", "手机号“123”"))
    assert "请填写员工姓名" in reasons[6]
    wu, zheng = find_staff(session, "吴经理"), find_staff(session, "郑一")
    assert (wu.role, wu.manager_id, zheng.manager_id, zheng.team) == ("manager", org.director.staff_id, wu.id, "三组")
    assert find_staff(session, "冯二").role == "clerk"
    assert session.scalar(select(func.count()).where(AuditLog.action == "staff.create")) == 3
    with pytest.raises(PermissionDenied):
        transfer_io.import_file(session, org.manager, "staff", path, now=NOW)
