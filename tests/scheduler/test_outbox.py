"""Outbox delivery: once, retried with back-off, dead-lettered, recovered after a crash, quiet hours, opt-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import transaction
from crm_store.errors import InvalidInput, PermissionDenied
from crm_store.models import AuditLog, OutboxMessage
from crm_store.services import outbox
from crm_store.services.common import Actor
from scheduler.clock import FakeClock, quiet_until
from scheduler.notifier import Notifier, TokenBucket
from tests.crm_store.helpers import generic_plans_reading, vacuum_analyze
from tests.scheduler.conftest import NOW, TZ, World


def _enqueue(factory: sessionmaker[Session], key: str, *, staff_id=None, member_id=None, text="你好", due=NOW):
    with transaction(factory) as s:
        row = outbox.enqueue(s, key=key, kind="test", text=text, due_at=due, now=NOW,
                             staff_id=staff_id, member_id=member_id)
        return row.id if row else None


def _row(factory: sessionmaker[Session], message_id: int) -> OutboxMessage:
    with factory() as s:
        return s.get(OutboxMessage, message_id)


def test_enqueued_twice_is_sent_once(world: World, factory, notifier: Notifier, senders) -> None:
    first = _enqueue(factory, "reminder:1", staff_id=world.rep.id, text="跟进华为")
    assert _enqueue(factory, "reminder:1", staff_id=world.rep.id, text="跟进华为") is None
    assert notifier.deliver_once().sent == 1
    assert notifier.deliver_once().claimed == 0
    # Newest bound account on a channel we can send through (console cannot be pushed to).
    assert [(ext, r.text) for ext, r in senders["telegram"].sent] == [("tg-rep", "跟进华为")]
    row = _row(factory, first)
    assert (row.status, row.attempts, row.channel) == ("sent", 1, "telegram")


def test_not_sent_before_due(world: World, factory, notifier: Notifier, senders, clock: FakeClock) -> None:
    _enqueue(factory, "later", staff_id=world.rep.id, due=NOW + timedelta(hours=1))
    assert notifier.deliver_once().claimed == 0
    clock.advance(timedelta(hours=1))
    assert notifier.deliver_once().sent == 1


def test_failure_retried_with_backoff_then_dead_lettered(
    world: World, factory, notifier: Notifier, senders, clock: FakeClock
) -> None:
    message_id = _enqueue(factory, "k", staff_id=world.rep.id)
    senders["telegram"].fail_times = -1  # always down
    assert notifier.deliver_once().retried == 1
    row = _row(factory, message_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == NOW + timedelta(seconds=60)
    assert "channel down" in row.last_error
    clock.advance(59)
    assert notifier.deliver_once().claimed == 0  # back-off respected
    clock.advance(1)
    assert notifier.deliver_once().retried == 1
    assert _row(factory, message_id).next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(120)
    assert notifier.deliver_once().dead == 1  # max_attempts = 3
    row = _row(factory, message_id)
    assert (row.status, row.attempts) == ("dead", 3)
    clock.advance(timedelta(days=1))
    assert notifier.deliver_once().claimed == 0
    with factory() as s:
        assert [m.id for m in outbox.list_messages(s, failed=True)] == [message_id]
    # An admin re-queues it; the channel is back; it goes out once.
    senders["telegram"].fail_times = 0
    with transaction(factory) as s:
        with pytest.raises(PermissionDenied):
            outbox.retry(s, Actor(staff_id=world.rep.id, member_id=None, role="rep", name="张三"), message_id,
                         now=clock.now())
    with transaction(factory) as s:
        outbox.retry(s, None, message_id, now=clock.now())
    with factory() as s:
        assert s.scalar(select(AuditLog.action).where(AuditLog.entity_type == "outbox")) == "outbox.retry"
    assert notifier.deliver_once().sent == 1
    assert len(senders["telegram"].sent) == 1
    with transaction(factory) as s, pytest.raises(InvalidInput):
        outbox.retry(s, None, message_id, now=clock.now())  # sent rows are not retried


def test_crash_between_claim_and_send_is_recovered(
    world: World, factory, notifier: Notifier, senders, clock: FakeClock
) -> None:
    message_id = _enqueue(factory, "k", staff_id=world.rep.id)
    with transaction(factory) as s:  # a worker claims, commits, then dies before sending
        claimed = outbox.claim_due(s, NOW, "dead-worker", 10, claim_timeout=timedelta(seconds=300))
    assert [m.id for m in claimed] == [message_id]
    clock.advance(299)
    assert notifier.deliver_once().claimed == 0  # a fresh claim is respected
    clock.advance(2)
    assert notifier.deliver_once().sent == 1  # stale claim taken over
    assert len(senders["telegram"].sent) == 1
    with transaction(factory) as s:  # the dead worker waking up cannot overwrite the outcome
        assert outbox.mark_sent(s, message_id, "dead-worker", channel="telegram", now=clock.now()) is False
    row = _row(factory, message_id)
    assert (row.status, row.claimed_by, row.attempts) == ("sent", "worker-1", 2)


def test_claims_are_exclusive(world: World, factory, engine) -> None:
    ids = [_enqueue(factory, f"k{i}", staff_id=world.rep.id) for i in range(6)]
    if engine.dialect.name == "postgresql":  # two open transactions at once: SKIP LOCKED splits the rows
        with factory() as a, factory() as b:
            got_a = outbox.claim_due(a, NOW, "a", 4)
            got_b = outbox.claim_due(b, NOW, "b", 4)
            a.commit()
            b.commit()
    else:  # SQLite serialises writers: the second UPDATE sees the first one's claims
        with transaction(factory) as a:
            got_a = outbox.claim_due(a, NOW, "a", 4)
        with transaction(factory) as b:
            got_b = outbox.claim_due(b, NOW, "b", 4)
    a_ids, b_ids = {m.id for m in got_a}, {m.id for m in got_b}
    assert len(a_ids) == 4 and len(b_ids) == 2
    assert a_ids | b_ids == set(ids) and not a_ids & b_ids


def test_no_channel_is_dead_lettered(world: World, factory, notifier: Notifier) -> None:
    message_id = _enqueue(factory, "k", member_id=world.other_member.id)
    assert notifier.deliver_once().dead == 1
    row = _row(factory, message_id)
    assert row.status == "dead" and "渠道" in row.last_error


def test_quiet_hours_defer_member_care_but_not_staff(
    world: World, factory, notifier: Notifier, senders, clock: FakeClock
) -> None:
    night = NOW.replace(hour=22, minute=30)
    clock.set(night)
    care = _enqueue(factory, "care", member_id=world.member.id, due=night)
    staff = _enqueue(factory, "staff", staff_id=world.rep.id, due=night)
    stats = notifier.deliver_once()
    assert (stats.sent, stats.deferred) == (1, 1)
    row = _row(factory, care)
    morning = (NOW + timedelta(days=1)).replace(hour=8, minute=0)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, morning)
    assert _row(factory, staff).status == "sent"
    clock.set(morning - timedelta(minutes=1))
    assert notifier.deliver_once().claimed == 0
    clock.set(morning)
    assert notifier.deliver_once().sent == 1
    assert [ext for ext, _ in senders["wechat"].sent] == ["wx-member"]


def test_quiet_until_spans_midnight() -> None:
    from datetime import time
    q = (time(21), time(8))
    assert quiet_until(NOW.replace(hour=20, minute=59), TZ, *q) is None
    assert quiet_until(NOW.replace(hour=21), TZ, *q) == (NOW + timedelta(days=1)).replace(hour=8, minute=0)
    assert quiet_until(NOW.replace(hour=3), TZ, *q) == NOW.replace(hour=8, minute=0)
    assert quiet_until(NOW.replace(hour=8), TZ, *q) is None


def test_opted_out_member_receives_nothing(world: World, factory, notifier: Notifier, senders) -> None:
    message_id = _enqueue(factory, "care", member_id=world.member.id)
    with transaction(factory) as s:  # opts out after the message was queued
        s.get(type(world.member), world.member.id).opted_out = True
    assert notifier.deliver_once().skipped == 1
    assert senders["wechat"].calls == 0
    assert _row(factory, message_id).status == "skipped"


def test_rate_limit_per_channel(world: World, factory, senders, config, clock: FakeClock) -> None:
    config.scheduler.rate_per_second = {"telegram": 2.0}
    slow = Notifier(factory, senders, config.scheduler, config.tz, clock=clock, worker_id="w",
                    monotonic=clock.monotonic, sleep=clock.sleep)
    for i in range(6):
        _enqueue(factory, f"k{i}", staff_id=world.rep.id)
    start = clock.monotonic()
    assert slow.deliver_once().sent == 6
    # Burst of 2, then one every half second: 4 more tokens need 2 seconds.
    assert clock.monotonic() - start == pytest.approx(2.0)


def test_token_bucket_refills() -> None:
    fake = FakeClock(NOW)
    bucket = TokenBucket(10, 1, monotonic=fake.monotonic, sleep=fake.sleep)
    assert bucket.acquire() == 0
    assert bucket.acquire() == pytest.approx(0.1)
    fake.advance(1)
    assert bucket.acquire() == 0


def test_claim_abandoned_too_often_is_dead(world: World, factory, notifier: Notifier, clock: FakeClock) -> None:
    message_id = _enqueue(factory, "poison", staff_id=world.rep.id)
    for _ in range(3):  # three workers crash on it in a row
        with transaction(factory) as s:
            assert outbox.claim_due(s, clock.now(), "crasher", 5)
        clock.advance(301)
    assert notifier.deliver_once().claimed == 0
    row = _row(factory, message_id)
    assert row.status == "dead"


# --- issue 15: colleagues without a chat account, withdrawn notices ---------------------------------


def test_staff_without_chat_account_waits_until_bound_and_the_submitter_is_told(
    world: World, factory, notifier: Notifier, senders, clock: FakeClock
) -> None:
    from crm_store.models import Staff
    from crm_store.services import binding

    with transaction(factory) as s:
        director = Staff(name="赵总监", role="director", created_at=NOW)
        s.add(director)
        s.flush()
        director_id = director.id
        row = outbox.enqueue(s, key="approval-1", kind="notice", text="【待审批】张三提交了订单 SO20261127001\n客户：华为",
                             due_at=NOW, now=NOW, staff_id=director_id, topic="order:1",
                             payload={"buttons": [["批准", "同意 SO20261127001"]], "unreachable_tell": world.rep.id})
        message_id = row.id
    stats = notifier.deliver_once()
    assert (stats.waiting, stats.dead, stats.sent) == (1, 0, 0)
    held = _row(factory, message_id)
    assert (held.status, held.attempts) == ("waiting", 0)
    clock.advance(timedelta(hours=6))
    assert notifier.deliver_once().sent == 1  # only the heads-up; the held notice is not retried
    (to, reply), = senders["telegram"].sent
    assert to == "tg-rep" and reply.text.startswith("赵总监还没有绑定聊天账号")
    assert "【待审批】张三提交了订单 SO20261127001" in reply.text
    assert _row(factory, message_id).status == "waiting"
    assert notifier.deliver_once().claimed == 0

    with transaction(factory) as s:  # the director binds with an invitation code on Telegram
        code = binding.create_invite(s, director_id, actor=None, now=clock.now()).code
        binding.redeem_code(s, "telegram", "tg-director", code, now=clock.now())
    assert notifier.deliver_once().sent == 1
    to, reply = senders["telegram"].sent[-1]
    assert to == "tg-director" and reply.text.startswith("【待审批】") and reply.buttons
    sent = _row(factory, message_id)
    assert (sent.status, sent.channel, sent.attempts) == ("sent", "telegram", 1)
    with factory() as s:  # one heads-up, never one per delivery run
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.recipient_staff_id == world.rep.id)) == 1


def test_members_without_a_chat_account_are_still_dead_lettered(world: World, factory, notifier: Notifier) -> None:
    message_id = _enqueue(factory, "member-care", member_id=world.other_member.id)
    stats = notifier.deliver_once()
    assert (stats.dead, stats.waiting) == (1, 0)
    assert _row(factory, message_id).status == "dead"


def test_withdraw_stops_unsent_messages_and_names_the_delivered(
    world: World, factory, notifier: Notifier, senders
) -> None:
    with transaction(factory) as s:
        sent = outbox.enqueue(s, key="a", kind="notice", text="已送达", due_at=NOW, now=NOW,
                              staff_id=world.manager.id, topic="order:7").id
    notifier.deliver_once()
    with transaction(factory) as s:
        later = outbox.enqueue(s, key="b", kind="notice", text="还没发", due_at=NOW + timedelta(hours=1), now=NOW,
                               staff_id=world.rep.id, topic="order:7").id
        kept = outbox.enqueue(s, key="c", kind="notice", text="给经理的，留着", due_at=NOW, now=NOW,
                              staff_id=world.manager.id, topic="order:7").id
        other = outbox.enqueue(s, key="d", kind="notice", text="别的订单", due_at=NOW, now=NOW,
                               staff_id=world.rep.id, topic="order:8").id
    with transaction(factory) as s:
        delivered = outbox.withdraw(s, "order:7", now=NOW, keep_for=None, since=NOW + timedelta(minutes=1))
        assert delivered == []  # created before `since`: left alone
        assert outbox.withdraw(s, "order:7", now=NOW, keep_for=world.manager.id) == []  # the rep's row only
        assert _status(s, later) == "withdrawn" and _status(s, kept) == "pending"
        delivered = outbox.withdraw(s, "order:7", now=NOW)
        assert [row.id for row in delivered] == [sent]
    statuses = {mid: _row(factory, mid).status for mid in (sent, later, kept, other)}
    assert statuses == {sent: "sent", later: "withdrawn", kept: "withdrawn", other: "pending"}
    notifier.deliver_once()
    assert [reply.text for _, reply in senders["telegram"].sent] == ["已送达", "别的订单"]


def _status(session: Session, message_id: int) -> str:
    return session.get(OutboxMessage, message_id).status


def test_a_poll_reads_what_is_due_not_what_was_sent(world: World, factory, engine) -> None:
    """The notifier polls every few seconds in every process: with prepared statements' generic plans (what a
    pooled connection runs after a few polls) it must still seek the due rows, not read every message the
    outbox ever sent."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite plans each statement with its values")
    sent = 300
    with transaction(factory) as s:
        for n in range(sent):
            outbox.enqueue(s, key=f"old:{n}", kind="test", text="旧", due_at=NOW, now=NOW, staff_id=world.rep.id)
        s.execute(update(OutboxMessage).values(status="sent", sent_at=NOW))
        outbox.enqueue(s, key="new", kind="test", text="新", due_at=NOW, now=NOW, staff_id=world.rep.id)
    with transaction(factory) as s:
        vacuum_analyze(s, "outbox")
        with generic_plans_reading(s, "outbox") as read:
            outbox.expire_stale_claims(s, NOW, claim_timeout=timedelta(seconds=300), max_attempts=5)
            claimed = outbox.claim_due(s, NOW, "w", 10)
            entries = read()
    assert [row.idempotency_key for row in claimed] == ["new"]
    assert entries < 20, f"{entries} outbox rows and index entries read beside {sent} sent messages"
