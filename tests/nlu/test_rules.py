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
