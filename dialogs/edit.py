"""edit_record: a saved visit or reminder changed or deleted by message, with preview + 确认:
改一下刚才华为那条拜访的时间 / 刚才那条提醒改到明天下午3点 / 把刚才那条提醒删了 / 华为那条拜访删掉."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from crm_store import services
from crm_store.models import Reminder, Visit
from crm_store.services import edits
from dialogs import correction
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Job, Slots, Turn, register
from dialogs.reply import Reply

# 刚才华为那条拜访 / 上一条提醒 / 华为那个商机: a reference, then (within the clause) the kind of record.
_RECORD = re.compile(
    r"(?:刚才|刚刚|上一条|上条|最近一条|最近那条|那条|这条|那个|这个|那次)[^，,。；;！!？?\s]{0,10}?"
    r"(?P<kind>拜访记录|拜访|提醒|商机)"
)
_KINDS = {"拜访记录": "visit", "拜访": "visit", "提醒": "reminder", "商机": "opportunity"}
_DELETE = re.compile(r"删了|删掉|删除|删|去掉|作废|不要了|撤掉|取消掉|取消了|取消")
_EDIT = re.compile(r"改|更正|调整|挪|推迟|提前|推到|换成|不对|错了|写错|记错|弄错|搞错|有误")
_NEW_REMINDER = re.compile(r"提醒我|叫我|记得")
_FIELD_ONLY = re.compile(rf"^的?(?P<field>{'|'.join(sorted(correction.FIELD_WORDS, key=len, reverse=True))})"
                         r"(?:改一下|修改一下|改下|改改|修改|调整一下|调整)?[。.!！吧]*$")
_REST_NOISE = re.compile(r"^(?:记录)?(?:的|里的|里)?")
# What a saved record's preview shows, and the correction fields that may change it.
FIELDS = {
    "visit": {"time": "visit_time", "visit_time": "visit_time", "any_time": "any_time", "contact": "contact",
              "content": "content", "next_step": "next_step", "followup": "followup"},
    "reminder": {"time": "time", "followup": "time", "content": "content"},
}
MIRROR_JOB = {"visit": "log_visit", "reminder": "set_reminder"}


def read_request(text: str) -> dict[str, Any] | None:
    """{kind, action, rest} when `text` asks to change or delete a saved record, else None."""
    if _NEW_REMINDER.search(text) and not re.search(r"刚才|刚刚|上一条|那条", text):
        return None
    record = _RECORD.search(text)
    if record is None:
        return None
    kind = record["kind"]
    rest = _REST_NOISE.sub("", text[record.end():], count=1).strip()
    if _DELETE.search(text) and not _EDIT.search(rest):
        action = "delete"
    elif _EDIT.search(text):
        action = "edit"
    else:
        return None
    if _KINDS[kind] == "opportunity" and action == "edit":
        return None  # 华为那个商机金额改成150万 is an opportunity update with its own preview
    return {"kind": _KINDS[kind], "action": action, "rest": rest, "at": record.end()}


_DRAFT_JOBS = {"visit": "log_visit", "reminder": "set_reminder", "opportunity": "update_opportunity"}


def about_draft(job_name: str, text: str) -> bool:
    """刚才那个提醒不要了 said while a reminder waits for 确认 is about that draft, not a saved one."""
    request = read_request(text)
    return request is not None and _DRAFT_JOBS.get(request["kind"]) == job_name


def is_request(text: str) -> bool:
    return read_request(text) is not None


_LATEST = re.compile(r"刚才|刚刚|上一条|上条|最近一条|最近那条")


def names_latest(text: str) -> bool:
    """把刚才那条提醒删了: a request about the record just saved (not a reminder picked from a list)."""
    return _LATEST.search(text) is not None and is_request(text)


def _value_of(turn: Turn, value: str) -> correction.Value:
    """The value's entities out of the whole message's parse, with offsets into the value."""
    start = turn.text.rfind(value)
    found = []
    if start >= 0:
        for entity in turn.parse.get("entities", []):
            if start <= entity["start"] and entity["end"] <= start + len(value):
                found.append(entity | {"start": entity["start"] - start, "end": entity["end"] - start})
    return correction.Value(value, {"text": value, "intent": turn.parse.get("intent"), "entities": found})


def _mirror(record: Visit | Reminder, kind: str) -> Slots:
    """The record as the job's slots, so corrections read exactly as they do at a preview."""
    if isinstance(record, Visit):
        return {
            "visited_at": record.visited_at.isoformat(), "summary": record.summary,
            "contact": record.contact.name if record.contact else None,
            "contact_title": record.contact.title if record.contact else None,
            "next_step": record.next_step,
            "followup_at": record.next_followup_at.isoformat() if record.next_followup_at else None,
        }
    return {"due_at": record.due_at.isoformat(), "text": record.text}


@register
class EditRecord(Job):
    name = "edit_record"
    writes = True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        if awaiting is None:
            request = read_request(turn.text)
            if request is None:
                if slots.get("action") == "edit" and slots.get("record"):  # at the preview: 时间改成前天下午
                    self._read_change(turn, slots, turn.text.strip(), first=True)
                return
            slots.update(kind=request["kind"], action=request["action"])
            self._find(turn, slots, request["at"])
            if request["action"] == "edit" and slots.get("record"):
                self._read_change(turn, slots, request["rest"], first=True)
            return
        if awaiting == "change":
            self._read_change(turn, slots, turn.text.strip(), first=False)

    def _find(self, turn: Turn, slots: Slots, record_end: int) -> None:
        """The newest matching record: of the customer named, on the day named (昨天那条拜访)."""
        if slots["kind"] == "opportunity":
            return
        name = ent.text_of(turn.parse, "customer")
        customer = None
        if name:
            found = services.find_customers(turn.session, turn.actor, name)
            customer = found[0] if len(found) == 1 else None
            slots["customer"] = customer.name if customer else name
        finder = edits.recent_visits if slots["kind"] == "visit" else edits.recent_reminders
        records = finder(turn.session, turn.actor, customer_id=customer.id if customer else None, limit=20)
        day = next((ent.span_of(t["value"], turn.tz) for t in ent.entities(turn.parse, "time")
                    if t["start"] < record_end), None)
        if day is not None:
            records = [r for r in records if day[0] <= self._when(r).astimezone(turn.tz) <= day[1]]
            slots["day"] = DM.day(day[0].date(), today=turn.now.date())
        if records and (customer or not name):
            slots["record"] = records[0].id

    @staticmethod
    def _when(record: Visit | Reminder) -> datetime:
        return record.visited_at if isinstance(record, Visit) else record.due_at

    def _record(self, turn: Turn, slots: Slots) -> Visit | Reminder | None:
        model = Visit if slots["kind"] == "visit" else Reminder
        return turn.session.get(model, slots["record"])

    def _read_change(self, turn: Turn, slots: Slots, rest: str, *, first: bool) -> None:
        kind = slots["kind"]
        only = _FIELD_ONLY.match(rest)
        if only:  # 改一下…拜访的时间: which field, the value comes next
            slots["field"] = correction.FIELD_WORDS[only["field"]]
            return
        fix = correction.read(rest)
        if fix is None and not first and rest:
            fix = correction.Fix(slots.get("field"), rest, True)
        if fix is not None and not fix.value:  # 刚才那条拜访改一下 / …的联系人不对: the value comes next
            if fix.field:
                slots["field"] = fix.field
            return
        if fix is None:
            return
        field = fix.field or slots.get("field")
        if field is not None and field not in FIELDS[kind]:
            slots["_problem"] = DM.EDIT_FIELD_NOT_EDITABLE.format(fields=DM.EDIT_FIELD_NAMES[kind])
            return
        if field is None and kind == "visit":
            field = "any_time" if _value_of(turn, fix.value).first("time") else None
        mirror = _mirror(self._record(turn, slots), kind)
        before = dict(mirror)
        job_fix = correction.Fix(FIELDS[kind][field] if field else None, fix.value, True)
        problem = correction.apply(turn, MIRROR_JOB[kind], mirror, job_fix, _value_of(turn, fix.value))
        if problem is not None:
            slots["_problem"] = problem
            return
        changes = {key: value for key, value in mirror.items() if before.get(key) != value}
        if changes:
            slots.setdefault("changes", {}).update(changes)
            slots.pop("field", None)

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if slots.get("action") == "edit" and slots.get("record") and not slots.get("changes"):
            return "change"
        return None

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        problem = slots.pop("_problem", None)
        field = slots.get("field")
        if field:
            ask = DM.EDIT_ASK_VALUE.format(field=DM.EDIT_FIELD_LABEL.get(field, field))
        else:
            ask = DM.EDIT_ASK_CHANGE.format(fields=DM.EDIT_FIELD_NAMES[slots["kind"]])
        return f"{problem}\n{ask}" if problem else ask

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        if slots.get("kind") == "opportunity":
            return [Reply(DM.EDIT_OPPORTUNITY)]
        if not slots.get("record"):
            what = DM.EDIT_KIND[slots.get("kind", "visit")]
            customer, day = slots.get("customer"), slots.get("day")
            what = (day or "") + (customer + "的" if customer else "") + what
            return [Reply(DM.EDIT_NOT_FOUND.format(what=what))]
        return None

    def summary(self, turn: Turn, slots: Slots) -> str:
        record = self._record(turn, slots)
        today = turn.now.date()
        if isinstance(record, Visit):
            title = DM.EDIT_VISIT_TITLE.format(
                customer=record.customer.name, when=DM.when(record.visited_at.astimezone(turn.tz), today=today)
            )
        else:
            assert record is not None
            title = DM.EDIT_REMINDER_TITLE.format(
                when=DM.when(record.due_at.astimezone(turn.tz), today=today), text=record.text
            )
        if slots["action"] == "delete":
            return DM.EDIT_DELETE_SUMMARY.format(title=title)
        before = _mirror(record, slots["kind"])
        lines = [
            DM.EDIT_CHANGE_LINE.format(
                label=DM.EDIT_SLOT_LABEL[key], before=self._shown(turn, key, before.get(key)),
                after=self._shown(turn, key, value),
            )
            for key, value in slots["changes"].items() if key in DM.EDIT_SLOT_LABEL
        ]
        return DM.EDIT_SUMMARY.format(title=title, changes="\n".join(lines))

    @staticmethod
    def _shown(turn: Turn, key: str, value: Any) -> str:
        if value is None:
            return DM.UNSET
        if key in ("visited_at", "followup_at", "due_at"):
            return DM.when(datetime.fromisoformat(value).astimezone(turn.tz), today=turn.now.date())
        return str(value)

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        kind, record_id = slots["kind"], slots["record"]
        if slots["action"] == "delete":
            if kind == "visit":
                customer = edits.delete_visit(turn.session, turn.actor, record_id, now=turn.now)
                return [Reply(DM.EDIT_VISIT_DELETED.format(customer=customer))]
            reminder = edits.delete_reminder(turn.session, turn.actor, record_id, now=turn.now)
            return [Reply(DM.EDIT_REMINDER_DELETED.format(text=reminder.text))]
        changes = slots["changes"]
        when = {key: datetime.fromisoformat(changes[key]) for key in ("visited_at", "followup_at", "due_at")
                if changes.get(key)}
        if kind == "visit":
            visit = edits.edit_visit(
                turn.session, turn.actor, record_id, visited_at=when.get("visited_at"),
                contact_name=changes.get("contact"), contact_title=changes.get("contact_title"),
                summary=changes.get("summary"), next_step=changes.get("next_step"),
                next_followup_at=when.get("followup_at"), now=turn.now,
            )
            return [Reply(DM.EDIT_VISIT_SAVED.format(customer=visit.customer.name))]
        reminder = edits.edit_reminder(
            turn.session, turn.actor, record_id, due_at=when.get("due_at"), text=changes.get("text"), now=turn.now
        )
        return [Reply(DM.EDIT_REMINDER_SAVED.format(
            when=DM.when(reminder.due_at.astimezone(turn.tz), today=turn.now.date()), text=reminder.text))]
