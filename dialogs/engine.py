"""The conversation engine: one message in, replies out, state persisted per chat identity.

Every message is one transaction: the dedup mark, the job's writes, the audit rows and the new
conversation state commit together or not at all.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_store import services
from crm_store.errors import CRMError
from crm_store.services import conversations, outbox
from dialogs import (  # noqa: F401  (importing a job module registers it)
    approval,
    binding,
    combined,
    customer,
    handover,
    member,
    opportunity,
    order,
    reminder,
    report,
    smalltalk,
    visit,
)
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import REGISTRY, Job, Slots, Turn
from dialogs.reply import Outcome, Reply
from dialogs.resolve import PICK, apply_pick, pick_prompt
from dialogs.settings import DialogConfig

log = logging.getLogger(__name__)

MAX_TEXT = 2000
# A message this long that looks like another job, arriving mid-form, starts that job instead.
SWITCH_MIN_CHARS = 8
SWITCH_MIN_CONFIDENCE = 0.75
NAMES_REFRESH_SECONDS = 2.0

CANCEL_WORDS = {"取消", "算了", "不要了", "不用了", "放弃", "退出", "取消吧", "算了吧", "cancel"}
AFFIRM_WORDS = {"确认", "确定", "是", "是的", "对", "对的", "好", "好的", "可以", "行", "保存", "没问题", "ok", "嗯", "yes", "y"}
DENY_WORDS = {"不", "不是", "否", "不对", "no", "n"}
UNDO_WORDS = {"撤销", "撤回", "撤销刚才", "撤回刚才那条", "撤销上一条", "撤销刚才那条"}
MORE_WORDS = {"更多", "下一页", "还有吗", "继续", "more"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


Finish = Callable[[Session, Outcome], None]
INTEGRITY_ATTEMPTS = 3


class Parser(Protocol):
    def parse(self, text: str, now: datetime | None = None) -> dict[str, Any]: ...

    def set_lookup(self, entity: str, names: Any, source: str = "default") -> None: ...


def clean_text(text: str) -> str:
    """Drop control and zero-width characters and lone surrogates; the rest stays as written."""
    text = text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text
    return _CONTROL.sub(" ", text).strip()


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _plain(text: str) -> str:
    return re.sub(r"[\s。.!！~～,，]+", "", text).lower()


class DialogEngine:
    def __init__(
        self,
        factory: sessionmaker[Session],
        parser: Parser,
        config: DialogConfig,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.factory = factory
        self.parser = parser
        self.config = config
        self.clock = clock or (lambda: datetime.now(config.tz))
        self._names_fingerprint: str | None = None
        self._names_checked = 0.0
        # Messages are handled in several threads (webhooks, inbox workers); the parser's dictionaries are
        # not safe to read while names are being fed, and a message must not be parsed before the names
        # are in (a customer's name would go unrecognized). Parsing holds the GIL anyway: one lock costs
        # nothing in throughput.
        self._nlu_lock = threading.Lock()

    # --- entry point -------------------------------------------------------------------------
    def handle(
        self,
        channel: str,
        external_id: str,
        text: str,
        *,
        message_id: str | None = None,
        now: datetime | None = None,
        voice: bool = False,
    ) -> list[Reply]:
        """One message in, replies out; never raises (a failure is answered and nothing is written)."""
        try:
            return self.process(channel, external_id, text, message_id=message_id, now=now, voice=voice).all()
        except Exception:
            log.exception("dialog failed for %s:%s", channel, external_id)
            return [Reply(DM.INTERNAL_ERROR)]

    def process(
        self,
        channel: str,
        external_id: str,
        text: str,
        *,
        message_id: str | None = None,
        now: datetime | None = None,
        finish: Finish | None = None,
        voice: bool = False,
    ) -> Outcome:
        """Like handle, but raises when the message could not be processed (nothing is written then), and
        keeps the sender's replies apart from the notices for other people.

        `finish(session, outcome)` runs inside the message's transaction just before it commits: the inbox
        marks its row done there, so the message's effects and "processed" are one commit. With `finish`
        the caller owns deduplication; without it a `message_id` is deduplicated here.
        An integrity error other than a duplicate message id (a concurrent first contact, a race on a
        unique name) is not a duplicate: the message is tried again from the start.
        """
        now = (now or self.clock()).astimezone(self.config.tz)
        text = clean_text(text or "")
        for attempt in range(1, INTEGRITY_ATTEMPTS + 1):
            try:
                return self._handle(channel, external_id, text, message_id, now, finish, voice)
            except IntegrityError:
                if attempt == INTEGRITY_ATTEMPTS:
                    raise
                log.warning("integrity conflict for %s:%s, trying again (%d)", channel, external_id, attempt)
        raise AssertionError("unreachable")

    def _handle(
        self, channel: str, external_id: str, text: str, message_id: str | None, now: datetime,
        finish: Finish | None, voice: bool = False,
    ) -> Outcome:
        with self.factory() as session:
            mark = None
            if message_id is not None and finish is None:
                mark = conversations.claim_message(session, channel, message_id, now)
                if mark is None:  # processed before (or just now, by a concurrent copy): same answer
                    session.rollback()
                    return self._stored_reply(channel, message_id)
            outcome = self._respond(session, channel, external_id, text, message_id, now, voice)
            if mark is not None:
                conversations.store_replies(session, mark, [r.to_dict() for r in outcome.replies])
            if finish is not None:
                finish(session, outcome)
            session.commit()
            return outcome

    def _stored_reply(self, channel: str, message_id: str) -> Outcome:
        with self.factory() as session:
            return Outcome([Reply.from_dict(r) for r in conversations.stored_replies(session, channel, message_id)])

    def _respond(
        self, session: Session, channel: str, external_id: str, text: str, message_id: str | None, now: datetime,
        voice: bool = False,
    ) -> Outcome:
        identity = services.identity_for(session, channel, external_id)
        if identity is None:
            return Outcome(binding.handle_unknown(session, channel, external_id, text, message_id, now))
        if not text:
            return Outcome([Reply(DM.EMPTY_TEXT)])
        if len(text) > MAX_TEXT:
            return Outcome([Reply(DM.TOO_LONG.format(limit=MAX_TEXT))])
        if identity.staff_id is not None:
            try:
                actor = services.actor_for_staff(session, identity.staff_id, channel, message_id)
            except CRMError as error:  # a deactivated account: say so, no traceback
                return Outcome([Reply(error.message)])
        else:
            actor = services.Actor(
                staff_id=None, member_id=identity.member_id, role="member",
                name=identity.member.name if identity.member else "会员",
                via_channel=channel, via_message=message_id,
            )
        if binding.is_unbind(text):
            return Outcome(binding.handle_unbind(session, actor, channel, external_id, now))
        self._refresh_names(session)
        state_row = conversations.state_for(session, channel, external_id, now)
        state = copy.deepcopy(state_row.state or {})
        with self._nlu_lock:
            parsed = self.parser.parse(text, now=now)
        turn = Turn(session, actor, now, self.config, text, parsed, state, voice=voice)
        replies = self._dispatch(turn)
        state_row.state = turn.state
        state_row.updated_at = now
        self._queue_notices(session, turn, channel, message_id)
        return Outcome(replies, list(turn.notices))

    def _queue_notices(self, session: Session, turn: Turn, channel: str, message_id: str | None) -> None:
        """Messages for other people go through the outbox, in the same transaction as the change."""
        origin = message_id or uuid.uuid4().hex
        for number, notice in enumerate(turn.notices):
            outbox.enqueue(
                session,
                key=f"notice:{channel}:{origin}:{number}",
                kind="notice",
                text=notice.text,
                due_at=turn.now,
                now=turn.now,
                staff_id=notice.to_staff_id,
                member_id=notice.to_member_id,
                attachment_path=notice.image_path,
                payload={"buttons": [[b.label, b.reply_text] for b in notice.buttons]} if notice.buttons else None,
            )

    def _refresh_names(self, session: Session) -> None:
        """Feed CRM names to the NLU gazetteer when they changed (checked at most every 2 s). Other threads
        wait for a load in progress instead of parsing without the names."""
        if time.monotonic() - self._names_checked < NAMES_REFRESH_SECONDS:
            return
        with self._nlu_lock:
            if time.monotonic() - self._names_checked < NAMES_REFRESH_SECONDS:
                return  # another thread just did it
            fingerprint = services.names_fingerprint(session)
            if fingerprint != self._names_fingerprint:
                for entity, names in services.gazetteer_names(session).items():
                    self.parser.set_lookup(entity, names, source="db")
                self._names_fingerprint = fingerprint
            self._names_checked = time.monotonic()

    def names_changed(self) -> None:
        """Called after a write that may add names, so the next message sees them."""
        self._names_checked = 0.0

    # --- routing -----------------------------------------------------------------------------
    def _dispatch(self, turn: Turn) -> list[Reply]:
        form = turn.state.get("form")
        if form and self._expired(form, turn.now):
            turn.state.pop("form")
            form = None
        plain = _plain(turn.text)
        reads_itself = bool(form) and REGISTRY[form["job"]].reads_itself(turn, form["slots"])
        if plain in CANCEL_WORDS or (turn.intent == "cancel" and plain not in UNDO_WORDS and not reads_itself):
            had_form = turn.state.pop("form", None) is not None
            return [Reply(DM.CANCELLED if had_form else DM.NOTHING_TO_CANCEL)]
        if plain in UNDO_WORDS:
            turn.state.pop("form", None)
            return self._undo(turn)
        if form:
            return self._continue(turn, form)
        if plain in MORE_WORDS and turn.state.get("more"):
            return self._run_job(turn, REGISTRY[turn.state["more"]["job"]], {"_more": True})
        return self._start(turn)

    def _expired(self, form: dict[str, Any], now: datetime) -> bool:
        updated = datetime.fromisoformat(form["updated"])
        return now - updated > timedelta(minutes=self.config.dialogs.form_timeout_minutes)

    def _start(self, turn: Turn, prefix: str | None = None) -> list[Reply]:
        intent = turn.intent
        talk = smalltalk.answer(turn)
        if talk is not None:
            return talk
        job = REGISTRY.get(intent)
        if job is None and combined.is_combined_parse(turn.parse):  # log_visit+set_reminder: one report
            job = REGISTRY[combined.NAME]
        if job is None:
            return [Reply(DM.NOT_YET.format(job=DM.JOB_TITLES.get(intent, intent)))]
        if turn.actor.role not in job.roles:
            return [Reply(DM.NOT_ALLOWED_ROLE.format(role=DM.ROLE.get(turn.actor.role, turn.actor.role)))]
        slots: Slots = {}
        job.fill(turn, slots, None)
        replies = self._advance(turn, job, slots)
        if prefix:
            replies.insert(0, Reply(prefix))
        return replies

    def _continue(self, turn: Turn, form: dict[str, Any]) -> list[Reply]:
        job = REGISTRY[form["job"]]
        slots: Slots = form["slots"]
        awaiting = form.get("awaiting")
        plain = _plain(turn.text)
        if awaiting == "confirm":
            if plain in AFFIRM_WORDS or turn.intent in ("affirm", "approve"):
                return self._run_job(turn, job, slots)
            if plain in DENY_WORDS or (turn.intent in ("deny", "reject") and not job.reads_itself(turn, slots)):
                turn.state.pop("form", None)
                return [Reply(DM.CANCELLED)]
        if awaiting not in job.free_text_slots and self._switches_job(turn, job):
            turn.state.pop("form", None)
            return self._start(turn, prefix=DM.DROPPED_FORM.format(job=DM.JOB_TITLES.get(job.name, job.name)))
        if awaiting == "pick":
            if apply_pick(turn.text, slots):
                return self._advance(turn, job, slots)
            before = copy.deepcopy(slots)
            job.fill(turn, slots, None)
            if slots == before:
                return [Reply(DM.PICK_INVALID.format(count=len(slots[PICK]["options"])))]
            return self._advance(turn, job, slots)
        before = copy.deepcopy(slots)
        job.fill(turn, slots, None if awaiting == "confirm" else awaiting)
        if awaiting == "confirm" and slots == before:
            return [Reply(DM.CONFIRM_AGAIN)]
        return self._advance(turn, job, slots)

    def _switches_job(self, turn: Turn, job: Job) -> bool:
        other = turn.intent
        return (
            other != job.name
            and (other in REGISTRY or combined.is_combined_parse(turn.parse))  # a whole report, said anew
            and len(turn.text) >= SWITCH_MIN_CHARS
            and ent.confidence(turn.parse) >= SWITCH_MIN_CONFIDENCE
        )

    def _advance(self, turn: Turn, job: Job, slots: Slots) -> list[Reply]:
        slot = None if PICK in slots else job.missing(turn, slots)
        if PICK in slots:
            self._save_form(turn, job, slots, "pick")
            return [Reply(pick_prompt(slots))]
        if slot is not None:
            self._save_form(turn, job, slots, slot)
            return [Reply(job.question(turn, slots, slot))]
        blocked = job.precheck(turn, slots)
        if blocked is not None:
            turn.state.pop("form", None)
            return blocked
        if job.writes and self._needs_confirmation(turn):
            self._save_form(turn, job, slots, "confirm")
            heard = DM.VOICE_HEARD.format(text=turn.text) + "\n" if turn.voice else ""  # a mis-heard word shows
            return [Reply(heard + job.summary(turn, slots) + "\n" + DM.CONFIRM_HINT)]
        return self._run_job(turn, job, slots)

    def _run_job(self, turn: Turn, job: Job, slots: Slots) -> list[Reply]:
        turn.state.pop("form", None)
        savepoint = turn.session.begin_nested()
        try:
            replies = job.execute(turn, slots)
            savepoint.commit()
        except CRMError as error:
            savepoint.rollback()
            return [Reply(error.message)]
        if job.writes:
            self.names_changed()
            minutes = self.config.dialogs.undo_minutes
            if minutes and replies and job.undoable:
                last = replies[-1]
                replies[-1] = dataclasses.replace(last, text=last.text + DM.SAVED_UNDO_HINT.format(minutes=minutes))
        return replies

    def _save_form(self, turn: Turn, job: Job, slots: Slots, awaiting: str) -> None:
        turn.state["form"] = {"job": job.name, "slots": slots, "awaiting": awaiting, "updated": turn.now.isoformat()}

    def _needs_confirmation(self, turn: Turn) -> bool:
        settings = self.config.dialogs
        if not settings.confirm_writes or turn.actor.name in settings.trusted_staff:
            return False
        return not conversations.skips_confirmation(turn.session, turn.actor.staff_id)

    def _undo(self, turn: Turn) -> list[Reply]:
        savepoint = turn.session.begin_nested()
        try:
            done = services.undo_last_write(
                turn.session, turn.actor, now=turn.now, window_minutes=self.config.dialogs.undo_minutes
            )
            savepoint.commit()
        except CRMError as error:
            savepoint.rollback()
            return [Reply(error.message)]
        self.names_changed()
        return [Reply(done)]
