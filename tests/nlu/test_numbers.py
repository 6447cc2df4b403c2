from __future__ import annotations

import pytest

from nlu.numbers import parse_amount, parse_discount, parse_int, parse_probability, parse_quantity


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


# --- issue 14: amount categories, each a reading the libraries alone get wrong or cannot read ---
@pytest.mark.parametrize(
    ("text", "value"),
    [
        # financial upper-case numerals (contracts, invoices)
        ("叁万伍仟元整", 35000), ("贰佰零捌元伍角", 208.5), ("陆拾萬圓", 600000), ("壹佰贰拾万元整", 1200000),
        ("玖仟捌佰柒拾陆元伍角肆分", 9876.54), ("拾万元", 100000),
        # 角 / 分 / 毛
        ("五块八毛", 5.8), ("99元9角", 99.9), ("三块五", 3.5), ("一块二毛五", 1.25), ("12元5角3分", 12.53),
        ("八毛", 0.8),
        # digits mixed with numerals and units
        ("2万300元", 20300), ("1千05元", 1005), ("1.5千万", 15000000), ("1万2", 12000), ("一万二", 12000),
        ("3千5百元", 3500), ("1亿2千万", 120000000), ("三点五万", 35000), ("12,800元", 12800), ("￥1,234.5", 1234.5),
        # traditional and colloquial forms
        ("兩萬", 20000), ("廿五元", 25), ("卅六块", 36), ("貳萬伍仟圓", 25000), ("兩千五", 2500),
    ],
)
def test_amount_categories(text, value):
    assert parse_amount(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("两三万块", 20000, 30000), ("十几万", 100000, 200000), ("3万-8万元", 30000, 80000), ("三五万", 30000, 50000),
     ("七八十万", 700000, 800000), ("500多万", 5000000, 6000000), ("3到5千", 3000, 5000), ("10万至12万", 100000, 120000),
     ("十七八万", 170000, 180000)],
)
def test_amount_ranges(text, low, high):
    assert parse_amount(text) == {"from": low, "to": high}


@pytest.mark.parametrize("text", ["abc", "万", "8万-3万", "多少钱", "三块五毛八毛"])
def test_amount_unreadable_is_none(text):
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("八五折", 0.85), ("九五折", 0.95), ("七五折", 0.75), ("八八折", 0.88), ("85折", 0.85), ("8.5折", 0.85),
     ("打八五折", 0.85), ("九折", 0.9), ("七折", 0.7), ("85%", 0.85), ("打9折", 0.9), ("七点五折", 0.75),
     ("95折", 0.95), ("十折", None), ("0折", None), ("150%", None), ("打对折", 0.5), ("半价", 0.5)],
)
def test_discount(text, value):
    assert parse_discount(text) == value


@pytest.mark.parametrize(("text", "value"), [("七八成", 75), ("八成", 80), ("六七成", 65), ("百分之八十五", 85), ("九成", 90)])
def test_probability_words(text, value):
    assert parse_probability(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("两三", {"from": 2, "to": 3}), ("七八", {"from": 7, "to": 8}), ("两", 2), ("十二", 12), ("200", 200)],
)
def test_quantity_rough_counts_are_ranges(text, value):
    assert parse_quantity(text) == value
