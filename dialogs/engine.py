"""The conversation engine: one message in, replies out, state persisted per chat identity.

Every message is one transaction: the dedup mark, the job's writes, the audit rows and the new
conversation state commit together or not at all.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
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
from dialogs import binding, smalltalk
from dialogs import entities as ent
from dialogs import messages as msg
from dialogs.base import REGISTRY, Job, Slots, Turn
from dialogs.reply import Reply
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

    # --- entry point -------------------------------------------------------------------------
    def handle(
        self,
        channel: str,
        external_id: str,
        text: str,
        *,
        message_id: str | None = None,
        now: datetime | None = None,
    ) -> list[Reply]:
        now = (now or self.clock()).astimezone(self.config.tz)
        text = clean_text(text or "")
        try:
            return self._handle(channel, external_id, text, message_id, now)
        except IntegrityError:
            # A concurrent duplicate of the same message won the race: answer what it answered.
            if message_id is None:
                raise
            return self._stored_reply(channel, message_id)
        except Exception:
            log.exception("dialog failed for %s:%s", channel, external_id)
            return [Reply(msg.INTERNAL_ERROR)]

    def _handle(
        self, channel: str, external_id: str, text: str, message_id: str | None, now: datetime
    ) -> list[Reply]:
        with self.factory() as session:
            if message_id is not None:
                if conversations.processed_message(session, channel, message_id) is not None:
                    return [Reply.from_dict(r) for r in conversations.stored_replies(session, channel, message_id)]
                mark = conversations.mark_processed(session, channel, message_id, now)
            replies = self._respond(session, channel, external_id, text, message_id, now)
            if message_id is not None:
                mark.reply = {"replies": [r.to_dict() for r in replies]}
            session.commit()
            return replies

    def _stored_reply(self, channel: str, message_id: str) -> list[Reply]:
        with self.factory() as session:
            return [Reply.from_dict(r) for r in conversations.stored_replies(session, channel, message_id)]

    def _respond(
        self, session: Session, channel: str, external_id: str, text: str, message_id: str | None, now: datetime
    ) -> list[Reply]:
        identity = services.identity_for(session, channel, external_id)
        if identity is None:
            return binding.handle_unknown(session, channel, external_id, text, message_id, now)
        if not text:
            return [Reply(msg.EMPTY_TEXT)]
        if len(text) > MAX_TEXT:
            return [Reply(msg.TOO_LONG.format(limit=MAX_TEXT))]
        if identity.staff_id is not None:
            try:
                actor = services.actor_for_staff(session, identity.staff_id, channel, message_id)
            except CRMError as error:  # a deactivated account: say so, no traceback
                return [Reply(error.message)]
        else:
            actor = services.Actor(
                staff_id=None, member_id=identity.member_id, role="member",
                name=identity.member.name if identity.member else "会员",
                via_channel=channel, via_message=message_id,
            )
        if binding.is_unbind(text):
            return binding.handle_unbind(session, actor, channel, external_id, now)
        self._refresh_names(session)
        state_row = conversations.state_for(session, channel, external_id, now)
        state = copy.deepcopy(state_row.state or {})
        turn = Turn(session, actor, now, self.config, text, self.parser.parse(text, now=now), state)
        replies = self._dispatch(turn)
        state_row.state = turn.state
        state_row.updated_at = now
        self._queue_notices(session, turn, channel, message_id)
        return replies + turn.notices

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
        """Feed CRM names to the NLU gazetteer when they changed (checked at most every 2 s)."""
        if time.monotonic() - self._names_checked < NAMES_REFRESH_SECONDS:
            return
        self._names_checked = time.monotonic()
        fingerprint = services.names_fingerprint(session)
        if fingerprint == self._names_fingerprint:
            return
        for entity, names in services.gazetteer_names(session).items():
            self.parser.set_lookup(entity, names, source="db")
        self._names_fingerprint = fingerprint

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
        if plain in CANCEL_WORDS or (turn.intent == "cancel" and plain not in UNDO_WORDS):
            had_form = turn.state.pop("form", None) is not None
            return [Reply(msg.CANCELLED if had_form else msg.NOTHING_TO_CANCEL)]
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
        if job is None:
            return [Reply(msg.NOT_YET.format(job=msg.JOB_TITLES.get(intent, intent)))]
        if turn.actor.role not in job.roles:
            return [Reply(msg.NOT_ALLOWED_ROLE.format(role=msg.ROLE.get(turn.actor.role, turn.actor.role)))]
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
            if plain in DENY_WORDS or turn.intent in ("deny", "reject"):
                turn.state.pop("form", None)
                return [Reply(msg.CANCELLED)]
        if awaiting not in job.free_text_slots and self._switches_job(turn, job):
            turn.state.pop("form", None)
            return self._start(turn, prefix=msg.DROPPED_FORM.format(job=msg.JOB_TITLES.get(job.name, job.name)))
        if awaiting == "pick":
            if apply_pick(turn.text, slots):
                return self._advance(turn, job, slots)
            before = copy.deepcopy(slots)
            job.fill(turn, slots, None)
            if slots == before:
                return [Reply(msg.PICK_INVALID.format(count=len(slots[PICK]["options"])))]
            return self._advance(turn, job, slots)
        before = copy.deepcopy(slots)
        job.fill(turn, slots, None if awaiting == "confirm" else awaiting)
        if awaiting == "confirm" and slots == before:
            return [Reply(msg.CONFIRM_AGAIN)]
        return self._advance(turn, job, slots)

    def _switches_job(self, turn: Turn, job: Job) -> bool:
        other = turn.intent
        return (
            other != job.name
            and other in REGISTRY
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
            return [Reply(job.summary(turn, slots) + "\n" + msg.CONFIRM_HINT)]
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
                replies[-1] = dataclasses.replace(last, text=last.text + msg.SAVED_UNDO_HINT.format(minutes=minutes))
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
