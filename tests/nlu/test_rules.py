from __future__ import annotations

import pytest

from .conftest import NOW


def values(parser, text):
    return [(e["entity"], e["text"], e["value"]) for e in parser.parse(text, NOW)["entities"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("新建客户华为 电话138-0013-8000", ("phone", "138-0013-8000", "13800138000")),
        ("订单SO20261127001同意", ("order_id", "SO20261127001", "SO20261127001")),
        ("会员VIP0456消费两百块", ("amount", "两百块", 200)),
        ("华为那单有七成把握", ("probability", "七成", 70)),
        ("华为的商机赢率百分之八十", ("probability", "百分之八十", 80)),
        ("比亚迪订两套门禁系统", ("quantity", "两套", 2)),
        ("美的集团要三十个显示器", ("quantity", "三十个", 30)),
        ("海底捞项目预算10到15万", ("amount", "10到15万", {"from": 100000, "to": 150000})),
        ("长城汽车订了10台打印机 共15w", ("amount", "15w", 150000)),
        # a clerk's counter: thousands separators and 1w2 were read as 1元 (the first digits only)
        ("VIP0008消费了1,288元", ("amount", "1,288元", 1288)),
        ("会员VIP0008刷卡12,000.50", ("amount", "12,000.50", 12000.5)),
        ("VIP0008消费1w2", ("amount", "1w2", 12000)),
        ("报价3k5一台", ("amount", "3k5", 3500)),
        ("华为那单黄了", ("stage", "黄了", "lost")),
        ("比亚迪的项目进入谈判了", ("stage", "进入谈判", "negotiation")),
        ("会员VIP0023用300积分抵扣", ("points", "300", 300)),
    ],
)
def test_rule_values(parser, text, expected):
    assert expected in values(parser, text)


def test_transfer_roles(parser):
    ents = parser.parse("把张伟的客户转给刘洋", NOW)["entities"]
    roles = {e["text"]: e.get("role") for e in ents if e["entity"] == "staff"}
    assert roles == {"张伟": "from", "刘洋": "to"}



@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("给华为下单 服务器10台 打八五折", ("discount", "八五折", 0.85)),
        ("给比亚迪下单 交换机按九五折算", ("discount", "九五折", 0.95)),
        ("给美的下单 门禁系统3套 给个85折", ("discount", "85折", 0.85)),
        ("给美的下单 门禁系统3套 按85%算", ("discount", "85%", 0.85)),
        ("会员VIP0456用三千积分抵扣", ("points", "三千", 3000)),
        ("会员VIP0456拿一万二积分抵现", ("points", "一万二", 12000)),
        ("VIP0456 1万2积分抵扣", ("points", "1万2", 12000)),
        ("长城汽车这单有七八成把握", ("probability", "七八成", 75)),
        ("给华为下单 打印纸每箱三百 要20箱", ("amount", "三百", 300)),
        ("给华为下单 服务器3台 1100一台", ("amount", "1100", 1100)),
        ("给华为下单 服务器两台 两万一台", ("amount", "两万", 20000)),
        ("给华为下单 服务器两台 再减200", ("reduction", "200", 200)),
        ("长城汽车预算两三万块", ("amount", "两三万块", {"from": 20000, "to": 30000})),
        ("合同金额叁万伍仟元整", ("amount", "叁万伍仟元整", 35000)),
        ("会员VIP0456买了五块八毛的东西", ("amount", "五块八毛", 5.8)),
        ("长城汽车的项目预算3万-8万元", ("amount", "3万-8万元", {"from": 30000, "to": 80000})),
    ],
)
def test_issue14_rule_entities(parser, text, expected):
    assert expected in values(parser, text)


@pytest.mark.parametrize("text", ["去万科物业见了林总", "万达广场的订单怎么样了", "千岛湖项目跟进一下", "服务器多少钱一台"])
def test_unit_characters_alone_are_not_amounts(parser, text):
    assert not [e for e in values(parser, text) if e[0] == "amount"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("会员VIP0456兑换三百元礼品", ("amount", "三百元", 300)), ("给华为下单 打印纸300块一箱 要5箱", ("amount", "300块", 300)),
     ("给华为下单 服务器3台 1100一台", ("amount", "1100", 1100)), ("给华为下单 单价三百 买了三百个", ("amount", "三百", 300))],
)
def test_a_number_is_read_whole(parser, text, expected):
    found = values(parser, text)
    assert expected in found
    assert not [e for e in found if e[0] in ("amount", "points") and e[2] in (1, 3, 300.1)]


@pytest.mark.parametrize(
    ("text", "name"),
    [("查会员 钱多多", "钱多多"), ("会员号VIP3001 姓名孙悦", "孙悦"), ("顾客郑雅的会员卡VIP0312查一下", "郑雅"),
     ("会员韩梅梅 卡号66001234 消费了200元", "韩梅梅")],
)
def test_member_names_next_to_member_words(parser, text, name):
    assert ("member", name, name) in values(parser, text)
