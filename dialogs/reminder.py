"""set_reminder and list_followups."""

from __future__ import annotations

import re
from datetime import datetime

from crm_store import services
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Job, Slots, Turn, register
from dialogs.reply import Reply
from dialogs.timing import moment

_REMIND_WORDS = re.compile(r"(记得|到时候|届时)?(提醒一下我|提醒我一下|提醒我|叫我|通知我|提醒)")
_EDGE_NOISE = re.compile(r"^[\s，,。:：的在要去]+|[\s，,。!！~]+$")


def reminder_text(text: str, spans: list[tuple[int, int]]) -> str:
    """What to be reminded of: the message without its time expressions and 'remind me' words."""
    kept = list(text)
    for start, end in spans:
        for i in range(start, min(end, len(kept))):
            kept[i] = ""
    rest = _REMIND_WORDS.sub(" ", "".join(kept))
    rest = re.sub(r"\s+", " ", rest)
    return _EDGE_NOISE.sub("", rest).strip()


@register
class SetReminder(Job):
    name = "set_reminder"
    writes = True
    free_text_slots = frozenset({"text"})

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        times = ent.entities(turn.parse, "time")
        if awaiting == "text":  # 提醒您做什么？ → 下周一开周会: the answer is the content, its date included
            slots["text"] = reminder_text(turn.text, []) or turn.text.strip()
            return
        if times:
            due = moment(turn, times[0], turn.config.rules.reminders.default_followup_hour)
            if due is not None:
                slots["due_at"] = due.isoformat()
        if awaiting is None or (awaiting != "time" and not slots.get("text")):
            text = reminder_text(turn.text, [(t["start"], t["end"]) for t in times])
            if text:
                slots["text"] = text
        name = ent.text_of(turn.parse, "customer")
        if name:
            found = services.find_customers(turn.session, turn.actor, name)
            if len(found) == 1:
                slots["customer"] = {"id": found[0].id, "name": found[0].name}

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if not slots.get("due_at") or datetime.fromisoformat(slots["due_at"]) <= turn.now:
            return "time"
        return None if slots.get("text") else "text"

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        if slot == "time" and slots.get("due_at"):
            return DM.REMINDER_IN_PAST.format(when=DM.when(datetime.fromisoformat(slots["due_at"]), today=turn.now.date()))
        return DM.ASK_REMINDER_TIME if slot == "time" else DM.ASK_REMINDER_TEXT

    def summary(self, turn: Turn, slots: Slots) -> str:
        customer = slots.get("customer")
        return DM.REMINDER_SUMMARY.format(
            when=DM.when(datetime.fromisoformat(slots["due_at"]), today=turn.now.date()),
            text=slots["text"],
            customer=DM.REMINDER_CUSTOMER.format(customer=customer["name"]) if customer else "",
        )

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        due = datetime.fromisoformat(slots["due_at"])
        customer = slots.get("customer")
        services.create_reminder(
            turn.session,
            turn.actor,
            due_at=due,
            text=slots["text"],
            customer_id=customer["id"] if customer else None,
            now=turn.now,
        )
        return [Reply(DM.REMINDER_SAVED.format(when=DM.when(due, today=turn.now.date()), text=slots["text"]))]


@register
class ListFollowups(Job):
    name = "list_followups"

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        days = turn.config.rules.reminders.dormant_after_days
        followups = services.list_followups(turn.session, turn.actor, now=turn.now, tz=turn.tz, untouched_days=days)
        lines = [DM.FOLLOWUPS_HEADER.format(day=DM.day(turn.now.date(), today=turn.now.date()))]
        if followups.today:
            lines.append(DM.FOLLOWUPS_TODAY.format(count=len(followups.today)))
            lines += [self._line(turn, r) for r in followups.today]
        if followups.overdue:
            lines.append(DM.FOLLOWUPS_OVERDUE.format(count=len(followups.overdue)))
            lines += [self._line(turn, r) for r in followups.overdue]
        if not followups.today and not followups.overdue:
            lines.append(DM.FOLLOWUPS_NONE)
        if followups.untouched:
            lines.append(DM.FOLLOWUPS_UNTOUCHED.format(days=days))
            lines += [DM.UNTOUCHED_LINE.format(name=c.name, days=n) for c, n in followups.untouched]
        return [Reply("\n".join(lines))]

    def _line(self, turn: Turn, reminder) -> str:  # type: ignore[no-untyped-def]
        return DM.FOLLOWUP_LINE.format(when=DM.when(reminder.due_at.astimezone(turn.tz), today=turn.now.date()), text=reminder.text)
