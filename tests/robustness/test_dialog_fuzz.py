"""Random and hostile text through DialogEngine.handle with the real NLU on a seeded demo database:
never a crash, always a short reply, never a partial write, a repeated message id changes nothing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from crm_store.models import AuditLog
from crmbot.wiring import Runtime, bind_console
from dialogs import DialogEngine
from dialogs import messages as DM
from tests.dialogs.harness import bind_console_member
from tests.robustness.conftest import HOSTILE, PREFIXES, max_ids, snapshot, unaudited
from tests.security.conftest import DEMO_NOW

SPEAKERS = ["张伟", "李娜", "陈静", "周芳", "管理员", "member:VIP0002", "stranger"]

texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=80),
    st.text(st.characters(codec="utf-8", categories=("Lo", "Nd", "Po", "Zs", "So")), max_size=40),
    st.builds(lambda prefix, tail: prefix + tail, st.sampled_from(PREFIXES),
              st.one_of(st.sampled_from(HOSTILE[:50]), st.text(max_size=30))),
)
turns = st.lists(st.tuples(st.sampled_from(SPEAKERS), texts, st.booleans()), min_size=1, max_size=4)

_ids = itertools.count()


@pytest.fixture
def fuzz_engine(runtime: Runtime, dialogs: DialogEngine) -> DialogEngine:
    for name in ("张伟", "李娜", "陈静", "周芳", "管理员"):
        bind_console(runtime, name, DEMO_NOW)
    bind_console_member(runtime, "VIP0002", DEMO_NOW)
    # Writes through the fuzzer happen without a confirmation step too.
    dialogs.config = dialogs.config.model_copy(update={"dialogs": dialogs.config.dialogs.model_copy(
        update={"trusted_staff": ["李娜", "陈静"]})})
    return dialogs


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(conversation=turns)
def test_hostile_text_never_crashes_nor_half_writes(fuzz_engine: DialogEngine, runtime: Runtime,
                                                     conversation: list[tuple[str, str, bool]]) -> None:
    with runtime.factory() as session:
        baseline = max_ids(session)
    for speaker, text, confirm in conversation:
        for said in [text, "确认"] if confirm else [text]:
            message_id = f"fz-{next(_ids)}"
            replies = fuzz_engine.handle("console", speaker, said, message_id=message_id)
            shown = [r.text for r in replies]
            assert shown and all(isinstance(t, str) and t.strip() for t in shown), (speaker, said, shown)
            assert DM.INTERNAL_ERROR not in shown, (speaker, said)
            if speaker == "stranger" and not said.strip().startswith(("绑定", "bind")):
                assert shown == [DM.UNKNOWN_USER]
            # The same message again (a channel retry): the sender's stored answer (the notices for others
            # went to the outbox once), nothing changes.
            before = snapshot(runtime)
            again = fuzz_engine.handle("console", speaker, said, message_id=message_id)
            assert [r.text for r in again] == [r.text for r in replies if r.to_staff_id is None
                                               and r.to_member_id is None]
            assert snapshot(runtime) == before
    assert unaudited(runtime, baseline) == {}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_hostile_sample_for_every_speaker(backend: str, demo_runtime_for, nlu_parser) -> None:  # type: ignore[no-untyped-def]
    """The fixed hostile list, deterministically, for each kind of account, on both backends."""
    runtime = demo_runtime_for(backend)
    engine = DialogEngine(runtime.factory, nlu_parser, runtime.config, clock=lambda: DEMO_NOW)
    for name in ("张伟", "李娜", "陈静", "周芳", "管理员"):
        bind_console(runtime, name, DEMO_NOW)
    bind_console_member(runtime, "VIP0002", DEMO_NOW)
    with runtime.factory() as session:
        baseline = max_ids(session)
    for speaker in SPEAKERS:
        for text in HOSTILE:
            shown = [r.text for r in engine.handle("console", speaker, text)]
            assert shown and DM.INTERNAL_ERROR not in shown, (speaker, text, shown)
            assert all(len(t) < 5000 for t in shown), (speaker, text)
    assert unaudited(runtime, baseline) == {}


WRITES = ["新建客户 城北五金", "今天下午拜访了华为张总，聊了报价", "给华为下单 服务器2台", "提醒我明天给华为打电话",
          "华为的商机推进到谈判阶段", "会员VIP0016消费了100元"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.sampled_from(WRITES), tail=st.sampled_from(["", "。", " 😀", "'; --"]), fail_at=st.integers(1, 3))
def test_a_write_that_fails_midway_leaves_nothing(fuzz_engine: DialogEngine, runtime: Runtime, text: str,
                                                  tail: str, fail_at: int) -> None:
    """The store fails on the n-th flush of audit rows: the message writes nothing at all (no data row,
    no audit row, no dedup mark, no state), answers with the apology, and the retry then succeeds once."""
    speaker = "周芳" if "会员" in text else "陈静"  # 陈静 is trusted: no confirmation step
    flushes = {"n": 0}

    def explode(session, _context, _instances) -> None:  # type: ignore[no-untyped-def]
        if any(isinstance(o, AuditLog) for o in session.new):
            flushes["n"] += 1
            if flushes["n"] >= fail_at:
                raise RuntimeError("disk full")

    says = [text + tail] if speaker == "陈静" else [text + tail, "确认"]
    for said in says[:-1]:
        fuzz_engine.handle("console", speaker, said)
    before = snapshot(runtime)
    with runtime.factory() as session:
        baseline = max_ids(session)
    message_id = f"boom-{next(_ids)}"
    event.listen(runtime.factory, "before_flush", explode)
    try:
        replies = fuzz_engine.handle("console", speaker, says[-1], message_id=message_id)
    finally:
        event.remove(runtime.factory, "before_flush", explode)
    if flushes["n"] >= fail_at:
        assert [r.text for r in replies] == [DM.INTERNAL_ERROR]
        assert snapshot(runtime) == before
        retried = fuzz_engine.handle("console", speaker, says[-1], message_id=message_id)
        assert DM.INTERNAL_ERROR not in [r.text for r in retried]
    assert unaudited(runtime, baseline) == {}
