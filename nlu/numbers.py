"""Chinese / Arabic number parsing for amounts, quantities, probabilities, points and discounts.

Our own positional parser reads exact numbers (it gets 一万二 / 1万2 / 2万300 / 1.5千万 right, where
jionlp.parse_money says 10002 / 20004 / 40303); cn2an reads plain numeral strings it is right about;
jionlp.parse_money reads the vague "多 / 几 / 余" ranges (十几万 -> 10万-20万). Each fix is pinned in
tests/nlu/test_numbers.py and compared with the libraries in tests/nlu/test_against_libraries.py.
"""

from __future__ import annotations

import contextlib
import re
from functools import lru_cache
from typing import Any

import cn2an

from nlu.jio import jionlp_module

CN_DIGITS = "零〇一二三四五六七八九十百千万亿两壹贰叁肆伍陆柒捌玖拾佰仟点廿卅卌兩萬億"
_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
          "九": 9, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9, "幺": 1}
_DIGIT.update({str(d): d for d in range(10)})
_SMALL_UNITS = (("千", 1000), ("百", 100), ("十", 10))
_BIG_UNITS = (("亿", 100_000_000), ("万", 10_000))
# Traditional and financial variants, written to the simplified characters the parser reads.
_VARIANTS = str.maketrans({
    "兩": "两", "萬": "万", "億": "亿", "圓": "元", "塊": "块", "貳": "贰", "陸": "陆", "參": "叁", "叄": "叁",
    "仟": "千", "佰": "百", "拾": "十", "圆": "元", "毫": "毛", "〇": "零", "○": "零", "Ｏ": "零", "，": "", ",": "",
    "－": "-", "～": "~", "．": ".", "％": "%", "貮": "贰", "點": "点", "幾": "几", "來": "来",
})
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_UNIT_SUFFIX = {"w": "万", "W": "万", "k": "千", "K": "千"}
_ARABIC = re.compile(r"^\d+(?:\.\d+)?$")
_NOISE = re.compile(r"^(?:人民币|约|大约|大概|差不多|合计|共计?|总共|一共|将近|接近|不到|RMB|rmb|¥|￥)+"
                    r"|(?:左右|上下|整|以上|以下|之内|以内|出头|RMB|rmb)+$")
_MONEY_TAIL = re.compile(r"(?:块钱|块|元钱|元|钱)$")
# 两三万 / 七八十万: two neighbouring digits say "between"; 三五万 is the colloquial 3-5.
_PAIR = re.compile(r"^(?P<pre>.*?)(?P<a>[一二两三四五六七八九])(?P<b>[二两三四五六七八九十])(?P<unit>[十百千万亿]*)$")
_BLUR = re.compile(r"[几多余来]")
_RANGE_SPLIT = re.compile(r"\s*(?:到|至|-|~|—|－)\s*")
_UNIT_CHARS = "十百千万亿"


def tidy(value: float) -> int | float:
    """Whole numbers become int so JSON shows 500000, not 500000.0."""
    rounded = round(value, 6)
    return int(rounded) if float(rounded).is_integer() else rounded


def canonical(text: str) -> str:
    """Traditional / financial / full-width forms -> the simplified characters our parser reads;
    廿 / 卅 / 卌 -> 二十 / 三十 / 四十."""
    s = text.strip().translate(_VARIANTS).translate(_FULLWIDTH)
    s = s.replace("廿", "二十").replace("卅", "三十").replace("卌", "四十")
    s = re.sub(r"(?<=\d)\s+(?=\d)", "", s)
    return re.sub(r"\s+", "", s)


def _digits(s: str) -> float | None:
    """A string without units: Arabic ('1.5', '05'), one Chinese digit, or Chinese digits read one by one."""
    if not s:
        return None
    if _ARABIC.match(s):
        return float(s)
    if "点" in s:
        head, _, tail = s.partition("点")
        whole = _value(head) if head else 0
        if whole is None or not tail or any(ch not in _DIGIT for ch in tail):
            return None
        return whole + float("0." + "".join(str(_DIGIT[ch]) for ch in tail))
    if all(ch in _DIGIT for ch in s) and len(s) != 2 or s.isascii() and s.isdigit():  # 二零二六; 两三 is not 23
        return float("".join(str(_DIGIT[ch]) for ch in s))
    return None


def _colloquial_tail(tail: str, unit: int) -> float | None:
    """一万二 / 1万2 / 三千五: one digit right after a unit counts in the next lower unit."""
    if len(tail) == 1 and tail in _DIGIT and tail not in "零0" and unit >= 100:
        return _DIGIT[tail] * unit / 10
    return None


def _value(s: str) -> float | None:
    """Positional parser over digits, Chinese numerals and the units 十百千万亿 (mixed freely)."""
    if not s:
        return None
    for units in (_BIG_UNITS, _SMALL_UNITS):
        for char, unit in units:
            if char not in s:
                continue
            head, _, tail = s.partition(char)
            head_value = _value(head) if head else (1.0 if char in "十千百" else None)
            if head_value is None:
                return None
            if not tail:
                return head_value * unit
            tail_value = _colloquial_tail(tail, unit)
            if tail_value is None:
                tail_value = _value(tail.lstrip("零0") or "0")
            if tail_value is None or tail_value >= unit:
                return None
            return head_value * unit + tail_value
    return _digits(s)


def _number(s: str) -> float | None:
    if not s:
        return None
    if s[-1] in _UNIT_SUFFIX and _ARABIC.match(s[:-1] or "x"):
        s = s[:-1] + _UNIT_SUFFIX[s[-1]]
    value = _value(s)
    if value is None:
        with contextlib.suppress(Exception):  # cn2an raises ValueError and others on odd strings
            value = float(cn2an.cn2an(s, "smart"))
    return value


@lru_cache(maxsize=4096)
def parse_number(text: str) -> int | float | None:
    """'50万' -> 500000, '三千五' -> 3500, '15w' -> 150000, '3k' -> 3000, '1.2亿' -> 120000000."""
    s = _NOISE.sub("", canonical(text))
    s = _MONEY_TAIL.sub("", s)
    value = _number(s)
    return tidy(value) if value is not None else None


def _small_digit(text: str) -> float | None:
    value = _digits(text) if text else 0.0
    return value if value is not None and value < 10 else None


def _cents(after: str) -> float | None:
    """What follows 元/块: 伍角 / 八毛 / 二毛五 / 五 (角) / 零五 or 五分 (分) -> yuan fraction."""
    after = after.removesuffix("钱")
    rest = after.lstrip("零")
    m = re.match(r"^([^角毛分]+)[角毛](.*)$", rest)
    if m:
        jiao, fen = _small_digit(m[1]), _small_digit(m[2].removesuffix("分").lstrip("零"))
    elif rest.endswith("分") or after.startswith("零"):
        jiao, fen = 0.0, _small_digit(rest.removesuffix("分"))
    else:
        jiao, fen = _small_digit(rest), 0.0
    if jiao is None or fen is None:
        return None
    return jiao / 10 + fen / 100


def _yuan(s: str) -> float | None:
    """Yuan with 角/毛 and 分: 贰佰零捌元伍角 -> 208.5, 五块八毛 -> 5.8, 三块五 -> 3.5, 一块二毛五 -> 1.25,
    十块零五分 -> 10.05, 八毛钱 -> 0.8."""
    m = re.match(r"^(.*?)(?:块钱|元钱|元|块)(.*)$", s)
    if m:
        whole = _number(m[1]) if m[1] else 0.0
        cents = _cents(m[2])
        return whole + cents if whole is not None and cents is not None else None
    if re.search(r"[角毛分]", s):
        cents = _cents(s)
        return cents if cents else None
    return None


def _pair_range(s: str) -> dict | None:
    """两三万 -> 2万-3万; 七八十万 -> 70万-80万; 三五千 -> 3000-5000."""
    m = _PAIR.match(s)
    if m is None or m["b"] == "十" and not m["unit"] and m["a"] != "一":
        return None
    a, b = _DIGIT[m["a"]], 10 if m["b"] == "十" else _DIGIT[m["b"]]
    if not a < b:
        return None
    unit_text = m["unit"]
    if m["b"] == "十":  # 一十 is not a pair; 几十 handled elsewhere
        return None
    base = _value("1" + unit_text) if unit_text else 1.0
    prefix = _value(m["pre"]) if m["pre"] else None
    if base is None or (m["pre"] and prefix is None):
        return None
    if prefix is not None:  # 十七八万 -> 17万-18万
        if not m["pre"].endswith("十"):
            return None
        return {"from": tidy((prefix + a) * base), "to": tidy((prefix + b) * base)}
    return {"from": tidy(a * base), "to": tidy(b * base)}


def _jionlp_blur(s: str) -> dict | int | float | None:
    """十几万 / 三万多 / 一百多块 / 500多万: jionlp's ranges (its exact readings are not used)."""
    try:
        result = jionlp_module().parse_money(s)
    except Exception:  # jionlp raises on text it cannot read
        return None
    num = result.get("num")
    if isinstance(num, list) and len(num) == 2:
        return {"from": tidy(float(num[0])), "to": tidy(float(num[1]))}
    return None


def _amount_single(s: str) -> Any:
    if not s:
        return None
    if s.removesuffix("钱")[-1:] in ("角", "毛", "分") or re.search(r"(?:元|块)[^元块]+$", s):
        value = _yuan(s)
        return tidy(value) if value is not None else None
    core = _MONEY_TAIL.sub("", s)
    if _BLUR.search(core):
        return _jionlp_blur(core + "元")
    pair = _pair_range(core)
    if pair is not None:
        return pair
    value = _number(core)
    return tidy(value) if value is not None else None


@lru_cache(maxsize=4096)
def parse_amount(text: str) -> int | float | dict | None:
    """Amount text -> yuan; a range '10到15万' / '3万-8万元' / '两三万' -> {'from', 'to'} (unit shared)."""
    s = _NOISE.sub("", canonical(text))
    s = re.sub(r"(?:人民币|RMB|rmb|¥|￥)", "", s)
    s = re.sub(r"(?<=[0-9])[wW](?=[0-9]$)", "万", re.sub(r"(?<=[0-9])[kK](?=[0-9]$)", "千", s))  # 1w2 = 1万2
    parts = _RANGE_SPLIT.split(s, maxsplit=1)
    if len(parts) == 2 and parts[0] and parts[1]:
        lo_text, hi_text = _MONEY_TAIL.sub("", parts[0]), parts[1]
        hi = _amount_single(hi_text)
        hi_core = _MONEY_TAIL.sub("", hi_text)
        unit = re.search(rf"[{_UNIT_CHARS}wWkK]+$", hi_core)
        if unit and not re.search(rf"[{_UNIT_CHARS}wWkK]$", lo_text):
            lo_text += unit[0]
        lo = _amount_single(lo_text)
        if isinstance(lo, int | float) and isinstance(hi, int | float) and lo <= hi:
            return {"from": lo, "to": hi}
        return None
    return _amount_single(s)


def parse_quantity(text: str) -> int | dict | None:
    """'10' / '两' / '三十' -> int; '两三' / '七八' -> {'from', 'to'} (a rough count the dialog asks about)."""
    s = canonical(text)
    pair = _pair_range(s)
    if pair is not None:
        return pair
    return parse_int(s)


def parse_int(text: str) -> int | None:
    value = parse_number(text)
    return int(value) if value is not None and float(value).is_integer() else None


def parse_probability(text: str) -> int | float | None:
    """'70%' / '百分之七十' / '七成' -> 70; '七八成' -> 75 (the middle of the two)."""
    s = canonical(text).replace("把握", "").replace("的", "")
    if s.endswith("%"):
        return parse_number(s[:-1])
    if s.startswith("百分之"):
        return parse_number(s[3:])
    if s.endswith("成"):
        body = s[:-1]
        if len(body) == 2 and all(ch in _DIGIT for ch in body) and _DIGIT[body[0]] + 1 == _DIGIT[body[1]]:
            return tidy((_DIGIT[body[0]] + _DIGIT[body[1]]) * 5)
        value = parse_number(body)
        return tidy(value * 10) if value is not None and value <= 10 else None
    return parse_number(s)


_DISCOUNT_BODY = re.compile(r"^(?:打)?(?P<n>\d{1,2}(?:\.\d{1,2})?|[一二三四五六七八九两][一二三四五六七八九]?(?:点[一二三四五六七八九])?)折$")


def parse_discount(text: str) -> float | None:
    """Price multiplier: 八五折 / 85折 / 8.5折 / 打八五折 -> 0.85, 九折 -> 0.9, 85% (of the price) -> 0.85,
    七点五折 -> 0.75. None when not a discount in (0, 1)."""
    s = canonical(text)
    if s.removeprefix("打") in ("对折", "半价"):
        return 0.5
    m = _DISCOUNT_BODY.match(s)
    if m:
        body = m["n"]
        if "点" in body:
            value = _digits(body)
            tenths = value
        elif _ARABIC.match(body):
            tenths = float(body) if "." in body or len(body) == 1 else float(body) / 10
        elif len(body) == 2:
            tenths = _DIGIT[body[0]] + _DIGIT[body[1]] / 10
        else:
            tenths = _DIGIT[body]
        if tenths is None:
            return None
        value = round(tenths / 10, 4)
    elif s.endswith("%"):
        number = parse_number(s[:-1])
        value = round(number / 100, 4) if number is not None else None
    else:
        return None
    return value if value is not None and 0 < value < 1 else None
