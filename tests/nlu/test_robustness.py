"""parse never raises and always returns the contract shape with consistent offsets."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import NOW

CHINESE = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), max_size=30)
CRM_WORDS = st.lists(st.sampled_from(["华为", "下周三", "提醒我", "15万", "3套", "#2051", "VIP0456", "转给", "小王",
                                      "的客户", "百分之", "七成", "签了", "积分", "138-0013-8000", " ", "上个月"]),
                     max_size=12).map("".join)


def check_shape(text: str, result: dict) -> None:
    assert result["text"] == text
    assert isinstance(result["intent"]["name"], str)
    assert 0.0 <= result["intent"]["confidence"] <= 1.0
    assert isinstance(result["intent_ranking"], list) and len(result["intent_ranking"]) <= 10
    for e in result["entities"]:
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert e["text"] == text[e["start"] : e["end"]]
        assert {"entity", "value", "start", "end", "text"} <= e.keys()
    json.dumps(result, ensure_ascii=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=60), CHINESE, CRM_WORDS))
def test_parse_never_raises(parser, text):
    check_shape(text, parser.parse(text, NOW))


def test_odd_inputs(parser):
    for text in ["", "   ", "\x00\x01\x1b[31m", "😀😀😀", "hello how are you", "'; DROP TABLE customers; --",
                 "\ud800abc\udfff", "华为" * 5000, "1" * 10000, "万" * 3000, "\n\t", "#", "VIP", "百分之"]:
        check_shape(text, parser.parse(text, NOW))


def test_long_input_is_capped_and_fast(parser):
    import time

    text = "给华为下单门禁系统3套 共15万 " * 700
    started = time.perf_counter()
    result = parser.parse(text, NOW)
    assert time.perf_counter() - started < 2.0
    assert max(e["end"] for e in result["entities"]) <= 2000
