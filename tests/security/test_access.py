"""Who may see and change what: unknown accounts, reps and other reps' customers, clerks and members,
approvers and their own orders. Dialog tests go through the real NLU; service tests run on both backends."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_store.db import transaction
from crm_store.errors import NotFound, PermissionDenied
from crm_store.models import ApprovalStep, Customer, Member, Order, Staff
from crm_store.services import (
    actor_for_staff,
    approvals,
    create_reminder,
    customer_history,
    find_customers,
    get_customer,
    log_visit,
    members,
    orders,
    update_opportunity,
)
from crmbot.config import Config
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from dialogs import messages as DM
from tests.crm_store.helpers import NOW
from tests.dialogs.harness import bind_console_member
from tests.security.conftest import DEMO_NOW, changed, counts, foreign_customer, say

# --- unknown and unbound identities -------------------------------------------------------------

PROBES = ["查一下华为", "华为的电话是多少", "我的待办", "待审批", "同意", "VIP0001的积分", "本周销售报表",
          "'; DROP TABLE customer; --", "<script>alert(1)</script>", "帮助", "撤销", "确认", "转给王强"]


@pytest.mark.parametrize("text", PROBES)
def test_unknown_identity_gets_only_the_binding_prompt(staff_dialogs: DialogEngine, runtime: Runtime,
                                                        text: str) -> None:
    before = counts(runtime)
    replies = staff_dialogs.handle("wechat", "o-stranger", text, message_id=f"m-{hash(text)}")
    assert [r.text for r in replies] == [DM.UNKNOWN_USER]
    assert all(r.to_staff_id is None and r.to_member_id is None for r in replies)
    assert changed(before, counts(runtime)) == {"processed_message": 1}  # the dedup mark only


def test_unbinding_ends_access_and_drops_the_half_filled_form(staff_dialogs: DialogEngine, runtime: Runtime) -> None:
    assert "确认" in say(staff_dialogs, "张伟", "今天下午拜访了华为张总，聊了报价")
    assert say(staff_dialogs, "张伟", "解绑") == DM.UNBIND_OK
    before = counts(runtime)
    for text in ("确认", "查一下华为"):
        assert say(staff_dialogs, "张伟", text) == DM.UNKNOWN_USER
    assert counts(runtime) == before
    # Whoever binds this chat account next does not inherit the old owner's half-filled form.
    from crm_store.services import bind_identity, find_staff

    with transaction(runtime.factory) as session:
        other = find_staff(session, "李娜")
        assert other is not None
        bind_identity(session, "console", "张伟", staff_id=other.id, now=DEMO_NOW)
    before = counts(runtime)
    assert "已记录" not in say(staff_dialogs, "张伟", "确认")
    assert changed(before, counts(runtime)).keys() <= {"conversation_state"}


def test_deactivated_staff_is_refused_clearly(staff_dialogs: DialogEngine, runtime: Runtime) -> None:
    with transaction(runtime.factory) as session:
        session.execute(update(Staff).where(Staff.name == "王强").values(active=False))
    before = counts(runtime)
    answer = say(staff_dialogs, "王强", "查一下长城汽车")
    assert answer == "该员工账号已停用。"  # not the internal-error apology
    assert counts(runtime) == before


def test_member_cannot_use_staff_jobs(staff_dialogs: DialogEngine, runtime: Runtime) -> None:
    speaker = bind_console_member(runtime, "VIP0002", DEMO_NOW)
    before = counts(runtime)
    for text in ("查一下华为", "今天拜访了华为张总", "查会员 VIP0001", "待审批", "同意 SO20261127001"):
        answer = say(staff_dialogs, speaker, text)
        assert "华为技术有限公司" not in answer and "SO2026" not in answer
    assert changed(before, counts(runtime)).keys() <= {"conversation_state"}


# --- a rep and another rep's customer ------------------------------------------------------------

def test_rep_cannot_reach_another_reps_customer_through_any_dialog(staff_dialogs: DialogEngine,
                                                                    runtime: Runtime) -> None:
    hidden = foreign_customer(runtime, reader="张伟", owner="李娜")
    name = hidden.name
    messages = [
        f"查一下{name}", f"{name}的电话是多少", f"{name}的联系人", f"{name}最近怎么样", f"{name}的历史记录",
        f"{name}的商机推进到谈判阶段", "确认", f"给{name}下单 服务器2台", "确认",
        f"今天下午拜访了{name}王总，聊了报价", "确认", f"把{name}转给王强", "确认", "更多",
    ]
    before = counts(runtime)
    for text in messages:
        answer = say(staff_dialogs, "张伟", text)
        leaked = [s for s in hidden.secrets if s and s in answer]
        assert not leaked, f"{text!r} leaked {leaked}: {answer}"
        assert "负责人：李娜" not in answer and "已记录" not in answer and "已提交" not in answer
    diff = changed(before, counts(runtime))
    assert diff.keys() <= {"conversation_state"}, diff


@pytest.fixture
def zhang(demo_session: Session):  # type: ignore[no-untyped-def]
    staff_id = demo_session.scalar(select(Staff.id).where(Staff.name == "张伟"))
    return actor_for_staff(demo_session, staff_id, "console", "sec-1")


def _hidden_id(session: Session, reader: str, owner: str) -> int:
    from crm_store.models import CustomerShare

    reader_id = session.scalar(select(Staff.id).where(Staff.name == reader))
    owner_id = session.scalar(select(Staff.id).where(Staff.name == owner))
    shared = select(CustomerShare.customer_id).where(CustomerShare.staff_id == reader_id)
    found = session.scalar(select(Customer.id).where(Customer.owner_id == owner_id, Customer.id.not_in(shared))
                           .order_by(Customer.id).limit(1))
    assert found is not None
    return found


def test_rep_cannot_reach_another_reps_customer_in_the_services(demo_session: Session, zhang) -> None:  # type: ignore[no-untyped-def]
    session = demo_session
    hidden_id = _hidden_id(session, "张伟", "李娜")
    hidden = session.get(Customer, hidden_id)
    assert hidden is not None
    assert find_customers(session, zhang, hidden.name) == []
    with pytest.raises(NotFound):
        get_customer(session, zhang, hidden_id)
    with pytest.raises(NotFound):
        customer_history(session, zhang, hidden_id)
    with pytest.raises(PermissionDenied):
        log_visit(session, zhang, hidden_id, summary="偷看", visited_at=NOW, now=NOW)
    with pytest.raises(PermissionDenied):
        update_opportunity(session, zhang, hidden_id, stage="negotiation", now=NOW)
    with pytest.raises(PermissionDenied):
        create_reminder(session, zhang, due_at=NOW, text="偷看", customer_id=hidden_id, now=NOW)
    with pytest.raises(PermissionDenied):
        orders.create_order(session, zhang, hidden_id, [("服务器", 1, None, None)], now=NOW)
    # An order of that customer (submitted by its owner) cannot be submitted by the other rep either.
    foreign_order = session.scalar(select(Order).where(Order.customer_id == hidden_id).limit(1))
    if foreign_order is not None:
        with pytest.raises(PermissionDenied):
            orders.submit_order(session, zhang, foreign_order.id, Config().rules.approvals, now=NOW)


def test_visibility_across_reps_teams_and_roles(session: Session, org) -> None:  # type: ignore[no-untyped-def]
    """A small organization: two teams, a clerk, a member. Each sees exactly what the role allows."""
    from crm_store.services import Actor
    from tests.crm_store.helpers import add_customer, share

    mine = add_customer(session, "甲公司", org.rep_a)
    teammates = add_customer(session, "乙公司", org.rep_b)
    other_team = add_customer(session, "丙公司", org.rep_c)
    shared = add_customer(session, "丁公司", org.rep_b)
    share(session, shared, org.rep_a)
    session.commit()
    member = Actor(staff_id=None, member_id=1, role="member", name="会员")
    expected = {
        "rep_a": {mine.id, shared.id}, "rep_b": {teammates.id, shared.id}, "rep_c": {other_team.id},
        "manager": {mine.id, teammates.id, shared.id}, "other_manager": {other_team.id},
        "director": {mine.id, teammates.id, other_team.id, shared.id},
        "admin": {mine.id, teammates.id, other_team.id, shared.id}, "clerk": set(),
    }
    everyone = [mine, teammates, other_team, shared]
    for role, visible in expected.items():
        actor = getattr(org, role)
        for customer in everyone:
            if customer.id in visible:
                assert get_customer(session, actor, customer.id).id == customer.id
            else:
                with pytest.raises((NotFound, PermissionDenied)):
                    get_customer(session, actor, customer.id)
                with pytest.raises((NotFound, PermissionDenied)):
                    log_visit(session, actor, customer.id, summary="越权", visited_at=NOW, now=NOW)
        found = {c.id for c in find_customers(session, actor, "公司", limit=50)}
        assert found == visible, role
    for customer in everyone:
        with pytest.raises((NotFound, PermissionDenied)):
            get_customer(session, member, customer.id)


# --- clerks, members and member data -------------------------------------------------------------

PARTIAL_QUERIES = ["列出所有会员", "会员列表", "查会员 王", "查会员 VIP", "查会员 VIP00", "查会员 138", "查会员 %",
                   "查会员 *", "查会员 ' OR 1=1 --", "所有会员的手机号", "查会员 金卡", "查会员 1"]


def test_clerk_never_gets_a_list_of_members(staff_dialogs: DialogEngine, runtime: Runtime) -> None:
    with runtime.factory() as session:
        people = list(session.execute(select(Member.name, Member.member_no, Member.phone)))
    for text in PARTIAL_QUERIES:
        answer = say(staff_dialogs, "周芳", text)
        hints = (DM.ASK_MEMBER_LOOKUP, DM.LOOKUP_NAME_ONLY, DM.LOOKUP_NUMBER_ONLY)
        assert answer in (DM.MEMBER_NOT_FOUND, *hints) or "查询失败次数过多" in answer, f"{text!r}: {answer}"
        if answer in hints:
            continue  # a fixed usage hint (its example number may exist in the demo data)
        shown = [p for p in people if p.name in answer or p.member_no in answer or (p.phone and p.phone in answer)]
        assert not shown, f"{text!r} showed {shown}"


def test_clerk_partial_lookups_in_the_service(demo_session: Session) -> None:
    clerk_id = demo_session.scalar(select(Staff.id).where(Staff.role == "clerk"))
    clerk = actor_for_staff(demo_session, clerk_id, "console", "sec-2")
    member = demo_session.scalar(select(Member).where(Member.phone.is_not(None)).order_by(Member.id).limit(1))
    assert member is not None
    for kwargs in ({"name": member.name}, {"member_no": member.member_no}, {"name": member.name[:1],
                   "member_no": member.member_no}, {"phone": member.phone[:7]}, {"name": "%", "member_no": "%"}):
        assert members.lookup_member(demo_session, clerk, now=NOW, **kwargs) is None
    rep_id = demo_session.scalar(select(Staff.id).where(Staff.name == "张伟"))
    rep = actor_for_staff(demo_session, rep_id)
    with pytest.raises(PermissionDenied):
        members.lookup_member(demo_session, rep, name=member.name, member_no=member.member_no, now=NOW)


def test_member_reads_only_their_own_points(staff_dialogs: DialogEngine, runtime: Runtime) -> None:
    with runtime.factory() as session:
        mine = session.scalar(select(Member).where(Member.member_no == "VIP0002"))
        others = list(session.scalars(select(Member).where(Member.member_no != "VIP0002")))
    speaker = bind_console_member(runtime, "VIP0002", DEMO_NOW)
    assert mine is not None
    for text in ("VIP0001的积分还剩多少", f"{others[0].name}的积分", "查一下VIP0003的积分", "我的积分"):
        answer = say(staff_dialogs, speaker, text)
        assert not [m.name for m in others if m.name in answer and m.name not in mine.name], answer
        assert not [m.member_no for m in others if m.member_no in answer], answer


def test_member_points_service_is_self_only(demo_session: Session) -> None:
    first, second = demo_session.scalars(select(Member).order_by(Member.id).limit(2)).all()
    from crm_store.services import Actor

    member_actor = Actor(staff_id=None, member_id=second.id, role="member", name=second.name)
    summary = members.points_summary(demo_session, member_actor, tz=Config().tz, now=NOW)
    assert summary.member.id == second.id != first.id
    staff_id = demo_session.scalar(select(Staff.id).where(Staff.role == "clerk"))
    with pytest.raises(PermissionDenied):
        members.points_summary(demo_session, actor_for_staff(demo_session, staff_id), tz=Config().tz, now=NOW)


# --- approvals ------------------------------------------------------------------------------------

def test_rep_cannot_approve(staff_dialogs: DialogEngine, runtime: Runtime) -> None:
    with runtime.factory() as session:
        pending = session.scalar(select(Order.number).where(Order.status == "pending").limit(1))
    assert pending is not None
    before = counts(runtime)
    for text in (f"同意 {pending}", "同意", "批准", f"驳回 {pending} 价格太低"):
        answer = say(staff_dialogs, "张伟", text)
        assert answer in ("您没有审批权限。", DM.NOT_ALLOWED_ROLE.format(role=DM.ROLE["rep"])), (text, answer)
    diff = changed(before, counts(runtime))
    assert diff.keys() <= {"conversation_state"}, diff


def _submitted(session: Session, who: str) -> Order:
    staff_id = session.scalar(select(Staff.id).where(Staff.name == who))
    actor = actor_for_staff(session, staff_id, "console", f"sec-{who}")
    customer_id = session.scalar(select(Customer.id).where(Customer.name == "海底捞"))
    order = orders.create_order(session, actor, customer_id, [("服务器", 1, None, None)], now=NOW)
    orders.submit_order(session, actor, order.id, Config().rules.approvals, now=NOW)
    session.flush()
    return order


@pytest.mark.parametrize("who", ["陈静", "赵建国", "管理员"])
def test_an_approver_never_approves_their_own_order(demo_session: Session, who: str) -> None:
    order = _submitted(demo_session, who)
    actor = actor_for_staff(demo_session, order.submitter_id, "console", "sec-self")
    steps = demo_session.scalars(select(ApprovalStep).where(ApprovalStep.order_id == order.id)).all()
    assert steps and all(s.approver_id != order.submitter_id for s in steps)
    for approve in (True, False):
        with pytest.raises(PermissionDenied):
            approvals.decide(demo_session, actor, order_ref=order.number, approve=approve, reason="自己",
                             now=NOW)
    assert all(s.status in ("pending", "waiting") for s in steps)
    rep_id = demo_session.scalar(select(Staff.id).where(Staff.name == "张伟"))
    with pytest.raises(PermissionDenied):
        approvals.decide(demo_session, actor_for_staff(demo_session, rep_id), order_ref=order.number,
                         approve=True, now=NOW)


def test_approver_cannot_approve_own_order_in_the_dialogs(staff_dialogs: DialogEngine, runtime: Runtime) -> None:
    assert "确认" in say(staff_dialogs, "管理员", "给海底捞下单 服务器2台")
    submitted = say(staff_dialogs, "管理员", "确认")
    assert "已提交" in submitted, submitted
    with runtime.factory() as session:
        number = session.scalar(select(Order.number).order_by(Order.id.desc()).limit(1))
    before = counts(runtime)
    answer = say(staff_dialogs, "管理员", f"同意 {number}")
    assert "已批准" not in answer
    assert changed(before, counts(runtime)).keys() <= {"conversation_state"}


_day = itertools.count(1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_clerk_partial_member_queries_never_list(staff_dialogs: DialogEngine, runtime: Runtime, data) -> None:  # type: ignore[no-untyped-def]
    """Pieces of real member data (a surname, part of a number or phone, a wildcard) find nobody."""
    with runtime.factory() as session:
        people = list(session.execute(select(Member.name, Member.member_no, Member.phone).order_by(Member.id)))
    person = data.draw(st.sampled_from(people))
    piece = data.draw(st.one_of(
        st.just(person.name[:1]), st.just(person.name[1:]), st.just(person.member_no[:-1]),
        st.just((person.phone or "13800000000")[:7]), st.just((person.phone or "13800000000")[-4:]),
        st.just(f"{person.name[:1]} {person.member_no[:5]}"), st.sampled_from(["%", "_", "*", "VIP%", "' OR 1=1"]),
    ))
    verb = data.draw(st.sampled_from(["查会员 ", "查一下会员", "会员", "找会员 "]))
    later = DEMO_NOW + timedelta(days=next(_day))  # past any lock from earlier examples
    answer = say(staff_dialogs, "周芳", verb + piece, now=later)
    assert sum(p.name in answer for p in people) == 0 or answer == DM.ASK_MEMBER_LOOKUP, answer
    assert not any(p.phone and p.phone in answer for p in people), answer
