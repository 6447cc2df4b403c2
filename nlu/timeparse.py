"""Time expression normalization: jionlp.parse_time wrapped with our own fixes.

jionlp gets a naive wall-clock datetime in the configured tz as time_base (a float would be read in the
machine's local zone, which is UTC), and the result gets the tz attached. Fixes, each pinned by a test:
  1. 上个月 / 这个月 / 本月 / 下个月 raise in jionlp -> our own month spans.
  2. 月底 / 月末 raise -> last day of this month (next month's when said in a plan after it passed).
  3. 明早 / 今晚 / 明晚 raise -> rewritten to 明天早上 etc.
  4. 早上/上午/中午/下午/晚上 without a clock time -> our default hours 09/09/12/14/19 (jionlp: 07, 13 ...).
  5. A past day-of-month or weekday without a year/week qualifier -> the next one in plans
     (jionlp returns this year's 1月15日 and this week's 周一).
  6. 最近一周 / 最近N天 -> whole days up to the end of today (jionlp: now-7d .. now).
  7. 今年 / 去年 / 明年 / 年底 -> our own year spans / last day (jionlp's 年底 is Nov-Dec).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from nlu.jio import jionlp_module
from nlu.numbers import parse_number


def warm_up() -> None:
    """jionlp's first parse_time lazily loads its tables (~250 ms): pay it at load time."""
    _parse_jio("下周四", datetime(2026, 1, 1))


TOD_HOURS = {"凌晨": 5, "早上": 9, "早晨": 9, "清早": 9, "上午": 9, "中午": 12, "下午": 14, "傍晚": 18,
             "晚上": 19, "夜里": 21}
_REWRITES = [("明早", "明天早上"), ("今早", "今天早上"), ("明晚", "明天晚上"), ("今晚", "今天晚上"),
             ("昨晚", "昨天晚上"), ("明儿", "明天"), ("今儿", "今天"), ("礼拜天", "周日"), ("星期天", "周日"),
             ("礼拜", "周"), ("周天", "周日"), ("明日", "明天"), ("今日", "今天"), ("这周", "本周"),
             ("这个星期", "本周"), ("这星期", "本周"), ("这个礼拜", "本周"), ("号号", "号")]
_TOD_RE = re.compile("|".join(sorted(TOD_HOURS, key=len, reverse=True)))
_CLOCK_RE = re.compile(r"(\d{1,2}|[零一二三四五六七八九十两]{1,3})(?:点|时|:|：)(半|一刻|三刻|\d{1,2}|[零一二三四五六七八九十]{1,3})?分?")
_MONTH_RE = re.compile(r"^(上上个?|上个?|下下个?|下个?|这个|本|当)月(底|末|初)?$")
_YEAR_RE = re.compile(r"^(去|今|明|前)?年(底|末|初)?$")
_RECENT_RE = re.compile(r"^(?:最近|近|过去)的?([一二两三四五六七八九十\d]*)(天|日|周|个?星期|个月)$")
_MONTH_END_RE = re.compile(r"^(月底|月末|月初)$")
_MD_RE = re.compile(r"^(\d{1,2}|[一二三四五六七八九十]{1,3})月(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]?$")
_WEEKDAY_RE = re.compile(r"^(周|星期)[一二三四五六日1-7]$")
_DAY_ONLY_RE = re.compile(r"^(\d{1,2}|[一二三四五六七八九十]{1,3})[号日]$")


def _parse_jio(text: str, base: datetime) -> tuple[datetime, datetime, str] | None:
    try:
        res = jionlp_module().parse_time(text, time_base=base)
    except Exception:  # jionlp raises ValueError and others on text it cannot handle
        return None
    try:
        start = datetime.strptime(res["time"][0], "%Y-%m-%d %H:%M:%S")
        end_raw = res["time"][1]
        end = start if end_raw in ("inf", "-inf") else datetime.strptime(end_raw, "%Y-%m-%d %H:%M:%S")
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return start, end, res.get("type", "time_point")


def _month_span(year: int, month: int) -> tuple[datetime, datetime]:
    while month < 1:
        year, month = year - 1, month + 12
    while month > 12:
        year, month = year + 1, month - 12
    last = calendar.monthrange(year, month)[1]
    return datetime(year, month, 1), datetime(year, month, last, 23, 59, 59)


def _day_end(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 23, 59, 59)


def _add_month(d: datetime, n: int = 1) -> datetime:
    month = d.month - 1 + n
    year = d.year + month // 12
    month = month % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return d.replace(year=year, month=month, day=day)


Result = tuple[datetime, datetime | None, str]  # start, end (span) or None (point), grain


def _own_rules(s: str, base: datetime, prefer_past: bool) -> Result | None:
    today = base.replace(hour=0, minute=0, second=0, microsecond=0)
    m = _MONTH_RE.match(s)
    if m:
        offset = {"上上": -2, "上上个": -2, "上": -1, "上个": -1, "下": 1, "下个": 1, "下下": 2, "下下个": 2}.get(m[1], 0)
        start, end = _month_span(base.year, base.month + offset)
        if m[2] in ("底", "末"):
            return end.replace(hour=0, minute=0, second=0), None, "day"
        if m[2] == "初":
            return start, None, "day"
        return start, end, "month"
    m = _MONTH_END_RE.match(s)
    if m:
        start, end = _month_span(base.year, base.month)
        if m[1] == "月初":
            if start < today and not prefer_past:
                start = _month_span(base.year, base.month + 1)[0]
            return start, None, "day"
        return end.replace(hour=0, minute=0, second=0), None, "day"
    m = _YEAR_RE.match(s)
    if m and (m[1] or m[2]):
        year = base.year + {"前": -2, "去": -1, "今": 0, "明": 1}.get(m[1] or "今", 0)
        if m[2] in ("底", "末"):
            return datetime(year, 12, 31), None, "day"
        if m[2] == "初":
            return datetime(year, 1, 1), None, "day"
        return datetime(year, 1, 1), datetime(year, 12, 31, 23, 59, 59), "year"
    m = _RECENT_RE.match(s)
    if m:
        n = int(parse_number(m[1]) or 1) if m[1] else 1
        unit = m[2]
        if unit in ("天", "日"):
            start = today - timedelta(days=n)
        elif unit == "个月":
            start = _add_month(today, -n)
        else:
            start = today - timedelta(days=7 * n)
        return start, _day_end(today), "week" if "周" in unit or "星期" in unit else "day"
    return None


def _future_fix(s: str, start: datetime, today: datetime) -> datetime:
    """A bare past day-of-month / weekday / M月D日 in a plan means the next one."""
    if start >= today:
        return start
    if _MD_RE.match(s):
        return start.replace(year=start.year + 1)
    if _WEEKDAY_RE.match(s):
        while start < today:
            start += timedelta(days=7)
        return start
    if _DAY_ONLY_RE.match(s):
        return _add_month(start)
    return start


@lru_cache(maxsize=8192)
def _normalize(text: str, base: datetime, prefer_past: bool) -> Result | None:
    s = text.strip()
    for old, new in _REWRITES:
        s = s.replace(old, new)
    own = _own_rules(s, base, prefer_past)
    if own:
        return own
    today = base.replace(hour=0, minute=0, second=0, microsecond=0)
    clock = _CLOCK_RE.search(s)
    tod = _TOD_RE.search(s)
    if tod and not clock:
        date_part = (s[: tod.start()] + s[tod.end():]).strip()
        day = today
        if date_part:
            parsed = _parse_jio(date_part, base)
            if parsed is None:
                return None
            day = parsed[0].replace(hour=0, minute=0, second=0)
            if not prefer_past:
                day = _future_fix(date_part, day, today)
        return day.replace(hour=TOD_HOURS[tod[0]]), None, "hour"
    if clock:
        date_part = s[: (tod.start() if tod and tod.start() < clock.start() else clock.start())].strip()
        parsed = _parse_jio(s, base)
        if parsed is None:
            return None
        start = parsed[0]
        if tod and tod[0] in ("下午", "晚上", "傍晚", "夜里") and start.hour < 12:
            start = start.replace(hour=start.hour + 12)
        if date_part and not prefer_past:
            fixed = _future_fix(date_part, start.replace(hour=0, minute=0), today)
            start = fixed.replace(hour=start.hour, minute=start.minute)
        grain = "minute" if start.minute else "hour"
        return start, None, grain
    parsed = _parse_jio(s, base)
    if parsed is None:
        return None
    start, end, kind = parsed
    days = (end - start).total_seconds() / 86400
    if kind == "time_point" and days < 1.01:
        day = start.replace(hour=0, minute=0, second=0)
        if not prefer_past:
            day = _future_fix(s, day, today)
        return day, None, "day"
    grain = "week" if days < 8 else "month" if days < 32 else "year"
    return start, end, grain


def normalize_time(text: str, now: datetime, tz: ZoneInfo, prefer_past: bool = False) -> tuple[Any, dict] | None:
    """Time words -> (ISO string or {'from','to'}, {'grain', 'type'}); None when not understood."""
    local = now.astimezone(tz) if now.tzinfo else now.replace(tzinfo=tz)
    base = local.replace(tzinfo=None, second=0, microsecond=0)
    result = _normalize(text, base, prefer_past)
    if result is None:
        return None
    start, end, grain = result
    if end is None:
        return start.replace(tzinfo=tz).isoformat(), {"grain": grain, "type": "point"}
    return ({"from": start.replace(tzinfo=tz).isoformat(), "to": end.replace(tzinfo=tz).isoformat()},
            {"grain": grain, "type": "span"})
