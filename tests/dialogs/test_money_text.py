"""How discounts and prices read in a summary: the words people say, the multiplier, and each price."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dialogs import messages as DM


@pytest.mark.parametrize(
    ("discount", "text"),
    [(0.85, "八五折（×0.85）"), (0.9, "九折（×0.9）"), (0.88, "八八折（×0.88）"), (0.5, "五折（×0.5）"),
     (0.95, "九五折（×0.95）"), (0.6467, "约6.5折（×0.6467）"), (None, "")],
)
def test_discount_in_words_and_as_multiplier(discount, text):
    assert DM.discount_text(discount) == text


def test_price_note_lists_list_quoted_and_discounted_prices():
    note = DM.price_note(Decimal("45000"), Decimal("12000"), Decimal("10800"), 0.9)
    assert note == "（目录价4.5万元，报价1.2万元，九折后1.08万元）"
    assert DM.price_note(Decimal("45000"), None, Decimal("38250"), 0.85) == "（目录价4.5万元，八五折后38,250元）"
    assert DM.price_note(Decimal("45000"), Decimal("20000"), Decimal("20000"), None) == "（目录价4.5万元）"
    assert DM.price_note(Decimal("45000"), None, Decimal("45000"), None) == ""


def test_year_shown_only_outside_this_year():
    assert DM.day(date(2027, 3, 31), today=date(2026, 12, 2)) == "2027年3月31日(周三)"
    assert DM.day(date(2026, 12, 31), today=date(2026, 12, 2)) == "12月31日(周四)"
