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
from nlu.timewords import BEFORE, CLOCK_READ, HOLIDAY, NUM, TEN_DAYS, TOD_HOURS, WEEKDAY, simplified


def warm_up() -> None:
    """jionlp's first parse_time lazily loads its tables (~250 ms): pay it at load time."""
    _parse_jio("下周四", datetime(2026, 1, 1))


_REWRITES = [("明早", "明天早上"), ("今早", "今天早上"), ("明晚", "明天晚上"), ("今晚", "今天晚上"),
             ("昨晚", "昨天晚上"), ("明儿", "明天"), ("今儿", "今天"), ("礼拜天", "周日"), ("星期天", "周日"),
             ("礼拜", "周"), ("周天", "周日"), ("明日", "明天"), ("今日", "今天"), ("这周", "本周"),
             ("这个星期", "本周"), ("这星期", "本周"), ("这个礼拜", "本周"), ("号号", "号"), ("月份", "月"),
             ("过年", "春节")]
_TOD_RE = re.compile("|".join(sorted(TOD_HOURS, key=len, reverse=True)))
_CLOCK_RE = re.compile(CLOCK_READ)
_MONTH_RE = re.compile(rf"^(上上个?|上个?|下下个?|下个?|这个|本|当)?月(底|末|初|{TEN_DAYS}|最后一天)?$")
_YEAR_RE = re.compile(r"^(去|今|明|前|后)?年(?:年?(底|末|初))?$")
_RECENT_RE = re.compile(rf"^(?:最近|近|过去)的?({NUM})?(天|日|周|个?星期|个月)$")
_MD_RE = re.compile(rf"^({NUM})月({NUM})[日号]?$")
_WEEKDAY_RE = re.compile(rf"^(周|星期){WEEKDAY}$")
_DAY_ONLY_RE = re.compile(rf"^({NUM})[号日]$")
# Own rules on top of jionlp (it raises on, or misreads, each of these).
_NAMED_MONTH_RE = re.compile(rf"^((?:今|明|去|后)年|\d{{4}}年)?({NUM})月(底|末|初|{TEN_DAYS}|最后一天)?$")
_TEN_DAYS_RANGE = {"上旬": (1, 10), "中旬": (11, 20), "下旬": (21, 31)}
_PASS_DAYS_RE = re.compile(rf"^(?:再?过)({NUM})(天|个?(?:周|星期|礼拜|月))$")
_HOURS_LATER_RE = re.compile(rf"^(?:({NUM})个半|(半)|({NUM}))个?(小时|钟头|分钟)(后|以后|之后|前|以前|之前)$")
_UNITS_LATER_RE = re.compile(rf"^(?:({NUM})个半|(半)|({NUM}))个?(周|星期|礼拜|月|年)(后|以后|之后|前|以前|之前)$")
_WEEKDAY_RANGE_RE = re.compile(
    rf"^((?:上上|下下|上|下|本|这)?个?(?:周|星期))({WEEKDAY})(?:到|至|-|~)(?:周|星期)?({WEEKDAY})$"
)
_CLOCK_RANGE_RE = re.compile(r"(?:点|:|：|时|半|分)\d{0,2}(?:到|至|-|~)")
_WEEKDAY_INDEX = {c: i for i, c in enumerate("一二三四五六日")} | {"天": 6} | {str(i + 1): i for i in range(7)}
_NEXT_SPAN_RE = re.compile(rf"^(?:(?:接下来|未来|今后|之后)的?({NUM})(天|周|个星期|个月)(?:内|里)?|下({NUM})个月)$")
_WORKDAYS_RE = re.compile(rf"^({NUM})个?工作日(内|之内|以内|后|以后|之后)?$")
_WITHIN_DAYS_RE = re.compile(rf"^({NUM})天(?:内|之内|以内)$")
_HOLIDAY_RE = re.compile(rf"^({HOLIDAY}|节|年)(后|以后|之后|前|以前|之前)$")
_BEFORE_RE = re.compile(rf"^(.+?){BEFORE}$")
_AGO_RE = re.compile(rf"^{NUM}(?:天|周|个星期|个月|年)")
# Public holidays: (name as jionlp knows it or a fixed month-day, length of the break in days).
_HOLIDAYS = [("元旦", (1, 1), 3), ("春节", None, 7), ("清明节", (4, 4), 3), ("劳动节", (5, 1), 5),
             ("端午节", None, 3), ("中秋节", None, 3), ("国庆节", (10, 1), 7)]
_HOLIDAY_ALIASES = {"五一": "劳动节", "清明": "清明节", "端午": "端午节", "中秋": "中秋节", "国庆": "国庆节"}


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


def _month_part(year: int, month: int, part: str | None) -> Result:
    """A month, or a part of it: 底 / 末 / 最后一天 (last day), 初 (first day), 上旬 / 中旬 / 下旬 (spans)."""
    start, end = _month_span(year, month)
    if part in ("底", "末", "最后一天"):
        return end.replace(hour=0, minute=0, second=0), None, "day"
    if part == "初":
        return start, None, "day"
    if part in _TEN_DAYS_RANGE:
        first, last = _TEN_DAYS_RANGE[part]
        return start.replace(day=first), _day_end(start.replace(day=min(last, end.day))), "day"
    return start, end, "month"


def _result_end(result: Result) -> datetime:
    return result[1] or result[0]


def _int(text: str | None, default: int = 1) -> int:
    value = parse_number(text) if text else None
    return int(value) if value is not None else default


def _add_workdays(day: datetime, n: int) -> datetime:
    """Monday-Friday counting (public holidays are not known here)."""
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def _holiday(name: str, year: int) -> tuple[datetime, datetime] | None:
    """First and last day of a public holiday's break in `year` (lunar dates through jionlp)."""
    name = _HOLIDAY_ALIASES.get(name, name)
    for holiday, fixed, length in _HOLIDAYS:
        if holiday != name:
            continue
        if fixed is not None:
            first = datetime(year, *fixed)
        else:
            parsed = _parse_jio(f"{year}年{holiday}", datetime(year, 1, 2))
            if parsed is None:
                return None
            first = parsed[0].replace(hour=0, minute=0, second=0)
        return first, first + timedelta(days=length - 1)
    return None


def _next_holiday(today: datetime, name: str | None) -> tuple[datetime, datetime] | None:
    """The named holiday (or, for 节后, any holiday) whose break has not ended yet."""
    found = []
    for year in (today.year, today.year + 1):
        for holiday, _, _ in _HOLIDAYS:
            if name and _HOLIDAY_ALIASES.get(name, name) != holiday:
                continue
            span = _holiday(holiday, year)
            if span and span[1] >= today:
                found.append(span)
    return min(found) if found else None


def _own_rules(s: str, base: datetime, prefer_past: bool) -> Result | None:
    today = base.replace(hour=0, minute=0, second=0, microsecond=0)
    m = _MONTH_RE.match(s)
    if m and (m[1] or m[2]):
        offset = {"上上": -2, "上上个": -2, "上": -1, "上个": -1, "下": 1, "下个": 1, "下下": 2, "下下个": 2}.get(m[1], 0)
        result = _month_part(base.year, base.month + offset, m[2])
        if not m[1] and not prefer_past and _result_end(result) < today:  # 月初 said after it: next month's
            result = _month_part(base.year, base.month + 1, m[2])
        return result
    if s in _TEN_DAYS_RANGE:
        result = _month_part(base.year, base.month, s)
        if not prefer_past and _result_end(result) < today:
            result = _month_part(base.year, base.month + 1, s)
        return result
    m = _NAMED_MONTH_RE.match(s)
    if m:
        month = _int(m[2], 0)
        if not 1 <= month <= 12:
            return None
        if m[1]:
            year = int(m[1][:4]) if m[1][0].isdigit() else base.year + {"去": -1, "今": 0, "明": 1, "后": 2}[m[1][0]]
            return _month_part(year, month, m[3])
        result = _month_part(base.year, month, m[3])
        if not prefer_past and _result_end(result) < today:  # 三月底 said in December: next March
            result = _month_part(base.year + 1, month, m[3])
        return result
    m = _YEAR_RE.match(s)
    if m and (m[1] or m[2]):
        year = base.year + {"前": -2, "去": -1, "今": 0, "明": 1, "后": 2}.get(m[1] or "今", 0)
        if m[2] in ("底", "末"):
            return datetime(year, 12, 31), None, "day"
        if m[2] == "初":
            return datetime(year, 1, 1), None, "day"
        return datetime(year, 1, 1), datetime(year, 12, 31, 23, 59, 59), "year"
    m = _RECENT_RE.match(s)
    if m:
        n = _int(m[1])
        unit = m[2]
        if unit in ("天", "日"):
            start = today - timedelta(days=n)
        elif unit == "个月":
            start = _add_month(today, -n)
        else:
            start = today - timedelta(days=7 * n)
        return start, _day_end(today), "week" if "周" in unit or "星期" in unit else "day"
    m = _PASS_DAYS_RE.match(s)
    if m:  # 过两天 / 过两周 / 过一个月: that day
        if "月" in m[2]:
            return _add_month(today, _int(m[1])), None, "day"
        return today + timedelta(days=_int(m[1]) * (1 if m[2] == "天" else 7)), None, "day"
    m = _HOURS_LATER_RE.match(s)
    if m:
        if m[1]:
            amount = _int(m[1]) + 0.5
        elif m[2]:
            amount = 0.5
        else:
            amount = _int(m[3])
        delta = timedelta(minutes=amount) if m[4] == "分钟" else timedelta(hours=amount)
        return (base - delta if "前" in m[5] else base + delta), None, "minute"
    m = _UNITS_LATER_RE.match(s)
    if m:  # 两周后 / 一个月后 / 半年后 / 三个月前: that day (a point, as reminders need)
        count = _int(m[1]) + 0.5 if m[1] else 0.5 if m[2] else _int(m[3])
        months = {"月": 1, "年": 12}.get(m[4])
        sign = -1 if "前" in m[5] else 1
        if months:
            day = _add_month(today, sign * round(count * months))
        else:
            day = today + timedelta(days=sign * round(count * 7))
        return day, None, "day"
    m = _WEEKDAY_RANGE_RE.match(s)
    if m:  # 下周一到周三: both ends in the week named first
        first = _parse_jio(m[1] + m[2], base)
        if first is not None:
            start = first[0].replace(hour=0, minute=0, second=0)
            end = start + timedelta(days=_WEEKDAY_INDEX[m[3]] - _WEEKDAY_INDEX[m[2]])
            if end >= start:
                return start, _day_end(end), "day"
    m = _NEXT_SPAN_RE.match(s)
    if m:
        if m[3]:  # 下两个月: the next two calendar months
            first = _month_span(base.year, base.month + 1)[0]
            return first, _month_span(base.year, base.month + _int(m[3]))[1], "month"
        n, unit = _int(m[1]), m[2]
        if unit == "个月":
            end = _add_month(today, n)
        else:
            end = today + timedelta(days=n * (1 if unit == "天" else 7))
        return today, _day_end(end), "day"
    m = _WORKDAYS_RE.match(s)
    if m:
        last = _add_workdays(today, _int(m[1]))
        if m[2] and "后" in m[2]:
            return last, None, "day"
        return today, _day_end(last), "day"
    m = _WITHIN_DAYS_RE.match(s)
    if m:
        return today, _day_end(today + timedelta(days=_int(m[1]))), "day"
    m = _HOLIDAY_RE.match(s)
    if m:
        return _around_holiday(m[1], m[2], today)
    m = _BEFORE_RE.match(s)
    if m and not _AGO_RE.match(s):  # 月底前 / 周五之前: from today up to that day (三天前 is "ago")
        inner = _normalize(m[1], base, False)  # a deadline looks ahead, even in a visit note
        if inner is not None and _result_end(inner) >= today:
            return today, _day_end(_result_end(inner)), "day"
    return None


def _around_holiday(name: str, when: str, today: datetime) -> Result | None:
    """年后 / 春节后: the first day after the Spring Festival break; 节后: after the next holiday's break;
    X前: from today to the day before the break."""
    holiday = _next_holiday(today, None if name == "节" else "春节" if name == "年" else name)
    if holiday is None:
        return None
    first, last = holiday
    if "后" in when:
        return last + timedelta(days=1), None, "day"
    if first <= today:
        return None
    return today, _day_end(first - timedelta(days=1)), "day"


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
    s = simplified(text.strip()).replace(" ", "")
    for old, new in _REWRITES:
        s = s.replace(old, new)
    s = re.sub(r"月中(?!旬)", "月中旬", s)
    own = _own_rules(s, base, prefer_past)
    if own:
        return own
    today = base.replace(hour=0, minute=0, second=0, microsecond=0)
    clock = _CLOCK_RE.search(s)
    tod = _TOD_RE.search(s)
    if clock and _CLOCK_RANGE_RE.search(s):  # 上午10点到12点: jionlp's span, both ends kept
        parsed = _parse_jio(s, base)
        if parsed is not None and parsed[1] > parsed[0]:
            return parsed[0], parsed[1], "minute"
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
        elif tod is None and 1 <= start.hour <= 6:
            start = start.replace(hour=start.hour + 12)  # 三点 with no part of day: business hours, 15:00
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
