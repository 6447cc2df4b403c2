"""The order and approval dialogs' reading of a message, with hand-made NLU results (no model needed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from crm_store.services import actor_for_staff, find_staff
from crmbot.wiring import Runtime
from dialogs.approval import Reject, _reason, _ref
from dialogs.base import Turn
from dialogs.order import SubmitOrder
from tests.conftest import DEMO_NOW


def _entities(text: str, *specs: tuple[str, str, Any]) -> list[dict[str, Any]]:
    found = []
    for name, written, value in specs:
        start = text.index(written)
        found.append({"entity": name, "text": written, "value": value, "start": start, "end": start + len(written)})
    return found


@pytest.fixture
def demo(demo_runtime_for) -> Iterator[tuple[Runtime, Session]]:  # type: ignore[no-untyped-def]
    runtime = demo_runtime_for("sqlite")
    with runtime.factory() as session:
        yield runtime, session


def _turn(demo: tuple[Runtime, Session], speaker: str, text: str, intent: str, *specs: tuple[str, str, Any]) -> Turn:
    runtime, session = demo
    staff = find_staff(session, speaker)
    assert staff is not None
    actor = actor_for_staff(session, staff.id, "console", "m")
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": _entities(text, *specs)}
    return Turn(session, actor, DEMO_NOW, runtime.config, text, parse, {})


def test_unit_price_and_quantity_belong_to_the_product(demo) -> None:  # type: ignore[no-untyped-def]
    text = "给华为下单，服务器10台，单价2万"
    turn = _turn(demo, "张伟", text, "submit_order",
                 ("customer", "华为", "华为"), ("product", "服务器", "服务器"), ("quantity", "10台", 10),
                 ("amount", "2万", 20000))
    slots: dict[str, Any] = {}
    SubmitOrder().fill(turn, slots, None)
    assert slots["customer"]["name"] == "华为技术有限公司"
    assert [(x["product"], x["quantity"], x["unit_price"], x["total"]) for x in slots["lines"]] == [
        ("服务器", 10, "20000", None)
    ]
    assert SubmitOrder().missing(turn, slots) is None
    summary = SubmitOrder().summary(turn, slots)
    assert "20万元" in summary and "陈静 → 赵建国" in summary


def test_total_price_and_two_lines(demo) -> None:  # type: ignore[no-untyped-def]
    text = "给华为下单 显示器40台 单价1200 门禁系统2套 共10万"
    turn = _turn(demo, "张伟", text, "submit_order",
                 ("customer", "华为", "华为"), ("product", "显示器", "显示器"), ("quantity", "40台", 40),
                 ("amount", "1200", 1200), ("product", "门禁系统", "门禁系统"), ("quantity", "2套", 2),
                 ("amount", "10万", 100000))
    slots: dict[str, Any] = {}
    SubmitOrder().fill(turn, slots, None)
    assert [(x["product"], x["quantity"], x["unit_price"], x["total"]) for x in slots["lines"]] == [
        ("显示器", 40, "1200", None), ("门禁系统", 2, None, "100000"),
    ]


def test_price_per_unit_is_not_a_quantity(demo) -> None:  # type: ignore[no-untyped-def]
    text = "给华为下单 服务器10台 2万一台"
    turn = _turn(demo, "张伟", text, "submit_order",
                 ("customer", "华为", "华为"), ("product", "服务器", "服务器"), ("quantity", "10台", 10),
                 ("amount", "2万", 20000), ("quantity", "一台", 1))
    slots: dict[str, Any] = {}
    SubmitOrder().fill(turn, slots, None)
    assert [(x["quantity"], x["unit_price"], x["total"]) for x in slots["lines"]] == [(10, "20000", None)]
    turn = _turn(demo, "张伟", "数量改成5台", "submit_order", ("quantity", "5台", 5))
    SubmitOrder().fill(turn, slots, None)  # a correction while the summary is shown
    assert slots["lines"][0]["quantity"] == 5


def test_quantity_before_the_product_and_list_price(demo) -> None:  # type: ignore[no-untyped-def]
    text = "长城汽车订40台显示器 走审批"
    turn = _turn(demo, "王强", text, "submit_order",
                 ("customer", "长城汽车", "长城汽车"), ("quantity", "40台", 40), ("product", "显示器", "显示器"))
    slots: dict[str, Any] = {}
    SubmitOrder().fill(turn, slots, None)
    assert slots["lines"][0]["quantity"] == 40 and slots["lines"][0]["unit_price"] is None
    summary = SubmitOrder().summary(turn, slots)
    assert "51,960元" in summary and "赵建国" not in summary


def test_asks_for_what_is_missing(demo) -> None:  # type: ignore[no-untyped-def]
    job = SubmitOrder()
    slots: dict[str, Any] = {}
    turn = _turn(demo, "张伟", "给华为下单", "submit_order", ("customer", "华为", "华为"))
    job.fill(turn, slots, None)
    assert job.missing(turn, slots) == "product"
    turn = _turn(demo, "张伟", "服务器", "submit_order")  # no entity: the catalog is searched
    job.fill(turn, slots, "product")
    assert job.missing(turn, slots) == "quantity"
    assert job.question(turn, slots, "quantity") == "服务器要多少台？"
    turn = _turn(demo, "张伟", "0", "submit_order")
    job.fill(turn, slots, "quantity")
    assert job.missing(turn, slots) == "quantity"
    assert job.question(turn, slots, "quantity").startswith("数量要是大于0的整数")
    turn = _turn(demo, "张伟", "3", "submit_order")
    job.fill(turn, slots, "quantity")
    assert job.missing(turn, slots) is None
    turn = _turn(demo, "张伟", "火箭发动机", "submit_order")
    job.fill(turn, slots, "product")
    assert job.missing(turn, slots) == "product"
    assert "没找到产品“火箭发动机”" in job.question(turn, slots, "product")


def test_unknown_customer_is_asked_again(demo) -> None:  # type: ignore[no-untyped-def]
    job = SubmitOrder()
    slots: dict[str, Any] = {}
    turn = _turn(demo, "张伟", "给不存在公司下单", "submit_order", ("customer", "不存在公司", "不存在公司"))
    job.fill(turn, slots, None)
    assert job.missing(turn, slots) == "customer"
    assert "没找到客户" in job.question(turn, slots, "customer")


@pytest.mark.parametrize(
    ("text", "entities", "ref", "reason"),
    [
        ("驳回 SO20261127001 价格太低", [("order_id", "SO20261127001", "SO20261127001")], "SO20261127001", "价格太低"),
        ("驳回 1024 价格太低", [], "1024", "价格太低"),
        ("驳回 #1024 价格太低", [("order_id", "1024", "1024")], "1024", "价格太低"),
        ("同意 #1024", [("order_id", "#1024", "1024")], "1024", None),
        ("驳回 #12，折扣太大", [], "12", "折扣太大"),
        ("驳回 4 折扣太大", [], "4", "折扣太大"),
        ("驳回", [], None, None),
        ("价格低于成本3000块，驳回", [], None, "价格低于成本3000块"),
        # issue 15: the reason as written, no word inside it cut out
        ("驳回 SO20261127001 价格不行，同意的话利润太低了", [], "SO20261127001", "价格不行，同意的话利润太低了"),
        ("退回去重新报价", [], None, "退回去重新报价"),
        ("打回去让他重做", [], None, "打回去让他重做"),
        ("不批，客户说可以再谈，通过了也没利润", [], None, "客户说可以再谈，通过了也没利润"),
        ("这单不行 价格压得太狠", [], None, "价格压得太狠"),
        ("驳回 这张单子 账期太长了，不同意", [], None, "账期太长了，不同意"),
        ("美的那单驳回吧 客户信用有问题", [("customer", "美的", "美的")], None, "客户信用有问题"),
        ("驳回 原因：单价低于成本", [], None, "单价低于成本"),
        ("这个价我们不同意", [], None, "这个价我们不同意"),
        ("海康那单打回去 让他退回去重新报价", [("customer", "海康", "海康")], None, "让他退回去重新报价"),
        ("这几张有一张要驳回", [], None, None),
        ("价格太低驳回", [], None, "价格太低"),
        ("驳回 客户的单子还没签回来", [], None, "客户的单子还没签回来"),
        ("这单驳回 数量不对", [], None, "数量不对"),
    ],
)
def test_reject_reference_and_reason(demo, text, entities, ref, reason) -> None:  # type: ignore[no-untyped-def]
    turn = _turn(demo, "陈静", text, "reject", *entities)
    found, span = _ref(turn)
    assert found == ref
    customer = next((e[2] for e in entities if e[0] == "customer"), None)
    assert _reason(turn, span, customer) == reason


def test_reject_without_reason_asks_only_when_allowed(demo) -> None:  # type: ignore[no-untyped-def]
    job = Reject()
    slots: dict[str, Any] = {}
    turn = _turn(demo, "赵建国", "驳回 SO20261127001", "reject", ("order_id", "SO20261127001", "SO20261127001"))
    job.fill(turn, slots, None)
    assert job.missing(turn, slots) is None  # the director is not the approver: no reason asked
    assert job.precheck(turn, slots)[0].text == "这张订单不归您审批。"  # type: ignore[index]
    slots = {}
    turn = _turn(demo, "陈静", "驳回 SO20261127001", "reject", ("order_id", "SO20261127001", "SO20261127001"))
    job.fill(turn, slots, None)
    assert job.missing(turn, slots) == "reason"
    assert job.question(turn, slots, "reason") == "请说一下驳回原因"
