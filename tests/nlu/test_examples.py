"""Every line of the product contract's NLU examples (nlu-examples.md of the spec, copied below) parses to its
intent and normalized values."""

from __future__ import annotations

import pytest

from nlu.data_io import parse_annotated

from .conftest import NOW

EXAMPLES = """
log_visit: 下午去[万科物业](customer)见了[林总](contact)，聊了[门禁系统](product)，[下周四](time)出方案
log_visit: 刚和[长城汽车](customer)[采购部刘工](contact)通完电话 对方要再比比价
add_customer: 新建客户[华润置地](customer) 联系人[高经理](contact) [13600001111](phone)
add_customer: 帮我建个客户档案 [安信会计师事务所](customer)
query_customer: [万科物业](customer)的电话是多少
query_customer: [长城汽车](customer)现在谁负责
customer_history: [万科物业](customer)最近怎么样了 把跟进记录发我
customer_history: [华润置地](customer)以前下过哪些订单
update_opportunity: [长城汽车](customer)的项目到[商务谈判](stage)了 金额[六十万](amount)
update_opportunity: [华润置地](customer)那单[拿下了](stage)
submit_order: 给[万科物业](customer)下个单 [门禁系统](product)[3套](quantity) 共[15万](amount)
submit_order: [长城汽车](customer)订[40台](quantity)[显示器](product) 走审批
approve: 同意订单[#2051](order_id)
approve: 这单可以 批准
reject: 驳回[2052](order_id) 账期太长
reject: 不批 价格再谈谈
list_approvals: 还有什么要我批的
set_reminder: [后天上午10点](time)提醒我给[林总](contact)发合同
set_reminder: [下个月1号](time)提醒我跟进[华润置地](customer)
list_followups: [今天](time)该联系谁
transfer_customers: [小王]{"entity": "staff", "role": "from"}的客户全部交给[小李]{"entity": "staff", "role": "to"}
member_lookup: 查一下会员[赵敏](member) 卡号[VIP0456](member_id)
record_purchase: 会员[VIP0456](member_id)刚消费了[688元](amount)
query_points: 我的积分还剩多少
unsubscribe: 别再给我发这些了
sales_report: [上个月](time)的业绩汇总
greet: 您好
help: 这个怎么用啊
cancel: 不要了
affirm: 没错
deny: 不是的
out_of_scope: 明天会下雨吗
"""

VALUES = {
    "下周四": "2026-12-03T00:00:00+08:00",
    "六十万": 600000,
    "商务谈判": "negotiation",
    "拿下了": "won",
    "3套": 3,
    "15万": 150000,
    "40台": 40,
    "#2051": "2051",
    "2052": "2052",
    "后天上午10点": "2026-11-29T10:00:00+08:00",
    "下个月1号": "2026-12-01T00:00:00+08:00",
    "今天": "2026-11-27T00:00:00+08:00",
    "688元": 688,
    "13600001111": "13600001111",
    "上个月": {"from": "2026-10-01T00:00:00+08:00", "to": "2026-10-31T23:59:59+08:00"},
}

CASES = [line.split(": ", 1) for line in EXAMPLES.strip().splitlines()]


@pytest.mark.parametrize(("intent", "annotated"), CASES, ids=[c[1][:20] for c in CASES])
def test_example(parser, intent, annotated):
    text, gold = parse_annotated(annotated)
    result = parser.parse(text, NOW)
    assert result["intent"]["name"] == intent
    got = {(e["start"], e["end"], e["entity"]): e for e in result["entities"]}
    for g in gold:
        key = (g["start"], g["end"], g["entity"])
        assert key in got, f"missing {g} in {result['entities']}"
        ent = got[key]
        assert ent["text"] == g["text"]
        assert ent["value"] == VALUES.get(g["text"], g["text"])
        if "role" in g:
            assert ent["role"] == g["role"]


def test_time_grain(parser):
    ents = parser.parse("后天上午10点提醒我给林总发合同", NOW)["entities"]
    time = next(e for e in ents if e["entity"] == "time")
    assert time["additional_info"] == {"grain": "hour", "type": "point"}
    span = next(e for e in parser.parse("上个月的业绩汇总", NOW)["entities"] if e["entity"] == "time")
    assert span["additional_info"] == {"grain": "month", "type": "span"}


@pytest.mark.parametrize(
    ("text", "intent", "checks"),
    [
        ("撤销", "cancel", {}),
        ("撤回刚才那条", "cancel", {}),
        ("更多", "customer_history", {}),
        ("下一页", "customer_history", {}),
        ("积分抵扣 500", "record_purchase", {"points": 500}),
        ("查会员 王小明 VIP0023", "member_lookup", {"member": "王小明", "member_id": "VIP0023"}),
        ("本月各门店会员消费", "sales_report", {}),
        ("导出本月拜访记录", "sales_report", {}),
        ("华为这个客户转给陈静跟进", "transfer_customers", {"customer": "华为", "staff": "陈静"}),
    ],
)
def test_product_phrasings(parser, text, intent, checks):
    result = parser.parse(text, NOW)
    assert result["intent"]["name"] == intent
    values = {e["entity"]: e["value"] for e in result["entities"]}
    for entity, value in checks.items():
        assert values.get(entity) == value, result["entities"]
    if "staff" in checks:
        assert next(e for e in result["entities"] if e["entity"] == "staff")["role"] == "to"


def test_set_lookup_tags_unknown_name(parser):
    parser.set_lookup("customer", ["瑞丰达贸易"], source="test")
    ents = parser.parse("给瑞丰达贸易下个单 打印机5台", NOW)["entities"]
    assert any(e["entity"] == "customer" and e["text"] == "瑞丰达贸易" for e in ents)
    parser.set_lookup("customer", [], source="test")


def test_empty_text(parser):
    result = parser.parse("", NOW)
    assert result["intent"] == {"name": "out_of_scope", "confidence": 0.0}
    assert result["entities"] == []
