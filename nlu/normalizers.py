"""TimeNormalizer / AmountNormalizer (plus quantity, probability): raw entity text -> contract values."""

from __future__ import annotations

import re
from datetime import datetime

from nlu.numbers import parse_amount, parse_int, parse_probability, parse_quantity
from nlu.timeparse import normalize_time
from nlu.timewords import CLOCK, TOD, simplified

# Intents whose verbs look back: a bare weekday / day-of-month keeps its past meaning there.
PAST_INTENTS = {"sales_report", "customer_history", "log_visit", "list_followups"}
_MEASURE_TAIL = re.compile(r"[^\d零一二三四五六七八九十百千万两]+$")


class TimeNormalizer:
    name = "TimeNormalizer"

    def train(self, examples: list) -> None:
        pass

    def process(self, message: dict) -> None:
        prefer_past = message.get("intent", {}).get("name") in PAST_INTENTS
        for ent in message["entities"]:
            if ent["entity"] == "time" and isinstance(ent["value"], str) and not _is_iso(ent["value"]):
                normalize_time_entity(ent, message["now"], message["tz"], prefer_past)
        join_day_and_clock([e for e in message["entities"] if e["entity"] == "time"])


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
