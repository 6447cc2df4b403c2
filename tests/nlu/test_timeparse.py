"""Each fix on top of jionlp.parse_time is pinned here (reference: Fri 2026-11-27 10:00 +08:00)."""

from __future__ import annotations

from datetime import datetime

import pytest

from nlu.jio import jionlp_module
from nlu.timeparse import normalize_time

from .conftest import NOW, TZ


def norm(text: str, past: bool = False):
    result = normalize_time(text, NOW, TZ, prefer_past=past)
    assert result is not None, text
    return result


def test_time_base_is_wall_clock_in_configured_tz():
    # jionlp reads a naive datetime as wall clock: 10:00 Shanghai stays 10:00, not 18:00.
    res = jionlp_module().parse_time("今天上午10点", time_base=datetime(2026, 11, 27, 10, 0))
    assert res["time"][0] == "2026-11-27 10:00:00"
    late = datetime(2026, 11, 27, 23, 30, tzinfo=TZ)  # 15:30 UTC: still the 27th in Shanghai
    assert normalize_time("明天", late, TZ)[0] == "2026-11-28T00:00:00+08:00"


@pytest.mark.parametrize("text", ["上个月", "这个月", "下个月", "月底", "明早"])
def test_jionlp_raises_on_these(text):
    with pytest.raises(Exception):  # noqa: B017 - documents the upstream behaviour we work around
        jionlp_module().parse_time(text, time_base=datetime(2026, 11, 27, 10, 0))


def test_fix_month_spans():
    assert norm("上个月") == ({"from": "2026-10-01T00:00:00+08:00", "to": "2026-10-31T23:59:59+08:00"},
                           {"grain": "month", "type": "span"})
    assert norm("这个月")[0] == {"from": "2026-11-01T00:00:00+08:00", "to": "2026-11-30T23:59:59+08:00"}
    assert norm("本月")[0] == norm("这个月")[0]
    assert norm("下个月")[0] == {"from": "2026-12-01T00:00:00+08:00", "to": "2026-12-31T23:59:59+08:00"}


def test_fix_month_end():
    assert norm("月底") == ("2026-11-30T00:00:00+08:00", {"grain": "day", "type": "point"})


def test_fix_mingzao_and_time_of_day_defaults():
    assert norm("明早") == ("2026-11-28T09:00:00+08:00", {"grain": "hour", "type": "point"})
    assert norm("明天上午")[0] == "2026-11-28T09:00:00+08:00"  # jionlp: 07:00
    assert norm("明天中午")[0] == "2026-11-28T12:00:00+08:00"
    assert norm("明天下午")[0] == "2026-11-28T14:00:00+08:00"  # jionlp: 13:00
    assert norm("今晚")[0] == "2026-11-27T19:00:00+08:00"
    assert norm("后天上午10点")[0] == "2026-11-29T10:00:00+08:00"
    assert norm("明天下午3点")[0] == "2026-11-28T15:00:00+08:00"


def test_fix_future_preference_for_plans():
    # jionlp answers 2026-01-15 and 2026-11-23 (this week's Monday).
    assert jionlp_module().parse_time("1月15日", time_base=datetime(2026, 11, 27, 10))["time"][0].startswith("2026-01-15")
    assert norm("1月15日")[0] == "2027-01-15T00:00:00+08:00"
    assert norm("周一")[0] == "2026-11-30T00:00:00+08:00"
    assert norm("周五")[0] == "2026-11-27T00:00:00+08:00"  # today still counts
    assert norm("2号")[0] == "2026-12-02T00:00:00+08:00"


def test_past_context_keeps_the_past():
    assert norm("周一", past=True)[0] == "2026-11-23T00:00:00+08:00"
    assert norm("昨天")[0] == "2026-11-26T00:00:00+08:00"
    assert norm("上周")[0] == {"from": "2026-11-16T00:00:00+08:00", "to": "2026-11-22T23:59:59+08:00"}


def test_fix_recent_and_year():
    assert norm("最近一周")[0] == {"from": "2026-11-20T00:00:00+08:00", "to": "2026-11-27T23:59:59+08:00"}
    assert norm("今年")[0] == {"from": "2026-01-01T00:00:00+08:00", "to": "2026-12-31T23:59:59+08:00"}
    assert norm("年底")[0] == "2026-12-31T00:00:00+08:00"  # jionlp: a Nov-Dec span


def test_weeks_are_monday_first():
    assert norm("下周三")[0] == "2026-12-02T00:00:00+08:00"
    assert norm("本周")[0] == {"from": "2026-11-23T00:00:00+08:00", "to": "2026-11-29T23:59:59+08:00"}
    assert norm("下周")[1] == {"grain": "week", "type": "span"}


def test_unparseable_returns_none():
    assert normalize_time("啊啊啊", NOW, TZ) is None


# --- issue 14: categories, at Wed 2026-12-02 10:50 (one test per category, values by hand) ---
WED = datetime(2026, 12, 2, 10, 50, tzinfo=TZ)


def at_wed(text: str, past: bool = False):
    result = normalize_time(text, WED, TZ, prefer_past=past)
    assert result is not None, text
    return result[0]


def span(a: str, b: str) -> dict:
    return {"from": f"{a}+08:00", "to": f"{b}+08:00"}


@pytest.mark.parametrize(
    ("text", "value"),
    [("过两天", "2026-12-04T00:00:00+08:00"), ("再过三天", "2026-12-05T00:00:00+08:00"),
     ("过两周", "2026-12-16T00:00:00+08:00"), ("再过一个月", "2027-01-02T00:00:00+08:00"),
     ("过两个礼拜", "2026-12-16T00:00:00+08:00"),
     ("五天后", "2026-12-07T00:00:00+08:00"), ("五天後", "2026-12-07T00:00:00+08:00"),
     ("两个半小时后", "2026-12-02T13:20:00+08:00"), ("半小时后", "2026-12-02T11:20:00+08:00"),
     ("3小时以后", "2026-12-02T13:50:00+08:00"), ("40分钟后", "2026-12-02T11:30:00+08:00"),
     ("三天前", "2026-11-29T00:00:00+08:00")],
)
def test_relative_days_and_hours(text, value):
    assert at_wed(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("接下来两周", span("2026-12-02T00:00:00", "2026-12-16T23:59:59")),
     ("最近一个月", span("2026-11-02T00:00:00", "2026-12-02T23:59:59")),
     ("10个工作日内", span("2026-12-02T00:00:00", "2026-12-16T23:59:59")),
     ("3个工作日内", span("2026-12-02T00:00:00", "2026-12-07T23:59:59")),  # Thu, Fri, (weekend), Mon
     ("90天内", span("2026-12-02T00:00:00", "2027-03-02T23:59:59")),
     ("未来两个月", span("2026-12-02T00:00:00", "2027-02-02T23:59:59"))],
)
def test_spans(text, value):
    assert at_wed(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("三月底", "2027-03-31T00:00:00+08:00"), ("6月最后一天", "2027-06-30T00:00:00+08:00"),
     ("12月底", "2026-12-31T00:00:00+08:00"), ("明年3月底", "2027-03-31T00:00:00+08:00"),
     ("下两个月", span("2027-01-01T00:00:00", "2027-02-28T23:59:59")),
     ("中旬", span("2026-12-11T00:00:00", "2026-12-20T23:59:59")),
     ("下旬", span("2026-12-21T00:00:00", "2026-12-31T23:59:59")),
     ("下个月上旬", span("2027-01-01T00:00:00", "2027-01-10T23:59:59")),
     ("2月下旬", span("2027-02-21T00:00:00", "2027-02-28T23:59:59")),
     ("年后", "2027-02-13T00:00:00+08:00"),  # Spring Festival 2027-02-06, a 7-day break
     ("节后", "2027-01-04T00:00:00+08:00"),  # the next break is New Year's Day, Jan 1-3
     ("国庆后", "2027-10-08T00:00:00+08:00"),
     ("月底前", span("2026-12-02T00:00:00", "2026-12-31T23:59:59")),
     ("明年3月", span("2027-03-01T00:00:00", "2027-03-31T23:59:59")),
     ("明年三月份", span("2027-03-01T00:00:00", "2027-03-31T23:59:59"))],
)
def test_named_periods_and_their_parts(text, value):
    assert at_wed(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("前天晚上7点20", "2026-11-30T19:20:00+08:00"), ("这周五下午三点", "2026-12-04T15:00:00+08:00"),
     ("大后天下午三点", "2026-12-05T15:00:00+08:00"), ("下週三", "2026-12-09T00:00:00+08:00"),
     ("後天上午10點", "2026-12-04T10:00:00+08:00"), ("禮拜五下午兩點", "2026-12-04T14:00:00+08:00")],
)
def test_clock_times_and_traditional_characters(text, value):
    assert at_wed(text) == value


def test_a_past_month_part_keeps_its_year_in_a_report():
    assert at_wed("三月底", past=True) == "2026-03-31T00:00:00+08:00"


@pytest.mark.parametrize(
    ("text", "value"),
    [("大后天 下午三点去华为", "2026-12-05T15:00:00+08:00"), ("这周五吧 下午三点提醒我给华为打电话", "2026-12-04T15:00:00+08:00"),
     ("下午三点提醒我 大后天 给林总发合同", "2026-12-05T15:00:00+08:00")],
)
def test_a_day_and_a_clock_time_written_apart_are_one_moment(parser, text, value):
    times = [e for e in parser.parse(text, WED)["entities"] if e["entity"] == "time"]
    assert times and all(e["value"] == value for e in times)


def test_a_day_with_its_own_part_of_day_is_not_joined(parser):
    times = [e["value"] for e in parser.parse("明天上午提醒我 下午三点开会", WED)["entities"] if e["entity"] == "time"]
    assert times[0] == "2026-12-03T09:00:00+08:00"


@pytest.mark.parametrize(
    ("text", "value"),
    [("明天早上8点到10点", span("2026-12-03T08:00:00", "2026-12-03T10:00:00")),
     ("下午3点到5点", span("2026-12-02T15:00:00", "2026-12-02T17:00:00")),
     ("下周一到周三", span("2026-12-07T00:00:00", "2026-12-09T23:59:59")),
     ("两小时前", "2026-12-02T08:50:00+08:00"), ("一个月后", "2027-01-02T00:00:00+08:00"),
     ("两周后", "2026-12-16T00:00:00+08:00"), ("半年后", "2027-06-02T00:00:00+08:00"),
     ("三个月前", "2026-09-02T00:00:00+08:00")],
)
def test_ranges_and_units_later_or_ago(text, value):
    assert at_wed(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("三点", "2026-12-02T15:00:00+08:00"), ("昨天三点", "2026-12-01T15:00:00+08:00"),
     ("凌晨三点", "2026-12-02T03:00:00+08:00"), ("今年年底", "2026-12-31T00:00:00+08:00"),
     ("明年年初", "2027-01-01T00:00:00+08:00"), ("月中", span("2026-12-11T00:00:00", "2026-12-20T23:59:59"))],
)
def test_business_hours_and_year_words(text, value):
    assert at_wed(text) == value


@pytest.mark.parametrize(
    ("text", "words", "value"),
    [("今天拜访了华为张总，1月中旬再联系他", "1月中旬", span("2027-01-11T00:00:00", "2027-01-20T23:59:59")),
     ("拜访了华为，预计周三报价", "周三", "2026-12-02T00:00:00+08:00"),
     ("见了华为张总，说周五之前要方案", "周五之前", span("2026-11-27T00:00:00", "2026-11-27T23:59:59")),
     ("周三拜访了华为张总", "周三", "2026-11-25T00:00:00+08:00"),
     ("去了华为 过两周再跟进", "过两周", "2026-12-11T00:00:00+08:00")],
)
def test_a_plan_in_a_visit_note_looks_ahead(parser, text, words, value):
    """A visit looks back (周三拜访了 is last Wednesday), but the plan it ends with looks ahead (issue 15)."""
    times = {e["text"]: e["value"] for e in parser.parse(text, NOW)["entities"] if e["entity"] == "time"}
    assert times[words] == value
