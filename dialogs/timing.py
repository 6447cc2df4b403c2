"""Times from the NLU result, read the way a sales rep means them."""

from __future__ import annotations

import re
from datetime import datetime, time
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
