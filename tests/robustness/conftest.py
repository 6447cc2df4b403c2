"""Robustness fixtures: the channel/dialog fixtures (real NLU, seeded demo database) and invariants."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store.models import AuditLog, Base
from crmbot.wiring import Runtime
from tests.bot.conftest import *  # noqa: F403  (runtime, dialogs, fake_api, fresh_api; the rest is in tests/conftest.py)
from tests.crm_store.helpers import table_counts

# data table -> AuditLog.entity_type: every row written after the baseline must have its audit row.
AUDITED = {"customer": "customer", "contact": "contact", "visit": "visit", "opportunity": "opportunity",
           "sales_order": "order", "reminder": "reminder", "purchase": "purchase"}

HOSTILE = [
    "", " ", "\t\r\n", "\x00", "\x00\x01\x02\x1b[31m红\x1b[0m", "\u200b\u200e\ufeff", "\u202e华为", "\ud800", "a\udfffb",
    "😀" * 40, "👨‍👩‍👧‍👦华为👍🏽", "𠀀𪚥𰻞", "ｈｕａｗｅｉ", "確認", "确认", "取消", "撤销", "更多", "1", "0", "-1", "99999999999",
    "'; DROP TABLE customer; --", "1' OR '1'='1", "\" OR \"\"=\"", "%s%s%s%n", "{0}{1}{__class__}", "${jndi:ldap://x}",
    "<script>alert(1)</script>", "<xml><![CDATA[]]></xml>", "]]>", "&lt;&#0;", "null", "None", "[]", "{}", "NaN",
    "绑定", "绑定 ", "绑定 AAAA 1234 5678", "绑定 VIP0001 12345", "解绑", "查会员 %", "查会员 _", "查会员 \\",
    "给华为下单 服务器-5台", "给华为下单 服务器99999999999999999999台", "给华为下单 服务器0台 打0.0001折",
    "会员VIP0016消费了1e309元", "会员VIP0016消费了-100元", "会员VIP0016兑换NaN积分", "提醒我 2999年13月45日 开会",
    "提醒我昨天9点给华为打电话", "华为的商机金额改成-1亿", "新建客户 " + "长" * 300, "拜访了华为" + "啊" * 3000,
    "长" * 100_000,
]

PREFIXES = ["今天拜访了华为张总，", "给华为下单 ", "查会员 ", "会员VIP0016消费了", "提醒我", "华为的商机",
            "新建客户 ", "查一下", "同意 ", "驳回 SO20261127001 ", "把华为转给", "我的积分", "本周销售报表"]


def snapshot(runtime: Runtime) -> dict[str, int]:
    with runtime.factory() as session:
        return table_counts(session)


def max_ids(session: Session) -> dict[str, int]:
    tables = Base.metadata.tables
    return {name: session.scalar(select(func.max(tables[name].c.id))) or 0 for name in AUDITED}


def unaudited(runtime: Runtime, baseline: dict[str, int]) -> dict[str, list[int]]:
    """Rows written after the baseline that have no audit row describing them (a partial write)."""
    missing: dict[str, list[int]] = {}
    tables = Base.metadata.tables
    with runtime.factory() as session:
        for name, entity in AUDITED.items():
            ids = set(session.scalars(select(tables[name].c.id).where(tables[name].c.id > baseline[name])))
            if not ids:
                continue
            audited = set(session.scalars(select(AuditLog.entity_id).where(
                AuditLog.entity_type == entity, AuditLog.entity_id.in_(ids))))
            if ids - audited:
                missing[name] = sorted(ids - audited)
    return missing
