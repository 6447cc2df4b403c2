"""Golden conversations: who says what, what the bot must answer, what the database must hold.

In the style of errbot's test backend: push a message, pop the replies. A conversation file is YAML:

    name: 记录拜访并设置跟进
    as: 张伟                       # staff name from the demo data (default 张伟)
    now: 2026-11-27T10:00:00+08:00
    turns:
      - say: 今天下午拜访了华为张总，预计下周三报价
        expect: [记录拜访, 12月2日]     # each must appear in the joined replies
        reject: [出了点问题]             # none may appear
      - restart: true                  # a new engine over the same database (process restart)
      - as: 陈静                        # switch speaker
      - as_member: VIP0001              # speak as a member (console id "member:VIP0001", bound to it)
      - run_job: due_reminders          # run a scheduler job at the conversation's clock (scheduler.jobs.JOBS)
      - say: 确认
        expect: [已记录]
      - deliver: true                   # run the outbox notifier once (console accounts); expect/reject
        expect: ["→ 陈静: 【待审批】"]    # apply to what it sent, one "→ name: text" line per message
      - say: 上午见了华为张总 …       # voice: true — sent as a voice message, this is its recognised text
        voice: true
    db:                                 # checked after the last turn
      - model: Visit
        where: {customer: 华为技术有限公司, summary: 今天下午拜访了华为张总，预计下周三报价}
        count: 1                        # rows matching now
      - model: Reminder
        where: {customer: 华为技术有限公司, status: pending}
        added: 1                        # rows matching now minus rows matching before the first turn
      - model: Reminder
        where: {text: 跟进华为技术有限公司 张总：预计下周三报价, due_at: "2026-12-02T09:00:00+08:00"}  # ISO, any offset
      - model: Visit
        where: {contact: 李红, visited_at: 2026-11-25 12:00:00+08:00}   # contact by name; YAML times are aware
        count: 1
      - model: OutboxMessage
        where: {recipient: 陈静, status: withdrawn}   # recipient: outbox rows for that staff member
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.console import render
from crm_store import models
from crm_store.types import UTCDateTime
from crmbot.config import Config
from crmbot.wiring import Runtime, bind_console, bind_console_member
from dialogs import DialogEngine
from scheduler.jobs import run_named

CONVERSATIONS = Path(__file__).resolve().parent.parent / "conversations"
DEFAULT_NOW = "2026-11-27T10:00:00+08:00"


@dataclass
class Conversation:
    path: Path
    name: str
    speaker: str
    now: datetime
    turns: list[dict[str, Any]]
    db: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    backends: tuple[str, ...] = ("sqlite",)

    @classmethod
    def load(cls, path: Path) -> list[Conversation]:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        return [
            cls(
                path=path,
                name=doc["name"],
                speaker=doc.get("as", "张伟"),
                now=datetime.fromisoformat(str(doc.get("now", DEFAULT_NOW))),
                turns=doc["turns"],
                db=doc.get("db", []),
                config=doc.get("config", {}),
                backends=tuple(doc.get("backends", ["sqlite"])),
            )
            for doc in documents
        ]


def all_conversations() -> list[Conversation]:
    return [c for path in sorted(CONVERSATIONS.glob("*.yml")) for c in Conversation.load(path)]


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def run_conversation(conversation: Conversation, runtime: Runtime, parser: Any) -> list[str]:
    """Play every turn; return a transcript. Assertion errors name the turn that failed."""
    clock = Clock(conversation.now)
    engine = DialogEngine(runtime.factory, parser, runtime.config, clock=clock)
    speaker = conversation.speaker
    bind_console(runtime, speaker, clock())
    with runtime.factory() as session:
        before = [_count(session, check) for check in conversation.db]
    transcript: list[str] = []
    for number, turn in enumerate(conversation.turns, start=1):
        if turn.get("restart"):
            engine = DialogEngine(runtime.factory, parser, runtime.config, clock=clock)
        if "as" in turn:
            speaker = turn["as"]
            bind_console(runtime, speaker, clock())
        if "as_member" in turn:  # members (issue 6): speak as a member bound to console id "member:VIP0001"
            speaker = bind_console_member(runtime, str(turn["as_member"]), clock())
        if "wait_minutes" in turn:
            clock.now += timedelta(minutes=turn["wait_minutes"])
        if "run_job" in turn:  # issue 15: what the scheduler did before a hand-over (reminders already sent)
            run_named(str(turn["run_job"]), runtime.config, runtime.factory, clock())
        if turn.get("deliver"):
            answer = deliver_outbox(runtime, clock())
            transcript.append(f"(outbox)\n{answer}")
            where = f"{conversation.path.name} «{conversation.name}» turn {number} (deliver)"
        elif "say" in turn:
            # voice: true — the text is a WeChat voice message's Recognition (issue 17)
            replies = engine.handle("console", speaker, str(turn["say"]), message_id=turn.get("message_id"),
                                    voice=bool(turn.get("voice")))
            answer = "\n".join(render(r) for r in replies)
            transcript.append(f"{speaker}> {turn['say']}\n{answer}")
            where = f"{conversation.path.name} «{conversation.name}» turn {number} ({turn['say']!r})"
        else:
            continue
        for needle in turn.get("expect", []):
            assert str(needle) in answer, f"{where}: expected {needle!r} in reply:\n{answer}"
        for needle in turn.get("reject", []):
            assert str(needle) not in answer, f"{where}: did not expect {needle!r} in reply:\n{answer}"
    with runtime.factory() as session:
        for check, count_before in zip(conversation.db, before, strict=True):
            found = _count(session, check)
            expected = check["count"] if "count" in check else count_before + check["added"]
            assert found == expected, f"{conversation.path.name} «{conversation.name}»: {check} found {found}"
    return transcript


class _Recorder:
    """A console channel for the notifier: remembers what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, external_id: str, reply: Any, options: dict[str, Any] | None = None) -> None:
        self.sent.append((external_id, reply.text))


def deliver_outbox(runtime: Runtime, now: datetime) -> str:
    """One notifier run over the conversation's database, sending to the console accounts (named by staff)."""
    from scheduler.clock import FakeClock
    from scheduler.notifier import Notifier

    recorder = _Recorder()
    notifier = Notifier(runtime.factory, {"console": recorder}, runtime.config.scheduler, runtime.config.tz,
                        clock=FakeClock(now), worker_id="golden")
    notifier.deliver_once(now)
    return "\n".join(f"→ {who}: {text}" for who, text in recorder.sent)


def _count(session: Session, check: dict[str, Any]) -> int:
    model = getattr(models, check["model"])
    query = select(func.count()).select_from(model)
    for key, value in (check.get("where") or {}).items():
        if key == "member" and isinstance(value, str):  # members (issue 6): by member number
            column = model.member_id if hasattr(model, "member_id") else model.recipient_member_id
            query = query.where(column == select(models.Member.id).where(models.Member.member_no == value)
                                .scalar_subquery())
        elif key == "contact" and isinstance(value, str):  # corrections (issue 15): by the contact's name
            query = query.where(model.contact_id.in_(select(models.Contact.id).where(models.Contact.name == value)))
        elif key == "recipient" and isinstance(value, str):  # outbox rows for a staff member, by name
            query = query.where(model.recipient_staff_id == select(models.Staff.id).where(models.Staff.name == value)
                                .scalar_subquery())
        elif key in ("customer", "staff", "owner", "submitter") and isinstance(value, str):
            target = models.Customer if key == "customer" else models.Staff
            # AuditLog names its staff column actor_staff_id (issue 15: who opened / renewed a card).
            column = getattr(model, f"{key}_id") if hasattr(model, f"{key}_id") else model.actor_staff_id
            query = query.where(column == select(target.id).where(target.name == value).scalar_subquery())
        else:
            column = getattr(model, key)
            if isinstance(value, str) and isinstance(column.type, UTCDateTime):  # due_at: "2027-01-15T09:00:00+08:00"
                value = datetime.fromisoformat(value)
            query = query.where(column == value)
    return session.scalar(query) or 0


def make_config(base: Config, overrides: dict[str, Any]) -> Config:
    if not overrides:
        return base
    data = base.model_dump()
    for dotted, value in overrides.items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return Config.model_validate(data)

