from __future__ import annotations

import pytest

from nlu.numbers import parse_amount, parse_int, parse_probability


@pytest.mark.parametrize(
    ("text", "value"),
    [("50万", 500000), ("1.2亿", 120000000), ("三千五", 3500), ("八万五", 85000), ("两百块", 200), ("15w", 150000),
     ("3k", 3000), ("六十万", 600000), ("688元", 688), ("12000元", 12000), ("8.5万", 85000), ("一千二百元", 1200),
     ("10到15万", {"from": 100000, "to": 150000}), ("10-15万", {"from": 100000, "to": 150000})],
)
def test_amount(text, value):
    result = parse_amount(text)
    assert result == value
    if isinstance(value, int):
        assert isinstance(result, int)


@pytest.mark.parametrize(("text", "value"), [("70%", 70), ("百分之七十", 70), ("七成", 70)])
def test_probability(text, value):
    assert parse_probability(text) == value


@pytest.mark.parametrize(("text", "value"), [("10", 10), ("两", 2), ("三十", 30)])
def test_int(text, value):
    assert parse_int(text) == value


def test_garbage_is_none():
    assert parse_amount("abc") is None
