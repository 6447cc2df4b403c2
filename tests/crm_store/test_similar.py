"""Customer names typed wrong or short: suggested by sound and spelling (pypinyin + rapidfuzz)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from crm_store.services.similar import customers_mentioned, is_exact, similar_customers
from tests.crm_store.helpers import Org, add_customer


@pytest.fixture
def known(session: Session, org: Org) -> None:
    add_customer(session, "杭州海康威视数字技术股份有限公司", org.rep_a, aliases=("海康威视",))
    add_customer(session, "苏宁易购", org.rep_a)
    add_customer(session, "华为技术有限公司", org.rep_a, aliases=("华为",))
    add_customer(session, "华润置地", org.rep_a)
    add_customer(session, "上海静安香格里拉大酒店", org.rep_a)
    add_customer(session, "美的集团", org.rep_b)  # another rep's: never suggested to rep_a
    session.commit()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("海康微视", "杭州海康威视数字技术股份有限公司"), ("海康卫视", "杭州海康威视数字技术股份有限公司"),
     ("苏宁一购", "苏宁易购"), ("华伟", "华为技术有限公司"),
     ("香格丽拉", "上海静安香格里拉大酒店")],
)
def test_typos_are_suggested_by_sound(session: Session, org: Org, known: None, typed: str, expected: str) -> None:
    found = similar_customers(session, org.rep_a, typed)
    assert found and found[0].customer.name == expected


@pytest.mark.parametrize("typed", ["美的", "美滴", "长城汽车", "万达", "x", "格力", "歌丽"])
def test_nothing_alike_or_not_visible_is_not_suggested(session: Session, org: Org, known: None, typed: str) -> None:
    assert similar_customers(session, org.rep_a, typed) == []


def test_a_short_form_inside_a_sentence(session: Session, org: Org, known: None) -> None:
    assert [c.name for c in customers_mentioned(session, org.rep_a, "今天去苏宁聊了聊新项目")] == ["苏宁易购"]
    assert customers_mentioned(session, org.rep_a, "今天去美的聊了聊") == []
    assert customers_mentioned(session, org.rep_a, "今天天气不错") == []


def test_exact_name_or_alias_only(session: Session, org: Org, known: None) -> None:
    huawei = similar_customers(session, org.rep_a, "华为技术")[0].customer
    assert is_exact(huawei, "华为") and is_exact(huawei, "华为技术有限公司") and is_exact(huawei, "华为技术")
    suning = customers_mentioned(session, org.rep_a, "苏宁")[0]
    assert not is_exact(suning, "苏宁")
