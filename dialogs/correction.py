"""Corrections at the preview: 不对，是前天 / 联系人改成李红 / 跟进改到周五下午 / 签约时间改成2027年3月31日.

A correction changes the one field it names (or, with no field named, the field whose kind matches the
value: a date, a discount, a quantity ...) and nothing else: it never becomes the visit's content or a
reminder's text, and changing a date never changes an opportunity's stage.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from crm_store import services
from crm_store.models import STAGES
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Slots, Turn
from dialogs.resolve import contact_parts, resolve_customer
from dialogs.timing import moment, past_or_today

# Field names people use -> one canonical key. Longer names are tried first.
FIELD_WORDS: dict[str, str] = {
    "联系人": "contact", "对接人": "contact", "客户联系人": "contact", "联系人姓名": "contact",
    "电话": "phone", "手机": "phone", "手机号": "phone", "手机号码": "phone", "联系电话": "phone", "号码": "phone",
    "时间": "time", "日期": "time",
    "拜访时间": "visit_time", "拜访日期": "visit_time", "见面时间": "visit_time",
    "跟进": "followup", "跟进时间": "followup", "跟进提醒": "followup", "下次跟进": "followup",
    "回访时间": "followup", "回访": "followup", "提醒时间": "followup", "提醒": "followup",
    "下一步": "next_step", "下步": "next_step", "下一步计划": "next_step", "后续安排": "next_step",
    "内容": "content", "拜访内容": "content", "纪要": "content", "提醒内容": "content", "事情": "content",
    "金额": "amount", "商机金额": "amount", "项目金额": "amount", "合同金额": "amount",
    "总价": "total", "总额": "total", "合计": "total", "总金额": "total",
    "数量": "quantity", "台数": "quantity", "个数": "quantity", "套数": "quantity",
    "单价": "unit_price", "价格": "unit_price", "每台": "unit_price",
    "折扣": "discount", "折": "discount",
    "行业": "industry", "所属行业": "industry",
    "地区": "region", "区域": "region", "城市": "region", "所在地": "region", "地址": "region",
    "阶段": "stage", "商机阶段": "stage", "进展": "stage",
    "概率": "probability", "赢单概率": "probability", "赢率": "probability", "把握": "probability",
    "签约时间": "close", "签约日期": "close", "预计签约": "close", "预计签约时间": "close", "签单时间": "close",
    "成交时间": "close", "预计成交": "close",
    "客户": "customer", "客户名": "customer", "公司": "customer",
    "名称": "name", "名字": "name", "客户名称": "name", "公司名": "name", "公司名称": "name",
}
# Words that only mean "this field" when a verb follows (提醒我… is a new reminder, not an edit).
_NEEDS_VERB = {"时间", "日期", "跟进", "提醒", "回访", "客户", "公司", "名字", "名称", "号码", "内容", "事情", "折",
               "价格", "进展", "把握", "地址", "每台"}
_FIELDS = "|".join(sorted(FIELD_WORDS, key=len, reverse=True))
_VERB = (r"(?:帮我|给我|再)?(?:改成|改为|改到|改一下|改下|改|换成|换为|调成|调到|调整为|调整到|挪到|推到|推迟到|延到|延后到|"
         r"提前到|更正为|应该是|应是|写成|填成|是|为|写|填|[:：=])")
_MARK = (r"(?:不对不对|不对|不是的|不是|错了错了|错了|说错了|写错了|搞错了|弄错了|记错了|打错了|有误|更正一下|更正|纠正一下|纠正|"
         r"修改一下|修改|改一下|改下)")
_YES_FIRST = re.compile(r"^(?:(?:好的|好|对|对的|嗯嗯|嗯|可以|行|ok|OK)[\s,，。、]+)?(?:不过|但是|但|只是)[\s,，]*(?=\S)"
                        r"|^(?:好的|好|对|对的|嗯嗯|嗯|可以|行|ok|OK)[\s,，。、]+(?=\S)")
_LEAD = re.compile(rf"^(?:{_MARK}[\s,，。.:：!！、]*(?:应该|应当|其实)?(?:是|为|改成|改为|换成)?|(?:应该|其实)?是(?!的|这样|对|吗|啊|吧)(?=\S))[\s:：]*")
_BARE_CHANGE = re.compile(r"^(?:帮我|给我)?(?:改成|改为|换成|改到|调到|挪到|应该是|其实是)[\s:：]*")
_FIELD = re.compile(rf"^(?:把|将)?(?P<field>{_FIELDS})(?P<verb>{_VERB})?[\s:：,，]*(?P<value>.*)$")
_FIELD_WRONG = re.compile(rf"^(?P<field>{_FIELDS})(?:不对|错了|写错了|有误)[\s,，。]*(?:应该|应当)?(?:是|为|改成)?[\s:：]*(?P<value>.*)$")
_NOT_BUT = re.compile(
    rf"^(?P<field>{_FIELDS})?(?:不是|并不是|不该是)(?P<wrong>.{{1,20}}?)[\s,，、;；]*(?:而|其实|应该|应当)?是(?P<value>.+)$"
)
_FIELD_ALONE = re.compile(
    rf"^(?:{_MARK}[\s,，]*)?(?:把|将)?(?:改一下|改下|修改一下|修改|更正一下|更正|换一下)?(?P<field>{_FIELDS})"
    r"(?:要改|改一下|改下|改改|换一下|不对|错了|写错了|搞错了|有误|不对吧|改成|改为|换成|改到|应该是)?$"
)
_VALUE_NOISE = re.compile(r"^[\s:：,，是为]+|[\s。.!！~～]*(?:吧|啊|呀)?[\s。.!！~～]*$")
_DROP_IT = {"不要", "不要了", "不用了", "不用", "不记了", "别记了", "不弄了", "算了", "取消", "作废"}
_SAVED_RECORD = re.compile(r"^(?:把|将)?(?:刚才|刚刚|上一条|上条|.{0,10}?那条(?:拜访|提醒|记录))")
_CONTACT_OK = re.compile(r"^[\u4e00-\u9fa5A-Za-z·]{1,12}$")


@dataclass(frozen=True)
class Fix:
    """What a correction message says: the field it names (canonical key, or None) and the new value."""

    field: str | None
    value: str
    marked: bool  # began with 不对 / 错了 / 改成 …: the person says something shown is wrong


def read(text: str) -> Fix | None:
    """A correction in `text`, or None when the message does not read as one (nor when what follows
    不对 only says to drop it: 不对 不要了)."""
    text = _YES_FIRST.sub("", text.strip())  # 好的，联系人改成李红: the change is what counts
    alone = _FIELD_ALONE.match(_clean(text))
    if alone:  # 联系人不对 / 改一下时间: which field, the value comes next
        return Fix(FIELD_WORDS[alone["field"]], "", True)
    lead = _LEAD.match(text)
    rest = text[lead.end():] if lead else text
    bare = None if lead else _BARE_CHANGE.match(text)
    if bare:
        rest = text[bare.end():]
    marked = bool(lead or bare)
    instead = _NOT_BUT.match(text) or _NOT_BUT.match(rest)
    if instead:  # 不是明天，是后天 / 联系人不是张总是李总: the value is what comes after 是
        field = instead["field"]
        return Fix(FIELD_WORDS[field] if field else None, _clean(instead["value"]), True)
    if _SAVED_RECORD.match(rest):  # 改一下刚才华为那条拜访: a saved record, not the form on screen
        return None
    wrong = _FIELD_WRONG.match(rest)
    if wrong:
        return Fix(FIELD_WORDS[wrong["field"]], _clean(wrong["value"]), True)
    named = _FIELD.match(rest)
    if named and (named["verb"] or marked or named["field"] not in _NEEDS_VERB) and _clean(named["value"]):
        return Fix(FIELD_WORDS[named["field"]], _clean(named["value"]), marked or bool(named["verb"]))
    if marked and _clean(rest) not in _DROP_IT:  # 错了 是 / 改成: nothing said yet, the job asks what
        return Fix(None, _clean(rest), True)
    return None


def says_change(text: str) -> bool:
    """不对，是明天下午4点: a change is said (a field or a new value), not just "no"."""
    fix = read(text)
    return fix is not None and bool(fix.field or fix.value)


def _clean(value: str) -> str:
    return _VALUE_NOISE.sub("", value).strip()


# --- applying a fix ----------------------------------------------------------------------------


@dataclass
class Value:
    """The new value as written and as the NLU reads it on its own (entities with offsets into `text`)."""

    text: str
    parse: dict[str, Any]

    def first(self, name: str) -> dict[str, Any] | None:
        return ent.first(self.parse, name)


Handler = Callable[[Turn, Slots, Value], str | None]  # None: applied; a string: why not (said to the person)


def _value_turn(turn: Turn, value: Value) -> Turn:
    return dataclasses.replace(turn, text=value.text, parse=value.parse)


def _set_contact(turn: Turn, slots: Slots, value: Value) -> str | None:
    written = re.sub(r"^(?:叫|是|换成|为)", "", value.text)
    if not _CONTACT_OK.match(written):
        return DM.FIX_CONTACT_BAD.format(text=value.text[:20])
    slots["contact"], slots["contact_title"] = contact_parts(written)
    return None


def _set_phone(turn: Turn, slots: Slots, value: Value) -> str | None:
    phone = value.first("phone")
    if phone is None:
        return DM.FIX_PHONE_BAD.format(text=value.text[:20])
    slots["phone"] = str(phone.get("value") or phone.get("text"))
    return None


def _set_customer(turn: Turn, slots: Slots, value: Value) -> str | None:
    named = value.first("customer")
    resolve_customer(turn, slots, str(named["text"]) if named else value.text)
    return None


def _set_text(slot: str, limit: int = 500) -> Handler:
    def handler(turn: Turn, slots: Slots, value: Value) -> str | None:
        slots[slot] = value.text[:limit]
        return None

    return handler


def _same_clock(entity: dict[str, Any], new: datetime, old: str | None) -> datetime:
    """改成下周一 moves the day and keeps the time of day already shown (10:00 stays 10:00)."""
    if old is None or ent.has_clock_time(entity):
        return new
    return datetime.combine(new.date(), datetime.fromisoformat(old).timetz())


# visit ------------------------------------------------------------------


def _visit_time(turn: Turn, slots: Slots, value: Value) -> str | None:
    entity = value.first("time")
    if entity is None:
        return DM.FIX_TIME_BAD.format(text=value.text[:20])
    visited = past_or_today(turn, entity)
    if visited is None:
        return DM.FIX_VISIT_IN_FUTURE.format(text=entity["text"])
    visited = _same_clock(entity, visited, slots.get("visited_at"))
    slots["visited_at"] = visited.isoformat()
    return None


def _visit_followup(turn: Turn, slots: Slots, value: Value) -> str | None:
    entity = value.first("time")
    due = moment(turn, entity, turn.config.rules.reminders.default_followup_hour) if entity else None
    if due is None:
        return DM.FIX_TIME_BAD.format(text=value.text[:20])
    due = _same_clock(entity, due, slots.get("followup_at"))
    if due <= turn.now:
        return DM.FIX_TIME_PAST.format(when=DM.when(due, today=turn.now.date()))
    slots["followup_at"] = due.isoformat()
    return None


def _visit_next_step(turn: Turn, slots: Slots, value: Value) -> str | None:
    """下一步改成下周二出方案: the step as written; a future day in it is the follow-up when none is set."""
    slots["next_step"] = value.text[:200]
    entity = value.first("time")
    due = moment(turn, entity, turn.config.rules.reminders.default_followup_hour) if entity else None
    if due is not None and due > turn.now and not slots.get("followup_at"):
        slots["followup_at"] = due.isoformat()
    return None


def _visit_any_time(turn: Turn, slots: Slots, value: Value) -> str | None:
    """不对，是前天 → the visit's time; 不对，下周五 (a future day) → the follow-up, when one is shown."""
    entity = value.first("time")
    if entity is not None and past_or_today(turn, entity) is None and slots.get("followup_at"):
        return _visit_followup(turn, slots, value)
    return _visit_time(turn, slots, value)


# reminder ---------------------------------------------------------------


def _reminder_due(turn: Turn, slots: Slots, value: Value) -> str | None:
    entity = value.first("time")
    due = moment(turn, entity, turn.config.rules.reminders.default_followup_hour) if entity else None
    if due is None:
        return DM.FIX_TIME_BAD.format(text=value.text[:20])
    slots["due_at"] = _same_clock(entity, due, slots.get("due_at")).isoformat()  # a past time is asked again
    return None


def _reminder_customer(turn: Turn, slots: Slots, value: Value) -> str | None:
    named = value.first("customer")
    # The reminder job keeps one customer or none: no list to pick from.
    found = services.find_customers(turn.session, turn.actor, str(named["text"]) if named else value.text)
    if len(found) != 1:
        return DM.CUSTOMER_NOT_FOUND.format(name=value.text[:20])
    slots["customer"] = {"id": found[0].id, "name": found[0].name}
    return None


# opportunity ------------------------------------------------------------

_STAGE_WORDS = {
    **{name: code for code, name in DM.STAGE.items()},
    **{part: code for code, name in DM.STAGE.items() for part in name.split("/")},
    "方案报价": "proposal", "方案": "proposal", "报价": "proposal", "谈判": "negotiation", "签约": "won",
    "赢了": "won", "成交": "won", "输了": "lost", "丢单": "lost", "接触": "initial", "需求": "qualified",
}


def _opp_amount(turn: Turn, slots: Slots, value: Value) -> str | None:
    amount = value.first("amount")
    number = ent.as_decimal(amount.get("value")) if amount and not ent.unclear_number(amount) else None
    if number is None and re.fullmatch(r"\d{1,12}(?:\.\d{1,2})?", value.text):
        number = Decimal(value.text)
    if number is None:
        return DM.FIX_AMOUNT_BAD.format(text=value.text[:20])
    slots["amount"] = str(number)
    slots.pop("_vague_amount", None)
    return None


def _opp_stage(turn: Turn, slots: Slots, value: Value) -> str | None:
    entity = value.first("stage")
    stage = str(entity.get("value")) if entity else None
    if stage not in STAGES:
        stage = next((code for word, code in sorted(_STAGE_WORDS.items(), key=lambda w: -len(w[0]))
                      if word in value.text), None)
    if stage is None:
        return DM.FIX_STAGE_BAD.format(text=value.text[:20], stages="、".join(DM.STAGE.values()))
    slots["stage"] = stage
    return None


def _opp_probability(turn: Turn, slots: Slots, value: Value) -> str | None:
    entity = value.first("probability")
    number = ent.as_int(entity.get("value")) if entity else None
    digits = re.fullmatch(r"(\d{1,3})\s*[%％]?", value.text)
    if number is None and digits:
        number = int(digits[1])
    if number is None or not 0 <= number <= 100:
        return DM.FIX_PROBABILITY_BAD.format(text=value.text[:20])
    slots["probability"] = number
    return None


def _opp_close(turn: Turn, slots: Slots, value: Value) -> str | None:
    entity = value.first("time")
    if entity is None:
        return DM.FIX_TIME_BAD.format(text=value.text[:20])
    when = entity["value"]["to"] if isinstance(entity["value"], dict) else entity["value"]
    close = ent.as_datetime(when, turn.tz)
    if close is None:
        return DM.FIX_TIME_BAD.format(text=value.text[:20])
    slots["close"] = close.date().isoformat()
    return None


def _opp_customer(turn: Turn, slots: Slots, value: Value) -> str | None:
    slots.pop("opportunity", None)  # another customer's opportunity is chosen again
    return _set_customer(turn, slots, value)


# order ------------------------------------------------------------------


def _order_line(turn: Turn, slots: Slots) -> dict[str, Any] | None:
    """The line a correction is about: a product named in the message, else the only (or last) line."""
    lines = slots.get("lines") or []
    for line in lines:
        if line["product"] in turn.text:
            return line
    return lines[-1] if lines else None


def _order_quantity(turn: Turn, slots: Slots, value: Value) -> str | None:
    from dialogs.order import _set_quantity

    line = _order_line(turn, slots)
    entity = value.first("quantity")
    digits = re.fullmatch(r"(\d{1,7})\s*[台套个件份把]?", value.text)
    raw = entity.get("value") if entity else digits[1] if digits else None
    if line is None or raw is None:
        return DM.FIX_QUANTITY_BAD.format(text=value.text[:20])
    _set_quantity(slots, line, raw, str(entity.get("text") if entity else value.text))
    if slots.get("_bad_quantity") or slots.get("_vague_quantity"):
        slots.pop("_bad_quantity", None)
        slots.pop("_vague_quantity", None)
        return DM.FIX_QUANTITY_BAD.format(text=value.text[:20])
    return None


def _order_price(kind: str | None) -> Handler:
    def handler(turn: Turn, slots: Slots, value: Value) -> str | None:
        from dialogs.order import _set_amount

        line = _order_line(turn, slots)
        amount = value.first("amount")
        if amount is None and re.fullmatch(r"\d{1,9}(?:\.\d{1,2})?", value.text):
            amount = {"entity": "amount", "value": value.text, "text": value.text, "start": 0, "end": len(value.text)}
        if line is None or amount is None or ent.unclear_number(amount):
            return DM.FIX_AMOUNT_BAD.format(text=value.text[:20])
        number = str(ent.as_decimal(amount["value"]))
        if kind == "unit":
            line["unit_price"], line["total"] = number, None
        elif kind == "total":
            line["total"], line["unit_price"] = number, None
        else:  # no field named: unit price or line total, read the way a first message is read
            _set_amount(_value_turn(turn, value), line, amount)
        return None

    return handler


_NO_DISCOUNT = re.compile(r"不打折|不要折扣|没有折扣|原价|无折扣|不给折扣")


def _order_discount(turn: Turn, slots: Slots, value: Value) -> str | None:
    if _NO_DISCOUNT.search(value.text):
        slots.pop("discount", None)
        slots.pop("discount_on_total", None)
        return None
    discount = value.first("discount")
    number = discount.get("value") if discount else None
    if not isinstance(number, int | float) or not 0 < number < 1:
        return DM.FIX_DISCOUNT_BAD.format(text=value.text[:20])
    slots["discount"] = float(number)
    slots.pop("discount_on_total", None)
    return None


def _order_customer(turn: Turn, slots: Slots, value: Value) -> str | None:
    return _set_customer(turn, slots, value)


# new customer -----------------------------------------------------------


def _customer_name(turn: Turn, slots: Slots, value: Value) -> str | None:
    if not 2 <= len(value.text) <= 40:
        return DM.FIX_NAME_BAD.format(text=value.text[:20])
    slots["name"] = value.text
    return None


# The fields each job shows, by canonical key; "time" is the job's main date. Kinds map a value's entity
# (when no field is named) to a field.
JOB_FIELDS: dict[str, dict[str, Handler]] = {
    "log_visit": {
        "contact": _set_contact, "phone": _set_phone, "time": _visit_time, "visit_time": _visit_time,
        "any_time": _visit_any_time,
        "followup": _visit_followup, "next_step": _visit_next_step, "content": _set_text("summary"),
        "customer": _set_customer,
    },
    "add_customer": {
        "name": _customer_name, "customer": _customer_name, "contact": _set_contact, "phone": _set_phone,
        "industry": _set_text("industry", 50), "region": _set_text("region", 50),
    },
    "update_opportunity": {
        "amount": _opp_amount, "total": _opp_amount, "stage": _opp_stage, "probability": _opp_probability,
        "close": _opp_close, "time": _opp_close, "customer": _opp_customer,
    },
    "submit_order": {
        "quantity": _order_quantity, "unit_price": _order_price("unit"), "total": _order_price("total"),
        "amount": _order_price(None), "discount": _order_discount, "customer": _order_customer,
    },
    "set_reminder": {
        "time": _reminder_due, "followup": _reminder_due, "content": _set_text("text", 500),
        "customer": _reminder_customer,
    },
}
JOB_KINDS: dict[str, dict[str, str]] = {
    "log_visit": {"time": "any_time", "contact": "contact", "phone": "phone", "customer": "customer"},
    "add_customer": {"contact": "contact", "phone": "phone"},
    "update_opportunity": {"time": "close", "amount": "amount", "probability": "probability", "stage": "stage",
                           "customer": "customer"},
    "submit_order": {"quantity": "quantity", "discount": "discount", "amount": "amount", "customer": "customer"},
    "set_reminder": {"time": "time", "customer": "customer"},
}
# What each job can change, as the summary labels them (for "要改哪一项？").
JOB_FIELD_NAMES = {
    "log_visit": "联系人、时间、内容、下一步、跟进时间、电话",
    "add_customer": "名称、联系人、电话、行业、地区",
    "update_opportunity": "金额、阶段、赢单概率、签约时间",
    "submit_order": "数量、单价、总价、折扣、客户",
    "set_reminder": "提醒时间、内容",
}


# Slots that hold what the person said the job is about: a later message at the preview never replaces them.
CONTENT_SLOTS = {"log_visit": ("summary", "next_step"), "set_reminder": ("text",)}


def keep_content(job_name: str, before: Slots, slots: Slots) -> None:
    for slot in CONTENT_SLOTS.get(job_name, ()):
        if slot in before:
            slots[slot] = before[slot]


ASKED_FIELD = "_fix_field"  # the field named without a value (改一下联系人): the next message is its value


def answer_for_asked(text: str, slots: Slots) -> Fix | None:
    """The value for a field asked about (改一下联系人 → 「联系人改成什么？」 → 李红)."""
    field = slots.get(ASKED_FIELD)
    value = _clean(text)
    return Fix(field, value, True) if field and value and value not in _DROP_IT else None


def corrects(job_name: str) -> bool:
    return job_name in JOB_FIELDS


def apply(turn: Turn, job_name: str, slots: Slots, fix: Fix, value: Value) -> str | None:
    """Change `slots` as `fix` says; None when done, else what to tell the person (slots unchanged)."""
    fields = JOB_FIELDS[job_name]
    slots.pop(ASKED_FIELD, None)
    if fix.field is not None:
        handler = fields.get(fix.field)
        if handler is None:
            return DM.FIX_NO_SUCH_FIELD.format(fields=JOB_FIELD_NAMES[job_name])
        if not value.text:  # 改一下联系人: ask for the value, and read the next message as it
            slots[ASKED_FIELD] = fix.field
            return DM.FIX_ASK_VALUE.format(field=DM.FIX_FIELD_LABEL.get(fix.field, ""))
        return _apply_one(turn, slots, handler, value)
    if not value.text:
        return DM.WHAT_TO_CHANGE.format(example=DM.FIX_EXAMPLE[job_name], fields=JOB_FIELD_NAMES[job_name])
    kinds = JOB_KINDS[job_name]
    found = [kinds[e["entity"]] for e in value.parse.get("entities", []) if e.get("entity") in kinds]
    if not found and job_name == "update_opportunity" and any(word in value.text for word in _STAGE_WORDS):
        found = ["stage"]
    if not found and job_name == "submit_order" and _NO_DISCOUNT.search(value.text):
        found = ["discount"]
    if not found:
        return DM.FIX_WHICH_FIELD.format(fields=JOB_FIELD_NAMES[job_name], example=DM.FIX_EXAMPLE[job_name])
    trial = copy.deepcopy(slots)  # slots change only when every part fits
    for field in dict.fromkeys(found):
        problem = fields[field](turn, trial, value)
        if problem is not None:
            return problem
    slots.clear()
    slots.update(trial)
    return None


def _apply_one(turn: Turn, slots: Slots, handler: Handler, value: Value) -> str | None:
    trial = copy.deepcopy(slots)
    problem = handler(turn, trial, value)
    if problem is None:
        slots.clear()
        slots.update(trial)
    return problem
