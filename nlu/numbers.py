"""Chinese / Arabic number parsing for amounts, quantities, probabilities and points."""

from __future__ import annotations

import re
from functools import lru_cache

import cn2an

CN_DIGITS = "零〇一二三四五六七八九十百千万亿两壹贰叁肆伍陆柒捌玖拾佰仟点"
_UNIT = {"万": 10_000, "亿": 100_000_000, "千": 1_000, "w": 10_000, "W": 10_000, "k": 1_000, "K": 1_000}
_ARABIC = re.compile(r"^\d+(?:\.\d+)?$")
_YUAN_SUFFIX = re.compile(r"(?:块钱|块|元整|元|圆|rmb|RMB)$")


def tidy(value: float) -> int | float:
    """Whole numbers become int so JSON shows 500000, not 500000.0."""
    rounded = round(value, 6)
    return int(rounded) if float(rounded).is_integer() else rounded


@lru_cache(maxsize=4096)
def parse_number(text: str) -> int | float | None:
    """'50万' -> 500000, '三千五' -> 3500, '15w' -> 150000, '3k' -> 3000, '1.2亿' -> 120000000."""
    s = text.strip().replace(",", "").replace("，", "")
    s = _YUAN_SUFFIX.sub("", s)
    if not s:
        return None
    mult = 1
    # An Arabic number followed by a unit: handle the unit ourselves (cn2an rejects '15w').
    if s[-1] in _UNIT and _ARABIC.match(s[:-1] or "x"):
        return tidy(float(s[:-1]) * _UNIT[s[-1]])
    if s[-1] in "wWkK":
        mult, s = _UNIT[s[-1]], s[:-1]
    if _ARABIC.match(s):
        return tidy(float(s) * mult)
    try:
        value = cn2an.cn2an(s, "smart")
    except Exception:  # cn2an raises plain ValueError / others on odd strings
        return None
    return tidy(float(value) * mult)


def parse_amount(text: str) -> int | float | dict | None:
    """Amount text -> yuan; a range '10到15万' / '10-15万' -> {'from', 'to'} (unit shared)."""
    s = _YUAN_SUFFIX.sub("", text.strip())
    parts = re.split(r"到|至|-|~|－|～", s, maxsplit=1)
    if len(parts) == 2 and parts[0] and parts[1]:
        hi = parse_number(parts[1])
        lo_text = parts[0]
        unit = parts[1][-1] if parts[1][-1] in "万亿千wWkK" else ""
        if unit and lo_text[-1] not in "万亿千wWkK":
            lo_text += unit
        lo = parse_number(lo_text)
        if lo is None or hi is None:
            return None
        return {"from": lo, "to": hi}
    return parse_number(s)


def parse_int(text: str) -> int | None:
    value = parse_number(text)
    return int(value) if value is not None else None


def parse_probability(text: str) -> int | float | None:
    """'70%' / '百分之七十' / '七成' -> 70."""
    s = text.strip()
    if s.endswith(("%", "％")):
        return parse_number(s[:-1])
    if s.startswith("百分之"):
        return parse_number(s[3:])
    if s.endswith("成"):
        value = parse_number(s[:-1])
        return tidy(value * 10) if value is not None else None
    return parse_number(s)
