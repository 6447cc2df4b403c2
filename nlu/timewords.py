"""The one vocabulary of time words: the extractor's TIME_RE (nlu/rules.py) and the normalizer's anchored
patterns (nlu/timeparse.py) are both built from the pieces below, so a word the extractor finds is a
word the normalizer reads."""

from __future__ import annotations

import re

# Traditional -> simplified for the characters that occur in time words; one character for one, so
# offsets in the original text stay valid.
_TRADITIONAL = str.maketrans({
    "後": "后", "週": "周", "禮": "礼", "點": "点", "個": "个", "兩": "两", "號": "号", "時": "时", "鐘": "钟",
    "這": "这", "當": "当", "過": "过", "內": "内", "來": "来", "幾": "几", "開": "开", "現": "现", "曆": "历",
    "節": "节", "國": "国", "慶": "庆", "陽": "阳", "歲": "岁", "與": "与", "間": "间", "晝": "昼", "鬧": "闹",
    "臘": "腊", "還": "还", "從": "从", "見": "见", "約": "约", "會": "会",
})
NUM = r"(?:\d{1,4}|[零一二三四五六七八九十两]{1,3})"
HALF = rf"(?:{NUM}个半|半|{NUM})"
MINUTES = r"(?:半|一刻|三刻|\d{1,2}|[零一二三四五六七八九十]{1,3})"
CLOCK = rf"{NUM}(?:点|:|：){MINUTES}?分?"
CLOCK_READ = rf"({NUM})(?:点|时|:|：)({MINUTES})?分?"  # the normalizer's form: hour and minutes captured
WEEKDAY = r"[一二三四五六日天1-7]"
CLOCK_AR = rf"\d{{1,2}}(?:点|:|：){MINUTES}?分?"
DAYWORD = r"(?:大后天|后天|明天|今天|昨天|前天|今日|明日|今早|明早|今晚|明晚|昨晚|今儿|明儿|当天)"
WEEK = (rf"(?:(?:上上|下下|上|下|本|这个|这)(?:个)?(?:周|星期|礼拜)(?:{WEEKDAY}|末)?"
        rf"|(?:周|星期|礼拜){WEEKDAY}|周末)")
TEN_DAYS = r"(?:上旬|中旬|下旬)"
MONTH_PART = rf"(?:底|末|初|{TEN_DAYS}|中(?![午])|最后一天|{NUM}[号日])"
MONTH = rf"(?:(?:上上个|下下个|上个|下个|这个|本|上|下|当)月{MONTH_PART}?|月底|月末|月初|月中|{TEN_DAYS})"
YEAR_WORD = r"(?:今年|去年|明年|前年|后年|\d{4}年)"
DATE = rf"(?:{YEAR_WORD}?{NUM}月份?(?:{NUM}[日号]?|{MONTH_PART})?|{NUM}[号日](?![子期楼线门机位窗厅馆院床码]))"
YEAR = r"(?:今年|去年|明年|前年|年底|年初|年末|年后|年前)"
HOLIDAY = r"(?:元旦|春节|过年|清明节?|五一|劳动节|端午节?|中秋节?|国庆节?)"
RECENT = rf"(?:(?:最近|近|过去)的?{NUM}?(?:天|日|周|个星期|个月))"
NEXT_SPAN = rf"(?:(?:接下来|未来|今后|之后)的?{NUM}(?:天|周|个星期|个月)(?:内|里)?|下{NUM}个月)"
AFTER = rf"(?:(?:过|再过){NUM}(?:天|个?(?:周|星期|礼拜|月))|(?:{NUM}|{HALF})个?(?:天|周|星期|礼拜|月|年)(?:后|以后|之后|前|以前|之前)" \
        rf"|{HALF}个?(?:小时|钟头)(?:后|以后|之后|前|以前|之前)|{NUM}分钟(?:后|以后|之后|前|以前|之前))"
WITHIN = rf"(?:{NUM}个?(?:工作日|天)(?:内|之内|以内)|{NUM}个工作日(?:后|以后|之后)?)"
TOD = r"(?:早上|早晨|上午|中午|下午|傍晚|晚上|凌晨|夜里)"
TOD_HOURS = {"凌晨": 5, "早上": 9, "早晨": 9, "清早": 9, "上午": 9, "中午": 12, "下午": 14, "傍晚": 18,
             "晚上": 19, "夜里": 21}
BEFORE = r"(?:之前|以前|前)"

_HEAD = rf"(?:{DAYWORD}|{WEEK}|{MONTH}|{DATE}|{YEAR}|{HOLIDAY}(?:后|以后|之后|前|以前|之前)|节后)"
_RANGE_TAIL = rf"(?:(?:到|至|~)(?:(?:周|星期){WEEKDAY}|[一二三四五六日天](?![0-9一二三四五六七八九十点号])|{TOD}?{CLOCK}))?"
TIME_RE = re.compile(
    rf"{_HEAD}(?:{DAYWORD}|{WEEK}|{DATE}|{MONTH}|年底|年初|年末|[上下]半年)?{TOD}?(?:{CLOCK})?{_RANGE_TAIL}"
    rf"(?:{BEFORE}(?![0-9一二三四五六七八九十两]))?"
    rf"|{TOD}{CLOCK}{_RANGE_TAIL}|{CLOCK_AR}{_RANGE_TAIL}|{RECENT}|{NEXT_SPAN}|{AFTER}|{WITHIN}"
)


def simplified(text: str) -> str:
    """Traditional characters of time words as simplified ones (same length, offsets stay valid)."""
    return text.translate(_TRADITIONAL)
