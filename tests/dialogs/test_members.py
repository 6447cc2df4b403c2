"""Member dialogs through the real NLU and a seeded demo database: privacy of look-ups, purchases, self-service."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm_store.db import transaction
from crm_store.models import Member, OutboxMessage, Purchase, SecurityEvent
from crm_store.services import actor_for_staff, find_staff
from crmbot.wiring import Runtime, bind_console
from dialogs import DialogEngine
from dialogs import messages as DM
from dialogs.base import Turn
from dialogs.member import member_sales_text
from tests.dialogs.harness import Clock, bind_console_member

NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")


@pytest.fixture
def runtime(demo_runtime_for) -> Runtime:  # type: ignore[no-untyped-def]
    return demo_runtime_for("sqlite")


@pytest.fixture
def engine(runtime: Runtime, nlu_parser) -> DialogEngine:  # type: ignore[no-untyped-def]
    for name in ("周芳", "张伟", "陈静"):
        bind_console(runtime, name, NOW)
    return DialogEngine(runtime.factory, nlu_parser, runtime.config, clock=Clock(NOW))


def say(engine: DialogEngine, who: str, text: str, message_id: str | None = None) -> str:
    return "\n".join(r.text for r in engine.handle("console", who, text, message_id=message_id))


def member(runtime: Runtime, number: str) -> Member:
    with runtime.factory() as session:
        row = session.scalar(select(Member).where(Member.member_no == number))
        assert row is not None
        session.expunge(row)
        return row


def test_every_miss_gets_the_same_answer(engine: DialogEngine, runtime: Runtime) -> None:
    real = member(runtime, "VIP0001")
    other = member(runtime, "VIP0002")
    # A name or a number alone is not a look-up: the same hint whether or not the name exists; nothing counted.
    assert say(engine, "周芳", f"查会员 {real.name}") == say(engine, "周芳", "查会员 钱不存在") == DM.LOOKUP_NAME_ONLY
    assert say(engine, "周芳", f"查会员 {real.member_no}") == DM.LOOKUP_NUMBER_ONLY
    misses = [
        f"查会员 {real.name} {other.member_no}",  # both exist, wrong pair
        f"查会员 {other.name} {real.member_no}",  # the other wrong pair
        f"查会员 钱不存在 {real.member_no}",  # a name nobody has
        "查会员 13900000000",  # a phone nobody has
        f"查会员 {real.name} {real.member_no[:-1]}",  # partial number
    ]
    answers = {say(engine, "周芳", text) for text in misses}
    assert answers == {DM.MEMBER_NOT_FOUND}
    with runtime.factory() as session:
        kinds = list(session.scalars(select(SecurityEvent.kind)))
    assert kinds.count("member_lookup_failed") == len(misses) and kinds.count("member_lookup_locked") == 1
    locked = say(engine, "周芳", f"查会员 {real.name} {real.member_no}")
    assert "查询失败次数过多" in locked and real.name not in locked
    # The lock is per clerk: the manager still finds the member.
    assert real.name in say(engine, "陈静", f"查会员 {real.name} {real.member_no}")


def test_bad_purchase_input_gets_a_clear_answer_and_writes_nothing(engine: DialogEngine, runtime: Runtime) -> None:
    with runtime.factory() as session:
        before = session.scalar(select(func.count()).select_from(Purchase))
    assert "不超过100万元" in say(engine, "周芳", "会员VIP0016消费了99999999元")
    assert "找不到会员号VIP9999" in say(engine, "周芳", "会员VIP9999消费了100元")  # at the preview, not after 确认
    assert "不能做这件事" in say(engine, "张伟", "会员VIP0016消费了100元")
    assert "会员号" in say(engine, "周芳", "消费了100元")  # no member named and none in context: ask
    assert "VIP0016" in say(engine, "周芳", "VIP0016")
    say(engine, "周芳", "确认", message_id="m-1")
    say(engine, "周芳", "确认", message_id="m-1")  # a channel retry of the same message
    with runtime.factory() as session:
        assert session.scalar(select(func.count()).select_from(Purchase)) == before + 1


def test_member_sees_only_their_own_points_and_opt_out_stops_care(engine: DialogEngine, runtime: Runtime) -> None:
    me, other = member(runtime, "VIP0002"), member(runtime, "VIP0001")
    speaker = bind_console_member(runtime, "VIP0002", NOW)
    answer = say(engine, speaker, f"{other.member_no}的积分还剩多少")
    assert me.name in answer and str(me.points) in answer and other.name not in answer
    assert "已退订" in say(engine, speaker, "别再给我发这些了")
    assert "已经退订" in say(engine, speaker, "退订")
    say(engine, "周芳", "会员VIP0002消费了100元")
    assert "已记录" in say(engine, "周芳", "确认")
    with runtime.factory() as session:
        assert session.scalar(select(func.count()).where(OutboxMessage.recipient_member_id == me.id)) == 0
    assert "已恢复订阅" in say(engine, speaker, "订阅")
    assert "店员" in say(engine, "周芳", "退订")  # staff cannot unsubscribe anyone


def test_member_sales_text_for_managers(engine: DialogEngine, runtime: Runtime) -> None:
    say(engine, "周芳", "会员VIP0016消费了1000元")
    say(engine, "周芳", "确认")
    with transaction(runtime.factory) as session:
        staff = find_staff(session, "陈静")
        assert staff is not None
        turn = Turn(session, actor_for_staff(session, staff.id), NOW, runtime.config, "本月各门店会员消费", {}, {})
        start = NOW.replace(day=1, hour=0)
        text = member_sales_text(turn, start, start + timedelta(days=30), by_clerk=True)
    assert "南京西路店" in text and "徐家汇店" in text and "周芳" in text and "11月1日" in text
