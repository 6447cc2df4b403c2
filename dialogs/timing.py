"""Times from the NLU result, read the way a sales rep means them."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from dialogs import entities as ent
from dialogs.base import Turn

_CLAUSE_SPLIT = re.compile(r"[，,。；;！!？?\n]+|\s{1,}")


def moment(turn: Turn, entity: dict[str, Any], default_hour: int) -> datetime | None:
    """A point in time; a bare date gets `default_hour` o'clock."""
    value = ent.as_datetime(entity.get("value"), turn.tz)
    if value is None:
        return None
    if not ent.has_clock_time(entity):
        value = datetime.combine(value.date(), time(default_hour), tzinfo=turn.tz)
    return value


def plan_moment(turn: Turn, entity: dict[str, Any], default_hour: int) -> datetime | None:
    """When to be reminded of a plan. A day or a clock time as said; a span gets one sensible day:
    a deadline (月底前, 三天内: from today to a day) its last working day, 上/中/下旬 the 5th / 15th / 25th,
    another span (下周, 下个月) its first working day. A bare date gets `default_hour` o'clock."""
    span = ent.span_of(entity.get("value"), turn.tz) if isinstance(entity.get("value"), dict) else None
    if span is None:
        return moment(turn, entity, default_hour)
    first, last = span[0].date(), span[1].date()
    if first <= turn.now.date():
        day = _workday(last, step=-1, floor=turn.now.date())
    elif first.month == last.month and (first.day, last.day) in _TEN_DAYS:
        day = _workday(first.replace(day=first.day + 4), step=1, floor=first)
    else:
        day = _workday(first, step=1, floor=first)
    return datetime.combine(day, time(default_hour), tzinfo=turn.tz)


_TEN_DAYS = {(1, 10), (11, 20), (21, 28), (21, 29), (21, 30), (21, 31)}


def _workday(day: date, *, step: int, floor: date) -> date:
    """The nearest Monday-Friday from `day` in the direction of `step`, never before `floor`."""
    moved = day
    while moved.weekday() >= 5:
        moved += timedelta(days=step)
    return moved if moved >= floor else day


def is_plan_span(turn: Turn, entity: dict[str, Any]) -> bool:
    """A span that has not ended yet (月底前, 下周, 1月中旬) is a plan, never when something happened."""
    span = ent.span_of(entity.get("value"), turn.tz) if isinstance(entity.get("value"), dict) else None
    return span is not None and span[1] > turn.now


def past_or_today(turn: Turn, entity: dict[str, Any]) -> datetime | None:
    """When something happened: today without a clock time means now; a past date keeps its day."""
    value = ent.as_datetime(entity.get("value"), turn.tz)
    if value is None or value.date() > turn.now.date():
        return None
    if ent.has_clock_time(entity):
        return value
    if value.date() == turn.now.date():
        return turn.now
    return datetime.combine(value.date(), time(12), tzinfo=turn.tz)


def clause_around(text: str, start: int, end: int) -> str:
    """The clause of `text` that contains the span [start, end): '预计下周三报价' out of a visit note."""
    begin = 0
    for match in _CLAUSE_SPLIT.finditer(text):
        if match.end() <= start:
            begin = match.end()
        elif match.start() >= end:
            return text[begin : match.start()].strip()
    return text[begin:].strip()
