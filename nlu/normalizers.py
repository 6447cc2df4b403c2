"""TimeNormalizer / AmountNormalizer (plus quantity, probability): raw entity text -> contract values."""

from __future__ import annotations

import re
from datetime import datetime

from nlu.numbers import parse_amount, parse_int, parse_probability, parse_quantity
from nlu.timeparse import normalize_time
from nlu.timewords import CLOCK, TOD, simplified

# Intents whose verbs look back: a bare weekday / day-of-month keeps its past meaning there.
# list_followups is not one of them: reminders are plans (周三要跟进谁 on a Friday is next Wednesday).
PAST_INTENTS = {"sales_report", "customer_history", "log_visit"}
# ... but in a visit note a time word that starts or ends a plan looks ahead (1月中旬再联系他, 预计周三报价).
_PLAN_AFTER = re.compile(r"^\s*(?:左右|前后|之后|以后)?\s*(?:再|还要|还得|要|得|需要|准备|计划|打算|争取|会|之前|以前)")
_PLAN_BEFORE = re.compile(r"(?:预计|计划|准备|打算|争取|约了?|约好|下次|下回|等到?|到时候?|说)\s*$")
_MEASURE_TAIL = re.compile(r"[^\d零一二三四五六七八九十百千万两]+$")


class TimeNormalizer:
    name = "TimeNormalizer"

    def train(self, examples: list) -> None:
        pass

    def process(self, message: dict) -> None:
        intent = message.get("intent", {}).get("name")
        for ent in message["entities"]:
            if ent["entity"] == "time" and isinstance(ent["value"], str) and not _is_iso(ent["value"]):
                prefer_past = reads_back(intent, message["text"], ent)
                normalize_time_entity(ent, message["now"], message["tz"], prefer_past)
        join_day_and_clock([e for e in message["entities"] if e["entity"] == "time"])


def reads_back(intent: str | None, text: str, ent: dict) -> bool:
    """Whether a bare time word (周三, 1月中旬) in this message means the past one: in intents that look
    back, unless the words around it make it a plan."""
    if intent not in PAST_INTENTS:
        return False
    start, end = ent.get("start"), ent.get("end")
    if not isinstance(start, int) or not isinstance(end, int):
        return True
    return not (_PLAN_AFTER.match(text[end : end + 6]) or _PLAN_BEFORE.search(text[max(0, start - 4) : start]))


_CLOCK_ONLY = re.compile(rf"^(?:{TOD})?(?:{CLOCK})$|^{TOD}$")


def join_day_and_clock(times: list[dict]) -> None:
    """大后天 … 下午三点 written apart: one day and one clock time in a message are one moment, so the
    day keeps 15:00 (and the clock time gets its day). Both entities then carry the joined value."""
    days = [e for e in times if (e.get("additional_info") or {}).get("grain") == "day"
            and (e.get("additional_info") or {}).get("type") == "point"]
    clocks = [e for e in times if _CLOCK_ONLY.match(simplified(e["text"]).strip()) and _is_iso(str(e["value"]))]
    if len(days) != 1 or len(clocks) != 1:
        return
    day, clock = datetime.fromisoformat(days[0]["value"]), datetime.fromisoformat(clocks[0]["value"])
    joined = day.replace(hour=clock.hour, minute=clock.minute).isoformat()
    info = dict(clocks[0].get("additional_info") or {"grain": "hour", "type": "point"})
    for ent in (days[0], clocks[0]):
        ent["value"], ent["additional_info"] = joined, dict(info)


def normalize_time_entity(ent: dict, now, tz, prefer_past: bool) -> None:
    result = normalize_time(ent["value"], now, tz, prefer_past)
    if result is not None:
        ent["value"], ent["additional_info"] = result


def _is_iso(value: str) -> bool:
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}T", value))


class AmountNormalizer:
    name = "AmountNormalizer"

    def train(self, examples: list) -> None:
        pass

    def process(self, message: dict) -> None:
        for ent in message["entities"]:
            normalize_number_entity(ent)


def normalize_number_entity(ent: dict) -> None:
    if not isinstance(ent.get("value"), str):
        return
    raw = ent["value"]
    value: object = None
    if ent["entity"] == "amount":
        value = parse_amount(raw)
    elif ent["entity"] == "quantity":
        value = parse_quantity(_MEASURE_TAIL.sub("", raw))
    elif ent["entity"] == "probability":
        value = parse_probability(raw)
    elif ent["entity"] == "points":
        value = parse_int(raw)
    if value is not None:
        ent["value"] = value
