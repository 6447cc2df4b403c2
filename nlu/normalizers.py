"""TimeNormalizer / AmountNormalizer (plus quantity, probability): raw entity text -> contract values."""

from __future__ import annotations

import re

from nlu.numbers import parse_amount, parse_int, parse_probability
from nlu.timeparse import normalize_time

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
        value = parse_int(_MEASURE_TAIL.sub("", raw))
    elif ent["entity"] == "probability":
        value = parse_probability(raw)
    elif ent["entity"] == "points":
        value = parse_int(raw)
    if value is not None:
        ent["value"] = value
