"""Durable intake: a verified message is committed to the inbox before the platform hears "got it",
then processed once from there, and its reply goes back passively or through the outbox.

Two ways a row gets processed:
- at once, by the process that received it (the row is born claimed by this node), so a WeChat reply can
  still travel in the HTTP answer when it is ready within the platform's window;
- by the workers (threads in every `crmbot run` process), which claim due rows atomically: rows whose
  first try failed (back-off), rows of a process that died (claim timeout, or at once when the same node
  starts again), rows that arrived while the NLU was still loading.
Processing and "done" commit together (the dialog engine's `finish` hook), guarded by the claim.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from bot import messages as BM
from bot.channels.base import Channel, Inbound, Outgoing
from bot.settings import InboxSettings
from crm_store.db import one_statement, retry_on_disconnect, transaction
from crm_store.services import inbox, outbox
from dialogs.reply import Outcome, Reply

if TYPE_CHECKING:
    from dialogs import DialogEngine

log = logging.getLogger(__name__)


class Intake:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        worker_id: str,
        settings: InboxSettings | None = None,
        clock: Callable[[], datetime],
        wake_outbox: Callable[[], None] = lambda: None,
        deliver: Callable[[list[int]], object] | None = None,
        outbox_worker: str = "",
    ) -> None:
        self.factory = factory
        self.worker_id = worker_id
        self.settings = settings or InboxSettings()
        self.clock = clock
        self.wake_outbox = wake_outbox
        # This process's notifier: replies are written claimed by it and sent by `deliver` after the commit.
        self.deliver = deliver
        self.outbox_worker = outbox_worker
        self.channels: dict[str, Channel] = {}
        self._dialogs: DialogEngine | None = None
        self._ready = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._inline: set[asyncio.Future[Any]] = set()

    # --- wiring ---------------------------------------------------------------------------------
    def attach(self, channels: Mapping[str, Channel]) -> None:
        self.channels.update(channels)

    def set_dialogs(self, dialogs: DialogEngine) -> None:
        """The dialogs are ready (the NLU loads after the webhooks already answer)."""
        self._dialogs = dialogs
        self._ready.set()
        self._wake.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    # --- receiving (called by channels, on the event loop) --------------------------------------
    async def enqueue(self, message: Inbound) -> bool:
        """Commit a message whose replies are always pushed (Telegram); False for a copy already here.
        Once committed, this process handles it at once (in a thread; the platform does not wait)."""
        claim = self._claim() if self.ready else None
        accepted = await asyncio.to_thread(self._accept, message, claim=claim, delivery=inbox.PUSH)
        if accepted.claimed and claim is not None:
            self._track(asyncio.ensure_future(asyncio.to_thread(self._process, accepted.id, claim, message,
                                                                background=True)))
        elif accepted.new:
            self._wake.set()  # the workers take it, in the sender's order, once the dialogs are ready
        return accepted.new

    def _track(self, work: asyncio.Future[Any]) -> None:
        self._inline.add(work)
        work.add_done_callback(self._inline.discard)

    def _claim(self) -> str:
        """A fresh claim token: `<node>/<random>`, so this node finds its claims after a restart and no two
        claims of one row (a timed-out one and its take-over) are ever taken for each other."""
        return f"{self.worker_id}/{secrets.token_hex(4)}"

    async def receive(self, message: Inbound, window: float) -> list[Reply] | None:
        """Commit a message and wait up to `window` seconds for its replies (WeChat's passive answer).

        Returns the replies to answer with, or None: the window ran out (or processing failed and will be
        tried again), the reply goes through the outbox, and the platform is told only "received".
        """
        deadline = time.monotonic() + window
        claim = self._claim() if self.ready else None
        accepted = await asyncio.to_thread(self._accept, message, claim=claim, delivery=None)
        if accepted.claimed and claim is not None:
            work = asyncio.ensure_future(asyncio.to_thread(self._process, accepted.id, claim, message,
                                                           background=False))
            self._track(work)
            try:
                replies = await asyncio.wait_for(asyncio.shield(work), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                replies = None
            if replies is not None:
                return replies
        elif accepted.new:
            self._wake.set()  # the workers take it as soon as the dialogs are ready
        else:
            replies = await self._wait_done(accepted.id, deadline)
            if replies is not None:
                return replies
        return await asyncio.to_thread(self._hand_over, accepted.id)

    def _accept(self, message: Inbound, *, claim: str | None, delivery: str | None) -> inbox.Accepted:
        def commit() -> inbox.Accepted:
            with one_statement(self.factory) as session:  # committed (durable) when it returns
                return inbox.accept(
                    session, channel=message.channel, message_key=message.message_key,
                    external_id=message.external_id, text=message.text, payload=message.payload or None,
                    now=self.clock(), delivery=delivery, claimed_by=claim,
                )

        return retry_on_disconnect(commit)

    async def _wait_done(self, message_id: int, deadline: float) -> list[Reply] | None:
        """A copy of a message already in the inbox (a platform retry): answer with its replies if it is
        (or gets) done in time and nobody pushed them; else None."""
        while True:
            row = await asyncio.to_thread(self._row, message_id)
            if row is not None and row[0] == "done":
                return None if row[1] == inbox.PUSH else row[2]
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)

    def _row(self, message_id: int) -> tuple[str, str | None, list[Reply]] | None:
        with self.factory() as session:
            row = inbox.get(session, message_id)
            if row is None:
                return None
            return row.status, row.delivery, [Reply.from_dict(r) for r in inbox.stored_replies(row)]

    def _hand_over(self, message_id: int) -> list[Reply] | None:
        """The window is over: from now on the reply is pushed, unless processing finished meanwhile (then
        it still goes back passively). One UPDATE decides, serialized with the `done` update."""
        with transaction(self.factory) as session:
            if inbox.hand_to_outbox(session, message_id):
                return None
            row = inbox.get(session, message_id)
            if row is None or row.delivery == inbox.PUSH:
                return None
            return [Reply.from_dict(r) for r in inbox.stored_replies(row)]

    def push(self, message: Inbound, replies: list[Reply]) -> None:
        """Replies that cannot travel passively (too long, pictures, files): through the outbox instead."""
        with transaction(self.factory) as session:
            ids = self._enqueue_replies(session, message.channel, message.external_id, message.message_key,
                                        message.payload, replies)
        self._deliver(ids)

    def _deliver(self, outbox_ids: list[int]) -> None:
        """Send replies the moment they are committed, from this thread (their rows were born claimed by
        this process's notifier); without one, wake the notifier."""
        if not outbox_ids:
            return
        if self.deliver is None:
            self.wake_outbox()
            return
        try:
            self.deliver(outbox_ids)
        except Exception:  # the rows stay claimed: the notifier takes them over after its claim timeout
            log.exception("inbox: sending replies %s failed; the outbox will retry", outbox_ids)

    # --- long button payloads (bot/buttons.py) ------------------------------------------------------
    def remember_button(self, key: str, text: str) -> None:
        with transaction(self.factory) as session:
            inbox.remember_button(session, key, text, self.clock())

    def recall_button(self, key: str) -> str | None:
        with self.factory() as session:
            return inbox.recall_button(session, key)

    # --- processing -----------------------------------------------------------------------------
    def _process(self, message_id: int, claim: str, message: Inbound, *, background: bool,
                 received_at: datetime | None = None) -> list[Reply] | None:
        """Run the dialogs for a row this worker has claimed; the replies, or None if it failed (then it
        is retried with back-off) or another worker owns it now."""
        dialogs = self._dialogs
        assert dialogs is not None
        pushed: list[int] = []

        def finish(session: Session, outcome: Outcome) -> None:
            pushed.clear()  # an attempt the engine retried (an integrity conflict) was rolled back
            mine = outcome.replies  # the notices for others are in the outbox already
            delivery = inbox.complete(session, message_id, claim, replies=[r.to_dict() for r in mine],
                                      now=self.clock(), push_if_undecided=background)
            if delivery == inbox.PUSH:
                pushed.extend(self._enqueue_replies(session, message.channel, message.external_id,
                                                    message.message_key, message.payload, mine))

        try:
            # A voice message's recognised text (WeChat's Recognition) says so; plain text passes nothing
            # more, so a stand-in dialogs object without the flag keeps working.
            said = {"voice": True} if message.payload.get("voice") else {}
            outcome = dialogs.process(message.channel, message.external_id, message.text,
                                      message_id=message.message_key, now=received_at, finish=finish, **said)
        except inbox.ClaimLost:
            log.warning("inbox %s was taken over by another worker; its result is theirs", message_id)
            return None
        except Exception as exc:
            log.exception("inbox %s (%s) failed", message_id, message.channel)
            self._failed(message_id, claim, message, exc)
            return None
        self._deliver(pushed)
        if outcome.notices:
            self.wake_outbox()  # notices for other people: the notifier sends them now
        return outcome.replies

    def _failed(self, message_id: int, claim: str, message: Inbound, exc: Exception) -> None:
        settings = self.settings
        try:
            with transaction(self.factory) as session:
                status = inbox.fail(session, message_id, claim, error=f"{type(exc).__name__}: {exc}",
                                    now=self.clock(), max_attempts=settings.max_attempts,
                                    base_seconds=settings.retry_base_seconds, max_seconds=settings.retry_max_seconds)
                apology: list[int] = []
                if status == "dead":
                    # Tell the sender: an acknowledged message that will not be acted on must not vanish.
                    apology = self._enqueue_replies(session, message.channel, message.external_id,
                                                    message.message_key, message.payload,
                                                    [Reply(BM.INBOX_GAVE_UP.format(text=message.text[:40]))])
                    inbox.hand_to_outbox(session, message_id)
        except Exception:
            log.exception("could not record the failure of inbox %s; its claim will time out", message_id)
            return
        self._deliver(apology)

    def _enqueue_replies(self, session: Session, channel: str, external_id: str, message_key: str,
                         payload: dict[str, Any] | None, replies: list[Reply]) -> list[int]:
        """Outbox rows for the replies, born claimed by this process's notifier when it sends them itself."""
        target = self.channels.get(channel)
        outgoing = target.outgoing(payload or {}, replies) if target else [Outgoing(r) for r in replies]
        now = self.clock()
        ids: list[int] = []
        for number, item in enumerate(outgoing):
            reply = item.reply
            extra: dict[str, Any] = dict(item.options)
            if reply.buttons:
                extra["buttons"] = [[b.label, b.reply_text] for b in reply.buttons]
            if reply.file_path:
                extra["file_path"] = reply.file_path
            row = outbox.enqueue(
                session, key=f"reply:{channel}:{message_key}:{number}", kind="reply", text=reply.text,
                due_at=now, now=now, address=outbox.Address(channel, external_id),
                attachment_path=reply.image_path, payload=extra or None,
                claimed_by=self.outbox_worker if self.deliver is not None else None,
            )
            if row is not None:
                ids.append(row.id)
        return ids

    # --- workers --------------------------------------------------------------------------------
    def start(self) -> None:
        """Take back this node's own unfinished claims (it died), then start the worker threads."""
        try:
            with transaction(self.factory) as session:
                taken = inbox.reclaim_own(session, self.worker_id, self.clock())
            if taken:
                log.warning("inbox: %d message(s) left unfinished by the previous run are processed again", taken)
        except Exception:
            log.exception("inbox: could not take back unfinished messages; their claims will time out")
        for number in range(self.settings.workers):
            thread = threading.Thread(target=self._work, name=f"inbox-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    async def drain(self) -> None:
        """Wait for messages being processed for a waiting HTTP answer (shutdown, tests)."""
        while self._inline:
            await asyncio.gather(*list(self._inline), return_exceptions=True)

    def _work(self) -> None:
        while not self._stop.is_set():
            handled = 0
            if self._ready.is_set():
                try:
                    handled = self.run_once()
                except Exception:  # the database may be briefly away: keep the worker alive
                    log.exception("inbox worker round failed")
            if handled < self.settings.batch_size:
                self._wake.wait(self.settings.poll_seconds)
                self._wake.clear()

    def run_once(self) -> int:
        """Claim one batch of due rows and process them; returns how many were claimed."""
        now = self.clock()
        claim = self._claim()
        with transaction(self.factory) as session:
            rows = inbox.claim_due(session, now, claim, self.settings.batch_size,
                                   claim_timeout=timedelta(seconds=self.settings.claim_timeout_seconds))
            claimed = [(row.id, Inbound(row.channel, row.external_id, row.message_key, row.text, row.payload or {}),
                        row.received_at) for row in rows]
        for message_id, message, received_at in claimed:
            self._process(message_id, claim, message, background=True, received_at=received_at)
        return len(claimed)
