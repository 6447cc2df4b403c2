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
