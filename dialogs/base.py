"""The pieces every job shares: the turn being handled, the Job interface and the job registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crm_store.services import Actor
from dialogs import entities as ent
from dialogs.reply import Reply
from dialogs.settings import DialogConfig

SALES_ROLES = frozenset({"rep", "manager", "director", "admin"})
MANAGER_ROLES = frozenset({"manager", "director", "admin"})
STAFF_ROLES = frozenset({"rep", "manager", "director", "admin", "clerk"})
EVERYONE = STAFF_ROLES | {"member"}
# Numbered lists a person may answer by number (完成 2 / 第二个驳回): the ids shown, kept in the conversation state.
FOLLOWUP_LIST = "followup_list"
APPROVAL_LIST = "approval_list"
LIST_VALID_HOURS = 12


def remember_list(turn: Turn, key: str, ids: list[int]) -> None:
    turn.state[key] = {"ids": ids, "at": turn.now.isoformat()}


def shown_list(turn: Turn, key: str) -> list[int] | None:
    """The ids of that list while its numbers are what the person has in mind: shown within LIST_VALID_HOURS and
    no other numbered list shown since."""
    shown = turn.state.get(key)
    if not shown:
        return None
    at = datetime.fromisoformat(shown["at"])
    others = [turn.state[k] for k in (FOLLOWUP_LIST, APPROVAL_LIST) if k != key and turn.state.get(k)]
    if turn.now - at > timedelta(hours=LIST_VALID_HOURS) or any(datetime.fromisoformat(o["at"]) > at for o in others):
        return None
    return list(shown["ids"])

Slots = dict[str, Any]


@dataclass
class Turn:
    """One incoming message being handled, with everything a job may use."""

    session: Session
    actor: Actor
    now: datetime  # aware, in the configured timezone
    config: DialogConfig
    text: str
    parse: ent.Parse
    state: dict[str, Any]  # the persisted conversation state; jobs may keep cursors here
    notices: list[Reply] = field(default_factory=list)  # replies for other people (approvers, ...)
    voice: bool = False  # the text is the platform's speech recognition of a voice message (语音)

    @property
    def tz(self) -> ZoneInfo:
        return self.config.tz

    @property
    def intent(self) -> str:
        return ent.intent(self.parse)


class Job:
    """One CRM job driven by a short form: fill slots, ask for what's missing, confirm, execute.

    Slots hold JSON-safe values only (ids, strings, ISO times) because they are persisted between messages.
    """

    name: ClassVar[str]
    roles: ClassVar[frozenset[str]] = SALES_ROLES
    writes: ClassVar[bool] = False
    # Whether 撤销 can revert what execute() wrote (the engine only offers undo when it can).
    undoable: ClassVar[bool] = True
    # execute() only reads (no service it calls writes): the engine runs it without a savepoint.
    read_only: ClassVar[bool] = False
    # Slots whose answer is free text taken as written (a rejection reason): never read as a new job.
    free_text_slots: ClassVar[frozenset[str]] = frozenset()

    def claims(self, turn: Turn) -> bool:
        """Whether the message is this job's by its fixed wording, whatever the NLU intent (「完成 2」 after a
        list). Asked before the intent, when no form is open."""
        return False

    def confirms(self, turn: Turn, slots: Slots) -> bool:
        """Whether this write is shown for confirmation first (when the speaker confirms writes at all)."""
        return True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        """Update slots from this message; `awaiting` is the slot the bot asked for, if any."""

    def reads_itself(self, turn: Turn, slots: Slots) -> bool:
        """True when this form reads a message that otherwise means cancel / no (提醒不要了 drops one part
        of a report, not the report)."""
        return False

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        """The next slot to ask for, or None when the job can run. May put a list to pick from in slots."""
        return None

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        raise NotImplementedError(f"{self.name} asks for no slot {slot}")

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        """Replies that end the job before confirmation (e.g. a duplicate), or None to go on."""
        return None

    def summary(self, turn: Turn, slots: Slots) -> str:
        """The one-screen summary shown before a write is confirmed."""
        raise NotImplementedError(f"{self.name} writes nothing to confirm")

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        raise NotImplementedError


REGISTRY: dict[str, Job] = {}


def register(job_class: type[Job]) -> type[Job]:
    REGISTRY[job_class.name] = job_class()
    return job_class


def claiming_job(turn: Turn) -> Job | None:
    return next((job for job in REGISTRY.values() if job.claims(turn)), None)
