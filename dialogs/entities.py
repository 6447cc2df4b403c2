"""Reading the NLU result: entities by name and role, times and numbers as Python values."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

Parse = dict[str, Any]


# A line number of a list shown (2, 第二个, 十二): digits or Chinese numerals up to two places.
LIST_NUM = r"(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})"
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def small_number(token: str) -> int | None:
    """2 / 二 / 十二 / 二十 / 九十九 as an int; None for what is no such number (二二, 十十)."""
    if token.isdigit():
        return int(token)
    tens, _, units = token.partition("十")
    if "十" not in token:
        return _CHINESE_DIGITS.get(token) if len(token) == 1 else None
    if len(tens) > 1 or len(units) > 1:
        return None
    high = _CHINESE_DIGITS.get(tens, 0) if tens else 1
    low = _CHINESE_DIGITS.get(units, 0) if units else 0
    return high * 10 + low if high and (not units or low) else None


def intent(parse: Parse) -> str:
    return (parse.get("intent") or {}).get("name") or "out_of_scope"


def confidence(parse: Parse) -> float:
    return float((parse.get("intent") or {}).get("confidence") or 0.0)


def entities(parse: Parse, name: str, role: str | None = None) -> list[dict[str, Any]]:
    found = [e for e in parse.get("entities", []) if e.get("entity") == name]
    if role is not None:
        found = [e for e in found if e.get("role") == role]
    return found


def first(parse: Parse, name: str, role: str | None = None) -> dict[str, Any] | None:
    found = entities(parse, name, role)
    return found[0] if found else None


def text_of(parse: Parse, name: str, role: str | None = None) -> str | None:
    entity = first(parse, name, role)
    return str(entity.get("value") or entity.get("text")) if entity else None


def as_datetime(value: Any, tz: ZoneInfo) -> datetime | None:
    """An NLU time value (ISO string, or a {from, to} span: its start) as an aware datetime."""
    if isinstance(value, dict):
        value = value.get("from")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)


def span_of(value: Any, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    if isinstance(value, dict):
        start, end = as_datetime(value.get("from"), tz), as_datetime(value.get("to"), tz)
        return (start, end) if start and end else None
    point = as_datetime(value, tz)
    if point is None:
        return None
    day = point.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day + timedelta(days=1) - timedelta(seconds=1)


def has_clock_time(entity: dict[str, Any]) -> bool:
    grain = (entity.get("additional_info") or {}).get("grain")
    return grain in ("hour", "minute", "second")


def as_decimal(value: Any) -> Decimal | None:
    """A number; a range (两三万) is None: which end was meant is asked, never guessed."""
    if isinstance(value, dict):
        value = value.get("from") if value.get("from") == value.get("to") else None
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def as_int(value: Any) -> int | None:
    number = as_decimal(value)
    return int(number) if number is not None else None


def is_range(value: Any) -> bool:
    """两三万 / 十几万 / 3万-8万: a range is never written as one figure; the dialog asks."""
    return isinstance(value, dict) and "from" in value and "to" in value and value.get("from") != value.get("to")


def unclear_number(entity: dict[str, Any]) -> bool:
    """A range, or text the NLU could not turn into a number: the dialog asks instead of writing it."""
    value = entity.get("value")
    return is_range(value) or as_decimal(value) is None


# Short answers to a yes/no question (您是说 … 吗？ / 是折后价吗？), compared after punctuation is removed.
YES_WORDS = frozenset({"是", "是的", "对", "对的", "嗯", "嗯嗯", "没错", "就是", "就是它", "就是他", "是他", "是它", "好",
                       "好的", "确认", "yes", "ok", "对头", "是这个", "就这个", "已经是", "折后", "是折后价"})
NO_WORDS = frozenset({"不是", "不对", "不是的", "错了", "不是这个", "都不是", "no", "否", "没有", "还没打折", "折前",
                      "是折前价", "再打折"})


def plain_answer(text: str) -> str:
    return re.sub(r"[\s。.!！,，~～]+", "", text).lower()
