"""The inbox service on SQLite and PostgreSQL: exact dedup, atomic claims in per-sender order, the claim
guard on `done`, the passive/push hand-over, back-off, dead letters and retry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import one_statement, transaction
from crm_store.errors import InvalidInput, NotFound
from crm_store.models import AuditLog, InboxMessage
from crm_store.services import inbox
from tests.crm_store.helpers import generic_plans_reading, vacuum_analyze

NOW = datetime.fromisoformat("2026-12-02T10:00:00+08:00")
TIMEOUT = timedelta(seconds=60)


def accept(session: Session, key: str, user: str = "o-1", **kw: object) -> inbox.Accepted:
    return inbox.accept(session, channel="wechat", message_key=key, external_id=user, text=f"msg {key}", now=NOW,
                        **kw)  # type: ignore[arg-type]


def test_the_platform_id_is_the_only_dedup_key(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        first = accept(session, "m1")
        again = accept(session, "m1", user="o-other")
        other_channel = inbox.accept(session, channel="telegram", message_key="m1", external_id="1", text="x", now=NOW)
    assert first.new and not again.new and again.id == first.id and other_channel.new
    with factory() as session:
        assert session.scalar(select(InboxMessage.text).where(InboxMessage.id == first.id)) == "msg m1"


def test_concurrent_copies_make_one_row(factory: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(8)

    def copy(_: int) -> inbox.Accepted:
        barrier.wait(10)
        with transaction(factory) as session:
            return accept(session, "same")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(copy, range(8)))
    assert sum(r.new for r in results) == 1 and len({r.id for r in results}) == 1


def test_claims_take_one_message_per_sender_in_order(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        ids = [accept(session, f"a{n}", user="alice").id for n in range(3)] + [accept(session, "b0", user="bob").id]
    with transaction(factory) as session:
        first = inbox.claim_due(session, NOW, "w1", 10, claim_timeout=TIMEOUT)
    assert [r.id for r in first] == [ids[0], ids[3]]  # alice's oldest and bob's; alice's others wait
    with transaction(factory) as session:
        assert inbox.claim_due(session, NOW, "w2", 10, claim_timeout=TIMEOUT) == []  # both senders busy
        inbox.complete(session, ids[0], "w1", replies=[{"text": "ok"}], now=NOW, push_if_undecided=True)
    with transaction(factory) as session:
        assert [r.id for r in inbox.claim_due(session, NOW, "w2", 10, claim_timeout=TIMEOUT)] == [ids[1]]


def test_parallel_workers_never_take_the_same_row(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        for n in range(40):
            accept(session, f"p{n}", user=f"u{n}")
    taken: list[int] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        while True:
            with transaction(factory) as session:
                rows = inbox.claim_due(session, NOW, f"w{worker}", 3, claim_timeout=TIMEOUT)
            if not rows:
                return
            with lock:
                taken.extend(r.id for r in rows)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    assert len(taken) == 40 and len(set(taken)) == 40


def test_done_is_guarded_by_the_claim(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        row_id = accept(session, "g1", claimed_by="w-old").id
    later = NOW + TIMEOUT + timedelta(seconds=1)
    with transaction(factory) as session:  # w-old looked dead: w-new takes the row over
        assert [r.id for r in inbox.claim_due(session, later, "w-new", 5, claim_timeout=TIMEOUT)] == [row_id]
    with factory() as session, pytest.raises(inbox.ClaimLost):
        inbox.complete(session, row_id, "w-old", replies=[], now=later, push_if_undecided=False)
    with transaction(factory) as session:
        assert inbox.complete(session, row_id, "w-new", replies=[{"text": "好"}], now=later,
                              push_if_undecided=True) == inbox.PUSH


def test_hand_over_decides_once(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        waiting = accept(session, "h1", claimed_by="w").id
        finished = accept(session, "h2", user="o-2", claimed_by="w").id
        inbox.complete(session, finished, "w", replies=[{"text": "来了"}], now=NOW, push_if_undecided=False)
    with transaction(factory) as session:
        assert inbox.hand_to_outbox(session, waiting)  # not done: from now on it is pushed
        assert not inbox.hand_to_outbox(session, finished)  # done in time: the passive answer stands
    with transaction(factory) as session:
        assert inbox.complete(session, waiting, "w", replies=[], now=NOW, push_if_undecided=False) == inbox.PUSH
        row = inbox.get(session, finished)
        assert row is not None and row.delivery is None and inbox.stored_replies(row) == [{"text": "来了"}]


def test_failures_back_off_then_dead_letter_and_retry(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        row_id = accept(session, "f1", claimed_by="w").id
    moment = NOW
    for attempt in range(1, 4):
        with transaction(factory) as session:
            status = inbox.fail(session, row_id, "w", error=f"boom {attempt}", now=moment, max_attempts=3,
                                base_seconds=2, max_seconds=300)
            row = inbox.get(session, row_id)
            assert row is not None
            if attempt < 3:
                assert status == "pending" and row.next_attempt_at == moment + timedelta(seconds=2 * 2 ** (attempt - 1))
                assert inbox.claim_due(session, moment, "w", 5, claim_timeout=TIMEOUT) == []  # not yet
                moment = row.next_attempt_at
                assert [r.id for r in inbox.claim_due(session, moment, "w", 5, claim_timeout=TIMEOUT)] == [row_id]
            else:
                assert status == "dead" and row.last_error == "boom 3"
    with transaction(factory) as session:
        assert [r.id for r in inbox.list_messages(session, failed=True)] == [row_id]
        assert inbox.counts(session) == {"dead": 1}
        with pytest.raises(InvalidInput):
            accept(session, "f2", user="o-9")
            inbox.retry(session, None, inbox.list_messages(session)[0].id, now=NOW)  # not dead
    with transaction(factory) as session:
        with pytest.raises(NotFound):
            inbox.retry(session, None, 999999, now=NOW)
        inbox.retry(session, None, row_id, now=moment)
    with transaction(factory) as session:
        row = inbox.get(session, row_id)
        assert row is not None and row.status == "pending" and row.attempts == 0 and row.delivery == inbox.PUSH
        assert session.scalar(select(AuditLog.action).where(AuditLog.entity_type == "inbox")) == "inbox.retry"


def test_a_restarted_node_takes_back_its_own_claims_at_once(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        mine = accept(session, "r1", claimed_by="host:8080/a1b2").id
        theirs = accept(session, "r2", user="o-2", claimed_by="host:80801/c3d4").id  # not a prefix match
    with transaction(factory) as session:
        assert inbox.reclaim_own(session, "host:8080", NOW) == 1
        due = inbox.claim_due(session, NOW, "host:8080/e5f6", 10, claim_timeout=TIMEOUT)
    assert [r.id for r in due] == [mine]  # the other node's claim is not timed out yet
    assert theirs not in [r.id for r in due]


def test_a_message_is_born_claimed_unless_the_senders_earlier_one_is_open(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        first = accept(session, "c1", user="alice", claimed_by="node/a")
        second = accept(session, "c2", user="alice", claimed_by="node/b")  # alice's c1 is still being handled
        other = accept(session, "c3", user="bob", claimed_by="node/c")
        copy = accept(session, "c1", user="alice", claimed_by="node/d")
    assert (first.new, first.claimed) == (True, True) and (other.new, other.claimed) == (True, True)
    assert (second.new, second.claimed) == (True, False) and (copy.new, copy.claimed) == (False, False)
    with factory() as session:
        rows = {r.message_key: (r.status, r.claimed_by, r.attempts, r.claimed_at is not None)
                for r in session.scalars(select(InboxMessage))}
    assert rows == {"c1": ("processing", "node/a", 1, True), "c2": ("pending", None, 0, False),
                    "c3": ("processing", "node/c", 1, True)}




def test_a_senders_finished_messages_are_not_walked_again(engine: Engine, factory: sessionmaker[Session]) -> None:
    """Whether the sender's earlier message is still open is asked for every message that arrives and in every
    claim; it must not read the sender's whole history. The old index (channel, external_id, status) was
    walked entry by entry: a rep's 50 messages a day made each next message of theirs a little slower.
    PostgreSQL: counted with generic plans, as long-lived pooled connections run these statements; SQLite:
    the plans use the index of unfinished rows."""
    history = 300
    with transaction(factory) as session:
        for n in range(history):
            accept(session, f"old{n}", user="rep", claimed_by="node/x")
        session.execute(update(InboxMessage).values(status="done"))
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    postgresql = engine.dialect.name == "postgresql"
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with transaction(factory) as session:
            if postgresql:
                vacuum_analyze(session, "inbox")
            with generic_plans_reading(session, "inbox") if postgresql else nullcontext(lambda: 0) as read:
                new = accept(session, "new", user="rep", claimed_by="node/y")
                claimed = inbox.claim_due(session, NOW + TIMEOUT * 2, "node/z", 10, claim_timeout=TIMEOUT)
                entries = read()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert new.new and new.claimed and [r.id for r in claimed] == [new.id]  # its claim timed out: taken over
    assert entries < 20, f"{entries} inbox rows and index entries read beside {history} finished messages"
    if not postgresql:
        checks = [(s, p) for s, p in statements if s.startswith(("INSERT INTO inbox", "WITH due_ids"))]
        assert len(checks) == 2
        with engine.connect() as conn:
            for statement, parameters in checks:
                plan = " | ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                              parameters))
                assert "ix_inbox_sender_unfinished" in plan, plan


def test_an_accepted_message_is_committed_on_its_own(factory: sessionmaker[Session]) -> None:
    """The intake accepts with `one_statement` (no BEGIN/COMMIT on PostgreSQL): the row must be durable the
    moment accept returns, before the platform is told, on both databases; a failing statement leaves
    nothing half-written."""
    def status(message_id: int) -> str | None:
        with factory() as other:
            return other.scalar(select(InboxMessage.status).where(InboxMessage.id == message_id))

    with one_statement(factory) as session:
        accepted = accept(session, "solo", claimed_by="node/a")
        if factory.kw["bind"].dialect.name == "postgresql":  # committed by the statement itself
            assert status(accepted.id) == "processing"
    assert status(accepted.id) == "processing"
    with pytest.raises(IntegrityError), one_statement(factory) as session:
        inbox.accept(session, channel="wechat", message_key="bad", external_id="o-1", text=None,  # type: ignore[arg-type]
                     now=NOW)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 1
