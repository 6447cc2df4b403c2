"""Engine behaviour beyond single conversations: identities, limits, atomicity, timeouts, duplicates."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm_store.models import AuditLog, ConversationState, Customer, OutboxMessage, ProcessedMessage, Visit
from crmbot.wiring import bind_console
from dialogs import DialogEngine
from dialogs import messages as DM
from dialogs.base import REGISTRY

NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")


@pytest.fixture
def demo(demo_runtime_for, nlu_parser):  # type: ignore[no-untyped-def]
    runtime = demo_runtime_for("sqlite")
    bind_console(runtime, "张伟", NOW)
    engine = DialogEngine(runtime.factory, nlu_parser, runtime.config, clock=lambda: NOW)
    return runtime, engine


def _count(runtime, model) -> int:  # type: ignore[no-untyped-def]
    with runtime.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_unknown_identity_gets_only_the_binding_prompt(demo) -> None:  # type: ignore[no-untyped-def]
    runtime, engine = demo
    before = _count(runtime, AuditLog)
    replies = engine.handle("console", "stranger", "华为的电话是多少")
    assert len(replies) == 1 and "绑定" in replies[0].text
    assert "华为" not in replies[0].text
    assert _count(runtime, AuditLog) == before


@pytest.mark.parametrize("size", [2001, 100_000])
def test_huge_message_is_refused_politely(demo, size: int) -> None:  # type: ignore[no-untyped-def]
    runtime, engine = demo
    replies = engine.handle("console", "张伟", "拜访了华为" + "啊" * size)
    assert replies[0].text == DM.TOO_LONG.format(limit=2000)
    assert _count(runtime, ConversationState) == 0


def test_a_failing_job_writes_nothing_and_says_so(demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    runtime, engine = demo
    visits = _count(runtime, Visit)
    engine.handle("console", "张伟", "今天下午拜访了华为张总，预计下周三报价")

    def explode(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(REGISTRY["log_visit"], "execute", explode)
    replies = engine.handle("console", "张伟", "确认")
    assert replies[0].text == DM.INTERNAL_ERROR
    assert _count(runtime, Visit) == visits
    monkeypatch.undo()
    # The form survived the failure: confirming again saves it once.
    assert "已记录" in engine.handle("console", "张伟", "确认")[0].text
    assert _count(runtime, Visit) == visits + 1


def test_a_stale_form_is_dropped(demo) -> None:  # type: ignore[no-untyped-def]
    runtime, engine = demo
    engine.handle("console", "张伟", "提醒我给华润置地发报价单")
    later = NOW + timedelta(minutes=runtime.config.dialogs.form_timeout_minutes + 1)
    replies = engine.handle("console", "张伟", "确认", now=later)
    assert replies[0].text == DM.NOTHING_ASKED


def test_undo_is_refused_after_the_window(demo) -> None:  # type: ignore[no-untyped-def]
    runtime, engine = demo
    engine.handle("console", "张伟", "新建客户 城西五金")
    engine.handle("console", "张伟", "确认")
    later = NOW + timedelta(minutes=runtime.config.dialogs.undo_minutes + 1)
    assert "没有可以撤销" in engine.handle("console", "张伟", "撤销", now=later)[0].text
    with runtime.factory() as session:
        assert session.scalar(select(func.count()).where(Customer.name == "城西五金")) == 1


def test_trusted_staff_skip_confirmation(demo) -> None:  # type: ignore[no-untyped-def]
    runtime, engine = demo
    runtime.config.dialogs.trusted_staff = ["张伟"]
    replies = engine.handle("console", "张伟", "新建客户 城北机电")
    assert "已建档" in replies[0].text


def test_the_same_message_id_at_the_same_time_is_processed_once(demo_runtime_for, nlu_parser) -> None:  # type: ignore[no-untyped-def]
    runtime = demo_runtime_for("postgresql")
    bind_console(runtime, "张伟", NOW)
    runtime.config.dialogs.trusted_staff = ["张伟"]
    engine = DialogEngine(runtime.factory, nlu_parser, runtime.config, clock=lambda: NOW)
    answers: list[str] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        replies = engine.handle("console", "张伟", "新建客户 并发测试公司", message_id="wx-123")
        answers.append(" ".join(r.text for r in replies))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with runtime.factory() as session:
        assert session.scalar(select(func.count()).where(Customer.name == "并发测试公司")) == 1
        assert session.scalar(select(func.count()).select_from(ProcessedMessage)) == 1
    assert len(answers) == 4
    assert all("出了点问题" not in a for a in answers)


def test_messages_for_others_go_through_the_outbox(demo) -> None:  # type: ignore[no-untyped-def]
    from dialogs.base import Job, register
    from dialogs.reply import Reply

    runtime, engine = demo

    class Ping(Job):
        name = "greet"

        def execute(self, turn, slots):  # type: ignore[no-untyped-def]
            turn.notices.append(Reply("有人找您", to_staff_id=2))
            return [Reply("已通知")]

    original = REGISTRY.get("greet")
    register(Ping)
    try:
        from dialogs import smalltalk

        saved = smalltalk.answer
        smalltalk.answer = lambda turn: None  # let the job run instead of the canned greeting
        try:
            replies = engine.handle("console", "张伟", "您好", message_id="m-9")
        finally:
            smalltalk.answer = saved
    finally:
        if original is None:
            REGISTRY.pop("greet")
        else:
            REGISTRY["greet"] = original
    assert [r.text for r in replies] == ["已通知", "有人找您"]
    with runtime.factory() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == "notice:console:m-9:0"))
        assert row is not None and row.recipient_staff_id == 2 and row.text == "有人找您"
