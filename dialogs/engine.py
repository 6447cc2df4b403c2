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
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_store import services
from crm_store.errors import CRMError
from crm_store.services import conversations, outbox
from crm_store.services.undo import undoable_write
from dialogs import (  # noqa: F401  (importing a job module registers it)
    approval,
    binding,
    combined,
    correction,
    customer,
    edit,
    handover,
    meaning,
    member,
    opportunity,
    order,
    reminder,
    report,
    smalltalk,
    staff,
    visit,
)
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import REGISTRY, Job, Slots, Turn, claiming_job
from dialogs.reply import Outcome, Reply
from dialogs.resolve import PICK, apply_pick, pick_prompt
from dialogs.settings import DialogConfig

log = logging.getLogger(__name__)

MAX_TEXT = 2000
# A message this long that looks like another job, arriving mid-form, starts that job instead.
SWITCH_MIN_CHARS = 8
SWITCH_MIN_CONFIDENCE = 0.75
PLAN_JOB = "set_reminder"  # a visit on a later day is a plan: reminded of, not written as done
LOOKUP_OF_A_QUESTION = "customer_history"  # 华为最近咋样？ asked while another customer's draft waits
MAX_PARKED = 3  # forms put aside for a new request, most recent last

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


def _notice_payload(notice: Reply) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if notice.buttons:
        payload["buttons"] = [[b.label, b.reply_text] for b in notice.buttons]
    if notice.tell_if_unreachable is not None:  # who to tell when the recipient has no chat account
        payload["unreachable_tell"] = notice.tell_if_unreachable
    return payload


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
        self._names = services.NamesCursor()
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
        dedup = message_id is not None and finish is None
        with self.factory() as session:
            # Identity, actor, state (locked), the stored answer to a repeated message id and whether
            # names changed: one statement in the usual case.
            context = conversations.turn_context(
                session, channel, external_id, message_id if dedup else None, self._names.low or 0
            )
            if dedup and context is not None and context.stored_replies is not None:
                session.rollback()  # processed before: the same answer again
                return Outcome([Reply.from_dict(r) for r in context.stored_replies])
            if dedup and context is None and conversations.processed_message(session, channel, message_id):
                session.rollback()
                return self._stored_reply(channel, message_id)
            outcome = self._respond(session, channel, external_id, text, message_id, now, context, voice)
            replies = [r.to_dict() for r in outcome.replies] if dedup else []
            if context is not None and outcome.state is not None:  # the state and the mark: one statement
                recorded = conversations.save_turn(session, context.state_id, outcome.state, now, channel,
                                                   message_id if dedup else None, replies)
            else:
                recorded = not dedup or conversations.record_message(session, channel, message_id, now, replies)
            if not recorded:  # a concurrent copy of this message committed first: its answer, not ours
                session.rollback()
                return self._stored_reply(channel, message_id)
            if finish is not None:
                finish(session, outcome)
            session.commit()
            return outcome

    def _stored_reply(self, channel: str, message_id: str) -> Outcome:
        with self.factory() as session:
            return Outcome([Reply.from_dict(r) for r in conversations.stored_replies(session, channel, message_id)])

    def _respond(
        self, session: Session, channel: str, external_id: str, text: str, message_id: str | None, now: datetime,
        context: conversations.TurnContext | None = None,
        voice: bool = False,
    ) -> Outcome:
        if context is None:  # first contact or an unknown chat account: the identity step by step
            identity = services.identity_for(session, channel, external_id)
            if identity is None:
                return Outcome(binding.handle_unknown(session, channel, external_id, text, message_id, now))
            staff, member_id = identity.staff, identity.member_id
            member_name = identity.member.name if identity.member else None
        else:
            staff, member_id, member_name = context.staff, context.member_id, context.member_name
        if not text:
            return Outcome([Reply(DM.EMPTY_TEXT)])
        if len(text) > MAX_TEXT:
            return Outcome([Reply(DM.TOO_LONG.format(limit=MAX_TEXT))])
        if staff is not None:
            try:
                actor = services.actor_from_staff(staff, channel, message_id)
            except CRMError as error:  # a deactivated account: say so, no traceback
                return Outcome([Reply(error.message)])
        else:
            actor = services.Actor(
                staff_id=None, member_id=member_id, role="member", name=member_name or "会员",
                via_channel=channel, via_message=message_id,
            )
        if binding.is_unbind(text):
            return Outcome(binding.handle_unbind(session, actor, channel, external_id, now))
        if context is not None:  # the state is saved by _handle, with the message's last statement
            self._refresh_names(session, context.names_unseen)
            return self._converse(session, actor, channel, text, message_id, now, context.state, lambda _: None,
                                  voice)
        self._refresh_names(session)
        state_row = conversations.state_for(session, channel, external_id, now)

        def save(state: dict[str, Any]) -> None:
            state_row.state = state
            state_row.updated_at = now

        return self._converse(session, actor, channel, text, message_id, now, state_row.state or {}, save, voice)

    def _converse(
        self, session: Session, actor: services.Actor, channel: str, text: str, message_id: str | None,
        now: datetime, stored_state: dict[str, Any], save: Callable[[dict[str, Any]], None], voice: bool = False,
    ) -> Outcome:
        state = copy.deepcopy(stored_state)
        with self._nlu_lock:
            parsed = self.parser.parse(text, now=now)
        turn = Turn(session, actor, now, self.config, text, parsed, state, voice=voice)
        replies = self._dispatch(turn)
        save(turn.state)
        self._queue_notices(session, turn, channel, message_id)
        return Outcome(replies, list(turn.notices), state=turn.state)

    def _queue_notices(self, session: Session, turn: Turn, channel: str, message_id: str | None) -> None:
        """Messages for other people go through the outbox, in the same transaction as the change (one
        INSERT … ON CONFLICT DO NOTHING for all of them)."""
        if not turn.notices:
            return
        origin = message_id or uuid.uuid4().hex
        outbox.enqueue_many(session, [
            {
                "key": f"notice:{channel}:{origin}:{number}", "kind": "notice", "text": notice.text,
                "due_at": turn.now, "staff_id": notice.to_staff_id, "member_id": notice.to_member_id,
                "attachment_path": notice.image_path, "payload": _notice_payload(notice) or None,
                "topic": notice.topic,
            }
            for number, notice in enumerate(turn.notices)
        ], now=turn.now)

    def _refresh_names(self, session: Session, unseen: int | None = None) -> None:
        """Feed CRM names to the NLU gazetteer as they change. `unseen` is the names feed's row count above
        our mark, read with the message's first statement; when it says nothing changed this costs nothing,
        else only the new names are read and added (an entity is reloaded only after a rename or delete).
        Other threads wait for a load in progress instead of parsing without the names."""
        if not self._names.has_news(unseen):
            return
        with self._nlu_lock:
            update = self._names.read(session)
            for entity in sorted(update.reload):
                self.parser.set_lookup(entity, services.entity_names(session, entity), source="db")
            for entity, names in update.add.items():
                add = getattr(self.parser, "update_lookup", None)
                if add is not None:
                    add(entity, add=names, source="db")
                else:
                    self.parser.set_lookup(entity, services.entity_names(session, entity), source="db")

    # --- routing -----------------------------------------------------------------------------
    def _dispatch(self, turn: Turn) -> list[Reply]:
        replies = self._route(turn)
        return self._resume_parked(turn, replies)

    def _route(self, turn: Turn) -> list[Reply]:
        form = turn.state.get("form")
        if form and self._expired(form, turn.now):
            turn.state.pop("form")
            form = None
        plain = _plain(turn.text)
        # 「完成 2」 / 「2 不用了」 are the reminder job's; 「把刚才那条提醒删了」 edits the record just saved.
        claimed = None if form or edit.names_latest(turn.text) else claiming_job(turn)
        if claimed is not None:  # 「完成 2」 / 「2 不用了」: the job's own words, before 不用了 reads as cancel
            return self._start(turn, job=claimed)
        if edit.is_request(turn.text) and not (form and edit.about_draft(form["job"], turn.text)):
            # 把刚才那条提醒删了: a saved record; a form open for something else is put aside
            turn.parse = meaning.as_intent(turn.parse, edit.EditRecord.name)
            if form and form["job"] != edit.EditRecord.name:  # another edit request replaces an edit draft
                return self._park_and_start(turn, REGISTRY[form["job"]], form)
            turn.state.pop("form", None)
            return self._start(turn)
        if meaning.is_saved_mistake(turn.text):  # 刚才那条记错了
            if not form:
                return [Reply(self._mistake_help(turn))]
            if correction.corrects(form["job"]):  # at a form it is the form that is wrong: ask what
                return [Reply(DM.WHAT_TO_CHANGE.format(
                    example=DM.FIX_EXAMPLE[form["job"]], fields=correction.JOB_FIELD_NAMES[form["job"]]))]
        # A multi-part report reads its own 「提醒不要了」 (drop that part), not a cancel of the whole.
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
        if meaning.is_thanks(turn.text):
            return [Reply(DM.THANKS)]
        if meaning.bare_customer_name(turn):  # 华为 / 吉利呢: that customer's card
            turn.parse = meaning.as_intent(turn.parse, "query_customer")
        return self._start(turn)

    def _mistake_help(self, turn: Turn) -> str:
        minutes = self.config.dialogs.undo_minutes
        recent = bool(minutes) and undoable_write(turn.session, turn.actor, now=turn.now, window_minutes=minutes) is not None
        return DM.MISTAKE_HELP.format(minutes=minutes) if recent else DM.MISTAKE_HELP_LATE

    def _resume_parked(self, turn: Turn, replies: list[Reply]) -> list[Reply]:
        """A form put aside for a new request comes back once that request is done (or cancelled)."""
        parked: list[dict[str, Any]] = turn.state.get("parked") or []
        while parked and "form" not in turn.state:
            form = parked.pop()
            if self._expired(form, turn.now):
                continue
            job = REGISTRY[form["job"]]
            slots = form["slots"]
            try:
                if form["awaiting"] == "confirm":
                    prompt = job.summary(turn, slots) + "\n" + DM.CONFIRM_HINT
                elif form["awaiting"] == "pick":
                    prompt = pick_prompt(slots)
                else:
                    prompt = job.question(turn, slots, form["awaiting"])
            except CRMError:
                continue
            self._save_form(turn, job, slots, form["awaiting"])
            title = DM.JOB_TITLES.get(job.name, job.name)
            replies = [*replies, Reply(DM.RESUME_FORM.format(job=title) + "\n" + prompt)]
        if not parked:
            turn.state.pop("parked", None)
        return replies

    def _expired(self, form: dict[str, Any], now: datetime) -> bool:
        updated = datetime.fromisoformat(form["updated"])
        return now - updated > timedelta(minutes=self.config.dialogs.form_timeout_minutes)

    def _start(self, turn: Turn, prefix: str | None = None, job: Job | None = None) -> list[Reply]:
        if job is None:
            intent = turn.intent
            talk = smalltalk.answer(turn)
            if talk is not None:
                return talk
            job = REGISTRY.get(intent)
            if job is None and combined.is_combined_parse(turn.parse):  # log_visit+set_reminder: one report
                job = REGISTRY[combined.NAME]
            if job is None:
                return [Reply(DM.NOT_YET.format(job=DM.JOB_TITLES.get(intent, intent)))]
            if job.name == visit.LogVisit.name and visit.is_plan(turn):  # 明儿上午约了蔚来的于总: not done yet
                job = REGISTRY[PLAN_JOB]
                prefix = prefix or DM.VISIT_IS_A_PLAN
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
            if plain in AFFIRM_WORDS or meaning.is_preview_yes(turn.text):
                return self._run_job(turn, job, slots)
            if meaning.is_thanks(turn.text):
                return [Reply(DM.THANKS_FORM_WAITING)]
            if meaning.is_something_wrong(turn.text):  # 不对 alone: ask what, never throw the draft away
                self._save_form(turn, job, slots, awaiting)
                if not correction.corrects(job.name):
                    return [Reply(DM.WHAT_IS_WRONG)]
                return [Reply(DM.WHAT_TO_CHANGE.format(
                    example=DM.FIX_EXAMPLE[job.name], fields=correction.JOB_FIELD_NAMES[job.name]))]
        fix = self._fix_for(turn, job, awaiting)
        if fix is not None:
            return self._correct(turn, job, slots, awaiting, fix)
        if awaiting == "confirm":
            if turn.intent in ("affirm", "approve"):
                return self._run_job(turn, job, slots)
            if plain in DENY_WORDS or (turn.intent in ("deny", "reject") and not correction.says_change(turn.text)
                                       and not job.reads_itself(turn, slots)):
                turn.state.pop("form", None)
                return [Reply(DM.CANCELLED)]
        if awaiting not in job.free_text_slots and self._switches_job(turn, job, slots, awaiting):
            return self._park_and_start(turn, job, form)
        if awaiting not in job.free_text_slots and awaiting != "pick" and self._asks_aside(turn, job, slots, awaiting):
            other = REGISTRY.get(turn.intent)
            if other is None or other.writes:  # the question is a look-up, whatever the classifier guessed
                turn.parse = meaning.as_intent(turn.parse, LOOKUP_OF_A_QUESTION)
            return self._park_and_start(turn, job, form)
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
        if awaiting == "confirm":
            correction.keep_content(job.name, before, slots)  # what was said at the preview is no content
        if awaiting == "confirm" and slots == before:
            return [Reply(DM.CONFIRM_AGAIN)]
        return self._advance(turn, job, slots)

    def _fix_for(self, turn: Turn, job: Job, awaiting: str | None) -> correction.Fix | None:
        """A correction of a field shown (at the preview), or one named explicitly while asking another."""
        if not correction.corrects(job.name) or awaiting == "pick" or awaiting in job.free_text_slots:
            return None
        fix = correction.read(turn.text)
        if fix is None and awaiting == "confirm":
            return correction.answer_for_asked(turn.text, turn.state["form"]["slots"])
        if fix is None or (awaiting != "confirm" and (fix.field is None or not fix.marked or not fix.value)):
            return None
        return fix

    def _correct(
        self, turn: Turn, job: Job, slots: Slots, awaiting: str | None, fix: correction.Fix
    ) -> list[Reply]:
        with self._nlu_lock:
            value = correction.Value(fix.value, self.parser.parse(fix.value, now=turn.now))
        problem = correction.apply(turn, job.name, slots, fix, value)
        if problem is not None:  # nothing changed (but a field asked about): the form waits
            self._save_form(turn, job, slots, awaiting or "confirm")
            return [Reply(problem)]
        return self._advance(turn, job, slots)

    def _park_and_start(self, turn: Turn, job: Job, form: dict[str, Any]) -> list[Reply]:
        """A new request while a form waits: the form is put aside (never lost) and comes back after. A whole
        report said again, or one answering 「拜访的是哪个客户？」 with the visit itself, replaces the form
        instead: bringing that draft back after would write the same record twice."""
        if self._report_replaces(turn, job, form):
            turn.state.pop("form")
            return self._start(turn, prefix=DM.DROPPED_FORM.format(job=DM.JOB_TITLES.get(job.name, job.name)))
        if not job.writes:  # a look-up's question (是哪个客户？) left unanswered: moving on drops it, nothing is lost
            turn.state.pop("form")
            return self._start(turn)
        parked = turn.state.setdefault("parked", [])
        parked.append(turn.state.pop("form"))
        del parked[:-MAX_PARKED]
        return self._start(turn, prefix=DM.PARKED_FORM.format(job=DM.JOB_TITLES.get(job.name, job.name)))

    @staticmethod
    def _report_replaces(turn: Turn, job: Job, form: dict[str, Any]) -> bool:
        if not combined.is_combined_parse(turn.parse):
            return False
        if job.name == combined.NAME:
            return True
        visits = any(p.get("intent") == job.name for p in turn.parse.get("parts") or [])
        return job.name == "log_visit" and form.get("awaiting") == "customer" and visits

    def _switches_job(self, turn: Turn, job: Job, slots: Slots, awaiting: str | None) -> bool:
        if meaning.is_new_request(turn, job.name, slots, awaiting):
            return True
        if not self._is_other_job(turn, job):
            return False
        if len(turn.text) >= SWITCH_MIN_CHARS:
            return True
        # Short: 华为的电话 while the bot waits for a time is a look-up (the form comes back after it),
        # unless the message holds what was asked for.
        other = REGISTRY.get(turn.intent)
        return other is not None and not other.writes and meaning.answers(turn, awaiting) is False

    @staticmethod
    def _asks_aside(turn: Turn, job: Job, slots: Slots, awaiting: str | None) -> bool:
        """A question said while the draft waits, not about the draft: 华为最近咋样 (another customer), or at the
        preview 吉利有哪些商机 / 侯军电话多少 (a look-up, or nothing we know). Answered, and the draft comes back
        unchanged; read as content it added order lines or changed the contact."""
        if meaning.asks_about_other_customer(turn, slots):
            return True
        if awaiting != "confirm" or turn.intent == job.name or not meaning.is_question(turn.text):
            return False
        other = REGISTRY.get(turn.intent)
        return other is None or not other.writes

    @staticmethod
    def _is_other_job(turn: Turn, job: Job) -> bool:
        other = turn.intent
        known = other in REGISTRY or combined.is_combined_parse(turn.parse)  # a whole report, said anew
        return other != job.name and known and ent.confidence(turn.parse) >= SWITCH_MIN_CONFIDENCE

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
        if job.writes and job.confirms(turn, slots) and self._needs_confirmation(turn):
            self._save_form(turn, job, slots, "confirm")
            heard = DM.VOICE_HEARD.format(text=turn.text) + "\n" if turn.voice else ""  # a mis-heard word shows
            return [Reply(heard + job.summary(turn, slots) + "\n" + DM.CONFIRM_HINT)]
        return self._run_job(turn, job, slots)

    def _run_job(self, turn: Turn, job: Job, slots: Slots) -> list[Reply]:
        turn.state.pop("form", None)
        if job.read_only:  # nothing to roll back: no savepoint round trips
            try:
                return job.execute(turn, slots)
            except CRMError as error:
                return [Reply(error.message)]
        savepoint = turn.session.begin_nested()
        try:
            replies = job.execute(turn, slots)
            savepoint.commit()
        except CRMError as error:
            savepoint.rollback()
            return [Reply(error.message)]
        if job.writes:
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
        return [Reply(done)]
