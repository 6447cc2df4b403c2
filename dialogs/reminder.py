"""set_reminder and list_followups."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any

from crm_store import services
from crm_store.models import Reminder
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import FOLLOWUP_LIST, Job, Slots, Turn, register, remember_list, shown_list
from dialogs.reply import Reply
from dialogs.timing import plan_moment

LIST_LIMIT = 30
_OVERDUE_ONLY = re.compile(r"逾期|过期|超期|拖了|误了|漏了|错过")

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
            due = plan_moment(turn, times[0], turn.config.rules.reminders.default_followup_hour)
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
    """明天要跟进谁 / 这周还有哪些要跟进的 / 我的提醒: open reminders of the day or span asked about (all of them
    when none is said), overdue ones too when the range takes in today; grouped by day and numbered, the
    numbers kept so 「完成 2」 can act on them."""

    name = "list_followups"
    read_only = True  # it only remembers the numbers it showed (conversation state)

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        today = turn.now.date()
        asked = self._asked_range(turn)
        start, end = (asked[0], asked[1]) if asked else (None, None)
        today_start = datetime.combine(today, time(0), tzinfo=turn.tz)
        covers_today = asked is None or start <= today_start < end  # type: ignore[operator]
        overdue_only = bool(_OVERDUE_ONLY.search(turn.text))
        if overdue_only:  # 哪些逾期了还没跟进 / 上周过期没办的: the overdue ones alone
            cutoff = min(end, today_start) if end else today_start
            overdue, upcoming, covers_today = self._open(turn, start, cutoff), [], True
        elif covers_today:  # one query: the overdue ones (before today) and those due up to the end
            found = self._open(turn, None, end)
            overdue = [r for r in found if r.due_at < today_start]
            upcoming = [r for r in found if r.due_at >= today_start]
        else:
            overdue, upcoming = [], self._open(turn, start, end)
        shown = (overdue + upcoming)[:LIST_LIMIT]
        lines = [self._header(turn, asked)]
        number = 0
        groups = self._groups(turn, shown, overdue_ids={r.id for r in overdue})
        one_day = len(groups) == 1 and asked is not None and asked[1] - asked[0] <= timedelta(days=1)
        for title, group in groups:
            if not one_day or title == DM.FOLLOWUPS_OVERDUE:  # 明天要跟进谁: the header already says the day
                lines.append(title.format(count=len(group)))
            for reminder in group:
                number += 1
                lines.append(self._line(turn, number, reminder, with_day=title == DM.FOLLOWUPS_OVERDUE))
        if shown and not upcoming and asked is not None and covers_today and not overdue_only:
            lines.append(DM.FOLLOWUPS_NONE_DUE_IN_RANGE)
        if not shown:
            lines.append(DM.FOLLOWUPS_NONE_IN_RANGE if asked else DM.FOLLOWUPS_NONE_AT_ALL)
            later = self._open(turn, end, None)[:1] if end else []
            if later:
                lines.append(DM.FOLLOWUPS_NEXT.format(reminder=reminder_label(turn, later[0])))
        elif len(overdue) + len(upcoming) > len(shown):
            lines.append(DM.FOLLOWUPS_MORE.format(count=len(overdue) + len(upcoming) - len(shown)))
        if shown:
            remember_list(turn, FOLLOWUP_LIST, [r.id for r in shown])
        if self._with_untouched(turn, asked, today_start):
            days = turn.config.rules.reminders.dormant_after_days
            untouched = services.untouched_customers(turn.session, turn.actor, now=turn.now, days=days)
            if untouched:
                lines.append(DM.FOLLOWUPS_UNTOUCHED.format(days=days))
                lines += [DM.UNTOUCHED_LINE.format(name=c.name, days=n) for c, n in untouched]
        if shown:
            lines.append(DM.FOLLOWUPS_ACT_HINT)
        return [Reply("\n".join(lines))]

    def _open(self, turn: Turn, start: datetime | None, end: datetime | None) -> list[Reminder]:
        # the lines show the reminder's own text: its customer is not loaded
        return services.open_reminders(turn.session, turn.actor, start=start, end=end, with_customers=False)

    def _asked_range(self, turn: Turn) -> tuple[datetime, datetime, str] | None:
        """[start, end) of the first time said, with its words; None when no time was said."""
        for entity in ent.entities(turn.parse, "time"):
            span = ent.span_of(entity.get("value"), turn.tz)
            if span is not None:
                return span[0], span[1] + timedelta(seconds=1), entity["text"]
        return None

    def _header(self, turn: Turn, asked: tuple[datetime, datetime, str] | None) -> str:
        today = turn.now.date()
        if asked is None:
            return DM.FOLLOWUPS_ALL_HEADER
        first, last = asked[0].date(), (asked[1] - timedelta(seconds=1)).date()
        if first == last:
            return DM.FOLLOWUPS_HEADER.format(day=DM.day(first, today=today))
        return DM.FOLLOWUPS_RANGE_HEADER.format(
            words=asked[2], first=DM.day(first, today=today), last=DM.day(last, today=today)
        )

    def _groups(self, turn: Turn, shown: list[Reminder], overdue_ids: set[int]) -> list[tuple[str, list[Reminder]]]:
        """已逾期 first, then one group per day."""
        groups: list[tuple[str, list[Reminder]]] = []
        overdue = [r for r in shown if r.id in overdue_ids]
        if overdue:
            groups.append((DM.FOLLOWUPS_OVERDUE, overdue))
        today = turn.now.date()
        for day, items in groupby((r for r in shown if r.id not in overdue_ids), key=lambda r: self._day(turn, r)):
            title = DM.day(day, today=today) + "（{count}）："
            groups.append(((DM.TODAY_MARK if day == today else "") + title, list(items)))
        return groups

    def _day(self, turn: Turn, reminder: Reminder) -> date:
        return reminder.due_at.astimezone(turn.tz).date()

    def _line(self, turn: Turn, number: int, reminder: Reminder, *, with_day: bool) -> str:
        due = reminder.due_at.astimezone(turn.tz)
        when = DM.when(due, today=turn.now.date()) if with_day else f"{due:%H:%M}"
        return DM.FOLLOWUP_LINE.format(number=number, when=when, text=reminder.text)

    def _with_untouched(self, turn: Turn, asked: tuple[datetime, datetime, str] | None, today_start: datetime) -> bool:
        """Customers nobody has called for a while belong to 今天该联系谁, not to 下周的提醒 or 我的提醒."""
        if "提醒" in turn.text:
            return False
        return asked is None or asked[0] == today_start and asked[1] - asked[0] <= timedelta(days=1)


def reminder_label(turn: Turn, reminder: Reminder) -> str:
    due = reminder.due_at.astimezone(turn.tz)
    return DM.REMINDER_LABEL.format(when=DM.when(due, today=turn.now.date()), text=reminder.text)


# --- 完成 2 / 华为那个已经办完了 / 华为那个提醒不用了 -------------------------------------------------------

_NUM = ent.LIST_NUM
_ONE = rf"(?:第\s*)?{_NUM}(?:\s*[条个项号])?"
_NUMS = rf"{_ONE}(?:\s*(?:[、,，/和跟及与]|\s)\s*{_ONE})*"
_DONE = (r"已完成|完成|办完|做完|弄完|处理完|搞完|搞定|办好|弄好|做好|处理好|办妥|完事|done|ok"
         r"|(?:发|打|送|交|寄|签|联系|回访|跟进|拜访)(?:完|过)")
_DROP = r"不用提醒了|不用了|不需要了|不要了|删除|删掉|删了|删|取消|去掉|作废"
_TAIL = r"\s*(?:吧|啦|哈|哦)?\s*[。.!！~～]*$"
_BY_NUMBER = [
    re.compile(rf"(?i)^(?:把|将)?\s*(?P<verb>{_DONE}|{_DROP})(?:了|掉)?\s*(?:提醒)?\s*(?P<nums>{_NUMS}){_TAIL}"),
    re.compile(rf"(?i)^(?:把|将)?\s*(?P<nums>{_NUMS})\s*(?:提醒)?\s*(?:已经|已|都|也)?\s*(?P<verb>{_DONE}|{_DROP})(?:了|掉了?)?{_TAIL}"),
]
_BY_WORDS = [
    re.compile(rf"(?i)^(?:把|将)?(?P<ref>.{{1,24}}?)\s*(?:已经|已|都|也|我)?\s*(?P<verb>{_DONE}|{_DROP})(?:了|掉了?)?{_TAIL}"),
    re.compile(rf"^(?:把|将)?\s*(?P<verb>删除|删掉|取消|去掉|完成)(?:了|掉)?\s*(?P<ref>.{{1,24}}?)\s*提醒{_TAIL}"),
]
# Done words alone (not 搞定了 / ok: those answer other things too).
_BARE_DONE = re.compile(rf"^(?:好的?[，,\s]*)?(?:已经|都|全部|全都)?(?:已经|都)?(?:已完成|完成|办完|做完|弄完|处理完|办好|弄好|处理好|办妥)了?{_TAIL}")
_MARKER = re.compile(r"那个|那条|那件|这个|这条|这件|提醒|待办")
_REF_NOISE = re.compile(r"^(?:把|将|是)|(?:的|那个|那条|那件事?|这个|这条|这件事?|提醒|待办|事情?|任务|吧|\s)+$")
_SETS_REMINDER = re.compile(r"提醒我|叫我|通知我|记得|别忘")
_ALL_WORDS = {"都", "都是", "全部", "全都", "都要", "所有", "都完成了", "都办完了"}


def numbers_in(text: str) -> list[int]:
    return [n for t in re.findall(_NUM, text) if (n := ent.small_number(t)) is not None]


def _status(verb: str) -> str:
    return "cancelled" if re.fullmatch(_DROP, verb) else "done"


def reminder_command(text: str) -> dict[str, Any] | None:
    """{'status', 'numbers'} or {'status', 'ref'} when the message closes reminders; None otherwise."""
    text = text.strip()
    if len(text) > 30 or _SETS_REMINDER.search(text):
        return None
    for pattern in _BY_NUMBER:
        m = pattern.match(text)
        if m:
            return {"status": _status(m["verb"]), "numbers": numbers_in(m["nums"])}
    if _BARE_DONE.match(text):  # 办完了, said back to a reminder that just came in; 都办完了 to a list
        return {"status": "done", "ref": "", "all": bool(re.search("都|全部|全都", text))}
    for pattern in _BY_WORDS:
        m = pattern.match(text)
        if not m:
            continue
        ref = _REF_NOISE.sub("", m["ref"]).strip()
        status = _status(m["verb"])
        has_reminder_word = "提醒" in text or "待办" in text
        # 华为那单搞定了 is a won deal and 华为那个单子不要了 an order: only with 提醒 / 待办 are they reminders.
        if status == "cancelled" or m["verb"] == "搞定":
            if not has_reminder_word:
                continue
        elif not (_MARKER.search(text) and ("了" in text or "已" in text)):
            continue
        return {"status": status, "ref": ref}  # an empty ref (那个提醒不用了): which one is asked
    return None


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


@register
class CloseReminder(Job):
    """「完成 2」 on the list just shown, 「华为那个已经办完了」, 「华为那个提醒不用了」: reminders marked done or
    cancelled (audited, undoable). Which one is asked when the words fit several."""

    name = "close_reminder"
    writes = True

    def claims(self, turn: Turn) -> bool:
        return turn.actor.role in self.roles and reminder_command(turn.text) is not None

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        if awaiting == "reminder":
            self._read_choice(turn, slots)
            return
        command = reminder_command(turn.text)
        if command is None or slots.get("ids"):
            return
        slots["status"] = command["status"]
        if "numbers" in command:
            self._from_list(turn, slots, command["numbers"])
        else:
            self._from_words(turn, slots, command["ref"], every=command.get("all", False))

    def _shown(self, turn: Turn) -> list[int] | None:
        """The ids of the list shown last, while its numbers are still what the rep has in mind."""
        return shown_list(turn, FOLLOWUP_LIST)

    def _from_list(self, turn: Turn, slots: Slots, numbers: list[int]) -> None:
        ids = self._shown(turn)
        if ids is None:
            slots["problem"] = DM.REMINDER_NO_LIST
            return
        if any(not 1 <= n <= len(ids) for n in numbers):
            slots["problem"] = DM.REMINDER_NUMBER_OUT_OF_RANGE.format(count=len(ids))
            return
        slots["ids"] = [ids[n - 1] for n in numbers]
        slots["by_number"] = True

    def _from_words(self, turn: Turn, slots: Slots, ref: str, *, every: bool = False) -> None:
        day_end = datetime.combine(turn.now.date() + timedelta(days=1), time(0), tzinfo=turn.tz)
        if ref:
            found = self._matching(turn, ref)
        else:  # 那个提醒不用了 / 办完了: one of the list just shown, else the one just pushed, else one due now
            shown = self._shown(turn)
            found = [r for r in services.open_reminders(turn.session, turn.actor, end=None if shown else day_end)
                     if shown is None or r.id in shown]
            if shown:
                found.sort(key=lambda r: shown.index(r.id))
            pushed = [r for r in found if r.status == "sent"]
            found = pushed if shown is None and len(pushed) == 1 else found
        if not found:
            slots["problem"] = (DM.REMINDER_NOT_MATCHED.format(query=ref) if ref else DM.REMINDER_NO_LIST)
            return
        due = [r for r in found if r.due_at < day_end]
        if every and self._shown(turn):  # 都办完了, right after a list: all of it
            slots["ids"] = [r.id for r in found]
            return
        if len(found) == 1 or len(due) == 1:  # 那个 is the one that is due when only one is
            slots["ids"] = [(due or found)[0].id]
            return
        slots["query"] = ref
        slots["candidates"] = [{"id": r.id, "label": reminder_label(turn, r)} for r in found[:LIST_LIMIT]]

    def _matching(self, turn: Turn, ref: str) -> list[Reminder]:
        """Open reminders whose customer is the one named, or whose words contain (most of) the reference."""
        name = ent.text_of(turn.parse, "customer")
        customer_ids = {c.id for c in services.find_customers(turn.session, turn.actor, name)} if name else set()
        key = re.sub(r"\s+", "", ref)
        wanted = _bigrams(key)
        found = []
        for reminder in services.open_reminders(turn.session, turn.actor):
            customer = reminder.customer
            names = [customer.name, *(a.alias for a in customer.aliases)] if customer else []
            words = reminder.text + " ".join(names)
            if (
                reminder.customer_id in customer_ids
                or key in words
                or any(n in key for n in names)
                or (len(wanted) >= 2 and len(wanted & _bigrams(reminder.text)) * 2 >= len(wanted))
            ):
                found.append(reminder)
        return found

    def _read_choice(self, turn: Turn, slots: Slots) -> None:
        options = slots.get("candidates") or []
        answer = ent.plain_answer(turn.text)
        if answer in _ALL_WORDS:
            slots["ids"] = [o["id"] for o in options]
            return
        numbers = numbers_in(answer) if re.fullmatch(rf"(?:{_NUMS}|\s)+", answer) else []
        named = [o for o in options if len(answer) >= 2 and _REF_NOISE.sub("", answer) in o["label"]]
        if numbers and all(1 <= n <= len(options) for n in numbers):
            slots["ids"] = [options[n - 1]["id"] for n in numbers]
        elif not numbers and len(named) == 1:  # 发报价单那条
            slots["ids"] = [named[0]["id"]]
        else:
            slots["bad_choice"] = True

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        return "reminder" if slots.get("candidates") and not slots.get("ids") and not slots.get("problem") else None

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        options = slots["candidates"]
        if slots.pop("bad_choice", False):
            return DM.REMINDER_WHICH_INVALID.format(count=len(options))
        lines = "\n".join(f"{i}. {o['label']}" for i, o in enumerate(options, start=1))
        if not slots.get("query"):
            return DM.REMINDER_WHICH_ANY.format(options=lines)
        return DM.REMINDER_WHICH.format(count=len(options), query=slots["query"], options=lines)

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        if slots.get("problem"):
            return [Reply(slots["problem"])]
        for reminder in self._reminders(turn, slots):
            if reminder.status not in ("pending", "sent"):
                return [Reply(DM.REMINDER_ALREADY_DONE.format(text=reminder.text))]
        return None

    def confirms(self, turn: Turn, slots: Slots) -> bool:
        return not slots.get("by_number")  # a number on the list just shown is unmistakable; 撤销 undoes it

    def _reminders(self, turn: Turn, slots: Slots) -> list[Reminder]:
        found = [turn.session.get(Reminder, rid) for rid in slots.get("ids", [])]
        return [r for r in found if r is not None and r.staff_id == turn.actor.staff_id]

    def _lines(self, turn: Turn, reminders: list[Reminder]) -> str:
        return "\n".join(DM.REMINDER_CLOSE_LINE.format(reminder=reminder_label(turn, r)) for r in reminders)

    def summary(self, turn: Turn, slots: Slots) -> str:
        return DM.REMINDER_CLOSE_SUMMARY[slots["status"]].format(lines=self._lines(turn, self._reminders(turn, slots)))

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        closed = services.close_reminders(turn.session, turn.actor, slots["ids"], status=slots["status"], now=turn.now)
        return [Reply(DM.REMINDER_CLOSED[slots["status"]].format(lines=self._lines(turn, closed)))]
