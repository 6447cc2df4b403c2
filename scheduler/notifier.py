"""Outbox delivery: claim due rows, send each through the recipient's bound channel, record the outcome.

Any process may run a Notifier: claiming is atomic, so no row is taken twice. A row is committed as
`sending` before the send and `sent` right after; a worker that dies in between leaves a claim that
another worker takes over after `claim_timeout_seconds` (at-least-once: the crash window between the
channel accepting the message and our commit is the only place a duplicate can come from).
"""

from __future__ import annotations

import logging
import threading
import time as _time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from crm_store import messages as SM
from crm_store.db import transaction
from crm_store.models import OutboxMessage
from crm_store.services import outbox
from dialogs.reply import Button, Reply
from scheduler.clock import Clock, quiet_until
from scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)


class Sender(Protocol):
    """What each chat channel provides (bot.channels.Channel.send); raises on failure, the outbox retries.
    `options` are the channel's own delivery details stored with the message (e.g. edit a message)."""

    def send(self, external_id: str, reply: Reply, options: dict[str, Any] | None = None) -> None: ...


class TokenBucket:
    """Per-channel rate limit: `rate` messages/second on average, bursts up to `burst`."""

    def __init__(
        self, rate: float, burst: float | None = None, *,
        monotonic: Callable[[], float] = _time.monotonic, sleep: Callable[[float], None] = _time.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self.tokens = self.burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._last = monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        with self._lock:
            now = self._monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
            self._last = now
            wait = 0.0
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.rate
                self._sleep(wait)
                self.tokens = 1.0
                self._last = self._monotonic()
            self.tokens -= 1
            return wait


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0
    deferred: int = 0
    waiting: int = 0  # staff recipients without a chat account: held until they bind


_REPLY_KEYS = ("buttons", "file_path", "unreachable_tell")  # not channel options


def reply_for(message: OutboxMessage) -> tuple[Reply, dict[str, Any]]:
    """The Reply an outbox row carries, and the channel options stored beside it."""
    payload = message.payload or {}
    buttons = tuple(Button(label, text) for label, text in payload.get("buttons", []) or [])
    reply = Reply(text=message.text, buttons=buttons, image_path=message.attachment_path,
                  file_path=payload.get("file_path"))
    return reply, {k: v for k, v in payload.items() if k not in _REPLY_KEYS}


class Notifier:
    def __init__(
        self,
        factory: sessionmaker[Session],
        senders: Mapping[str, Sender],
        settings: SchedulerSettings,
        tz: tzinfo,
        *,
        clock: Clock,
        worker_id: str,
        monotonic: Callable[[], float] = _time.monotonic,
        sleep: Callable[[float], None] = _time.sleep,
    ) -> None:
        self.factory = factory
        self.senders = dict(senders)
        self.settings = settings
        self.tz = tz
        self.clock = clock
        self.worker_id = worker_id
        self._wake = threading.Event()
        self._monotonic, self._sleep = monotonic, sleep
        self.buckets: dict[str, TokenBucket] = {}
        self.add_buckets()

    def add_buckets(self, defaults: Mapping[str, float] | None = None) -> None:
        """A token bucket for every sender's channel (also for senders added after construction). The rate
        is the configured one, else the channel's own default (`defaults`), else default_rate_per_second."""
        for channel in self.senders:
            if channel not in self.buckets:
                fallback = (defaults or {}).get(channel, self.settings.default_rate_per_second)
                rate = self.settings.rate_per_second.get(channel, fallback)
                self.buckets[channel] = TokenBucket(rate, monotonic=self._monotonic, sleep=self._sleep)

    @property
    def claim_timeout(self) -> timedelta:
        return timedelta(seconds=self.settings.claim_timeout_seconds)

    def deliver_once(self, now: datetime | None = None) -> DeliveryStats:
        """Claim one batch and deliver it; returns what happened (claimed == 0 means idle)."""
        now = now or self.clock.now()
        stats = DeliveryStats()
        ready: list[tuple[OutboxMessage, outbox.Address]] = []
        with transaction(self.factory) as session:
            outbox.expire_stale_claims(session, now, claim_timeout=self.claim_timeout,
                                       max_attempts=self.settings.max_attempts)
            claimed = outbox.claim_due(session, now, self.worker_id, self.settings.batch_size,
                                       claim_timeout=self.claim_timeout)
            stats.claimed = len(claimed)
            opted_out = outbox.opted_out_members(
                session, [m.recipient_member_id for m in claimed if m.recipient_member_id is not None]
            )
            addresses = outbox.recipient_addresses(session, claimed, self.senders.keys())
            quiet = quiet_until(now, self.tz, self.settings.quiet_start, self.settings.quiet_end)
            for message in claimed:
                address = self._prepare(session, message, now, stats, opted_out, addresses.get(message.id), quiet)
                if address is not None:
                    ready.append((message, address))
        if ready:
            with self._outcome_session() as session:
                for message, address in ready:
                    self._send(session, message, address, stats)
        return stats

    def deliver_claimed(self, message_ids: list[int]) -> DeliveryStats:
        """Send rows this worker claimed when it wrote them (a chat reply sent right after its commit)."""
        stats = DeliveryStats()
        if not message_ids:
            return stats
        with self.factory() as session:
            claimed = outbox.claimed_by(session, message_ids, self.worker_id)
            addresses = outbox.recipient_addresses(session, claimed, self.senders.keys())
            session.expunge_all()
        stats.claimed = len(claimed)
        with self._outcome_session() as session:
            for message in claimed:
                address = addresses.get(message.id)
                if address is None:
                    self._record(session, lambda m=message: outbox.mark_dead(
                        session, m.id, self.worker_id, error=SM.OUTBOX_NO_CHANNEL, now=self.clock.now()))
                    stats.dead += 1
                else:
                    self._send(session, message, address, stats)
        return stats

    @contextmanager
    def _outcome_session(self) -> Iterator[Session]:
        """A session whose every outcome UPDATE commits on its own (autocommit: one round trip per message).

        Each outcome is a single guarded UPDATE, so autocommit keeps it atomic, and a crash later in the batch
        never resends a message already recorded. PostgreSQL: synchronous_commit off for these updates only:
        a process crash after the UPDATE returns loses nothing; only a database crash could lose a `sent`,
        and then the row is sent again (the same at-least-once window as a crash right after sending).
        """
        engine = self.factory.kw["bind"]
        postgres = engine.dialect.name == "postgresql"
        with engine.connect() as raw:
            conn = raw.execution_options(isolation_level="AUTOCOMMIT")
            if postgres:
                conn.exec_driver_sql("SET synchronous_commit TO off")
            try:
                with Session(bind=conn, expire_on_commit=False) as session:
                    yield session
            finally:
                if postgres and not conn.invalidated:
                    conn.exec_driver_sql("RESET synchronous_commit")

    def _prepare(
        self, session: Session, message: OutboxMessage, now: datetime, stats: DeliveryStats,
        opted_out: set[int], address: outbox.Address | None, quiet: datetime | None,
    ) -> outbox.Address | None:
        """Opt-out, quiet hours (members only) and the recipient's channel, inside the claim transaction."""
        if message.recipient_member_id is not None:
            if message.recipient_member_id in opted_out:
                outbox.mark_skipped(session, message.id, self.worker_id, reason="opted out", now=now)
                stats.skipped += 1
                return None
            if quiet is not None:
                outbox.defer(session, message.id, self.worker_id, until=quiet)
                stats.deferred += 1
                return None
        if address is None and message.recipient_staff_id is not None and message.external_id is None:
            # A colleague who has not bound a chat account yet: it goes out when they bind (never dropped).
            outbox.hold_for_binding(session, message, self.worker_id, now=now)
            stats.waiting += 1
        elif address is None:
            outbox.mark_dead(session, message.id, self.worker_id, error=SM.OUTBOX_NO_CHANNEL, now=now)
            stats.dead += 1
        return address

    def _send(self, session: Session, message: OutboxMessage, address: outbox.Address, stats: DeliveryStats) -> None:
        self.buckets[address.channel].acquire()
        try:
            reply, options = reply_for(message)
            self.senders[address.channel].send(address.external_id, reply, options)
        except Exception as exc:  # any channel failure is retried; the sender's own errors carry the reason
            log.warning("outbox %s via %s failed: %s", message.id, address.channel, exc)
            error = f"{type(exc).__name__}: {exc}"
            status = self._record(session, lambda: outbox.mark_failed(
                session, message, self.worker_id, error=error, now=self.clock.now(),
                max_attempts=self.settings.max_attempts, base_seconds=self.settings.retry_base_seconds,
                max_seconds=self.settings.retry_max_seconds,
            ))
            if status == "dead":
                stats.dead += 1
            else:
                stats.retried += 1
            return
        self._record(session, lambda: outbox.mark_sent(
            session, message.id, self.worker_id, channel=address.channel, now=self.clock.now()
        ))
        stats.sent += 1

    @staticmethod
    def _record(session: Session, write: Callable[[], object]) -> object:
        try:
            result = write()
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise

    def wake(self) -> None:
        """Something was just queued (a chat reply): deliver now instead of at the next poll."""
        self._wake.set()

    def run(self, stop_event: threading.Event) -> None:
        """Deliver until stopped; a full batch is followed at once by the next, an idle poll waits."""
        while not stop_event.is_set():
            try:
                stats = self.deliver_once()
            except Exception:  # the database may be briefly away; keep the process alive
                log.exception("outbox delivery failed")
                stats = DeliveryStats()
            if stats.claimed < self.settings.batch_size:
                self._wake.wait(self.settings.poll_seconds)
                self._wake.clear()
