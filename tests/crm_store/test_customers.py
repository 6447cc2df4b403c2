from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store.errors import Duplicate, InvalidInput, NotFound, PermissionDenied
from crm_store.models import AuditLog, Contact, Customer
from crm_store.services import (
    create_customer,
    find_customers,
    find_duplicates,
    find_or_create_contact,
    get_customer,
    log_visit,
    normalize_phone,
)
from tests.crm_store.helpers import NOW, Org, add_customer, share, table_counts


@pytest.fixture
def customers(session: Session, org: Org) -> dict[str, Customer]:
    rows = {
        "huawei": add_customer(session, "华为技术有限公司", org.rep_a, aliases=("华为",)),
        "zhidi": add_customer(session, "华润置地", org.rep_a),
        "wanjia": add_customer(session, "华润万家", org.rep_a),
        "yiyao": add_customer(session, "华润医药", org.rep_a),
        "vanke": add_customer(session, "万科物业", org.rep_a, aliases=("万科",)),
        "greatwall": add_customer(session, "长城汽车股份有限公司", org.rep_a, aliases=("长城汽车",)),
        "pct": add_customer(session, "100%满意家政", org.rep_a),
        "underscore": add_customer(session, "a_b科技", org.rep_a),
        "abc": add_customer(session, "ABC Trading", org.rep_a),
        "midea_b": add_customer(session, "美的集团", org.rep_b),
        "other_team": add_customer(session, "比亚迪", org.rep_c),
        "mgr_own": add_customer(session, "海底捞", org.manager),
    }
    session.commit()
    return rows


def names(rows: list[Customer]) -> list[str]:
    return [c.name for c in rows]


def test_alias_and_prefix_find_huawei(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    assert names(find_customers(session, org.rep_a, "华为")) == ["华为技术有限公司"]
    assert names(find_customers(session, org.rep_a, "华为技术")) == ["华为技术有限公司"]
    assert names(find_customers(session, org.rep_a, " 华为 技术有限公司 ")) == ["华为技术有限公司"]
    assert names(find_customers(session, org.rep_a, "万科")) == ["万科物业"]
    assert names(find_customers(session, org.rep_a, "长城汽车公司")) == ["长城汽车股份有限公司"]


def test_ambiguous_prefix_returns_several(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    found = names(find_customers(session, org.rep_a, "华润"))
    assert sorted(found) == sorted(["华润置地", "华润万家", "华润医药"])
    assert names(find_customers(session, org.rep_a, "华润", limit=2)) == found[:2]


def test_exact_before_prefix_before_substring(session: Session, org: Org) -> None:
    add_customer(session, "置地广场", org.rep_a)
    add_customer(session, "华润置地", org.rep_a)
    add_customer(session, "置地", org.rep_a)
    add_customer(session, "新置地", org.rep_a)
    session.commit()
    assert names(find_customers(session, org.rep_a, "置地")) == ["置地"]  # one exact match: alone
    add_customer(session, "某公司", org.rep_a, aliases=("置地",))
    session.commit()
    found = names(find_customers(session, org.rep_a, "置地"))
    assert found[:2] == ["置地", "某公司"]
    assert found[2] == "置地广场"  # prefix
    assert found[3:] == ["新置地", "华润置地"]  # substring, shorter names first


def test_case_insensitive_latin(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    assert names(find_customers(session, org.rep_a, "abc trading")) == ["ABC Trading"]
    assert names(find_customers(session, org.rep_a, "abc")) == ["ABC Trading"]


def test_like_wildcards_are_literal(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    assert names(find_customers(session, org.rep_a, "%")) == ["100%满意家政"]
    assert names(find_customers(session, org.rep_a, "_")) == ["a_b科技"]
    assert find_customers(session, org.rep_a, "\\") == []
    assert find_customers(session, org.rep_a, "a%b") == []


def test_sql_looking_text_is_just_text(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    before = table_counts(session)
    for text in ["'; DROP TABLE customer; --", "\" OR 1=1 --", "华为' OR '1'='1", ""]:
        assert find_customers(session, org.rep_a, text) == []
    assert table_counts(session) == before


def test_rep_sees_own_and_shared_only(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    midea = customers["midea_b"]
    assert find_customers(session, org.rep_a, "美的") == []
    with pytest.raises(NotFound):
        get_customer(session, org.rep_a, midea.id)
    share(session, midea, org.rep_a)
    session.commit()
    assert names(find_customers(session, org.rep_a, "美的")) == ["美的集团"]
    assert get_customer(session, org.rep_a, midea.id).id == midea.id


def test_manager_sees_team_and_own(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    assert names(find_customers(session, org.manager, "美的")) == ["美的集团"]
    assert names(find_customers(session, org.manager, "海底捞")) == ["海底捞"]
    assert find_customers(session, org.manager, "比亚迪") == []
    with pytest.raises(NotFound):
        get_customer(session, org.manager, customers["other_team"].id)
    assert names(find_customers(session, org.other_manager, "比亚迪")) == ["比亚迪"]
    assert find_customers(session, org.rep_a, "海底捞") == []


def test_director_and_admin_see_all_clerk_none(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    for actor in (org.director, org.admin):
        assert names(find_customers(session, actor, "比亚迪")) == ["比亚迪"]
        assert get_customer(session, actor, customers["midea_b"].id).name == "美的集团"
    assert find_customers(session, org.clerk, "华为") == []
    with pytest.raises(NotFound):
        get_customer(session, org.clerk, customers["huawei"].id)
    with pytest.raises(PermissionDenied):
        create_customer(session, org.clerk, "新客户", now=NOW)


def test_get_missing_customer(session: Session, org: Org) -> None:
    with pytest.raises(NotFound) as err:
        get_customer(session, org.director, 99999)
    assert err.value.message == "找不到这个客户。"


def test_edit_other_reps_customer_writes_nothing(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    before = table_counts(session)
    with pytest.raises((PermissionDenied, NotFound)):
        log_visit(session, org.rep_a, customers["midea_b"].id, summary="偷偷拜访", visited_at=NOW, now=NOW)
    with pytest.raises((PermissionDenied, NotFound)):
        find_or_create_contact(session, org.rep_a, customers["midea_b"], "张总", now=NOW)
    session.commit()
    assert table_counts(session) == before


def test_create_customer_with_contact_and_audit(session: Session, org: Org) -> None:
    customer = create_customer(
        session, org.rep_a, "  安信会计师事务所 ", aliases=["安信"], industry="会计", contact_name="刘明",
        contact_title="合伙人", contact_phone="138-1234 5678", now=NOW,
    )
    session.commit()
    assert customer.name == "安信会计师事务所"
    assert customer.owner_id == org.rep_a.staff_id
    assert [a.alias for a in customer.aliases] == ["安信"]
    contact = session.scalar(select(Contact).where(Contact.customer_id == customer.id))
    assert contact is not None and contact.phone == "13812345678" and contact.title == "合伙人"
    row = session.scalar(select(AuditLog).where(AuditLog.action == "customer.create"))
    assert row is not None
    assert row.entity_id == customer.id and row.actor_staff_id == org.rep_a.staff_id
    assert row.via_channel == "console" and row.via_message == f"msg-{org.rep_a.staff_id}"
    assert row.after["name"] == "安信会计师事务所" and row.after["contact_ids"] == [contact.id]
    assert names(find_customers(session, org.rep_a, "安信")) == ["安信会计师事务所"]


def test_create_customer_duplicate_across_owners(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    before = table_counts(session)
    with pytest.raises(Duplicate) as err:
        create_customer(session, org.rep_c, "美的集团", now=NOW)
    assert [c.name for c in err.value.existing] == ["美的集团"]
    with pytest.raises(Duplicate):
        create_customer(session, org.rep_c, "华为", now=NOW)  # equals an alias
    with pytest.raises(Duplicate):
        create_customer(session, org.rep_c, "深圳华为", aliases=["华为技术有限公司"], now=NOW)
    session.commit()
    assert table_counts(session) == before
    assert names(find_duplicates(session, "abc trading")) == ["ABC Trading"]
    assert find_duplicates(session, "华润") == []


@pytest.mark.parametrize(
    ("name", "phone"),
    [("", None), ("   ", None), ("长" * 101, None), ("好客户", "12345"), ("好客户", "1381234567"), ("好客户", "abc")],
)
def test_create_customer_validation(session: Session, org: Org, name: str, phone: str | None) -> None:
    before = table_counts(session)
    with pytest.raises(InvalidInput):
        create_customer(session, org.rep_a, name, contact_name="刘明", contact_phone=phone, now=NOW)
    session.commit()
    assert table_counts(session) == before


def test_phone_normalization() -> None:
    assert normalize_phone("138 1234 5678") == "13812345678"
    assert normalize_phone("+86 138-1234-5678") == "13812345678"
    assert normalize_phone("021-6123 4567") == "02161234567"
    assert normalize_phone("0512-6688123") == "05126688123"
    for bad in ["12812345678", "6123 4567", "1381234567x"]:
        with pytest.raises(InvalidInput):
            normalize_phone(bad)


def test_owner_assignment_rules(session: Session, org: Org) -> None:
    mine = create_customer(session, org.manager, "一号客户", owner_id=org.rep_b.staff_id, now=NOW)
    assert mine.owner_id == org.rep_b.staff_id
    with pytest.raises(PermissionDenied):
        create_customer(session, org.manager, "二号客户", owner_id=org.rep_c.staff_id, now=NOW)
    with pytest.raises(PermissionDenied):
        create_customer(session, org.rep_a, "三号客户", owner_id=org.rep_b.staff_id, now=NOW)
    assert create_customer(session, org.director, "四号客户", owner_id=org.rep_c.staff_id, now=NOW).owner_id == (
        org.rep_c.staff_id
    )


def test_find_or_create_contact(session: Session, org: Org) -> None:
    customer = create_customer(session, org.rep_a, "测试客户", contact_name="张伟", contact_title="总经理", now=NOW)
    zhang = customer.contacts[0]
    assert find_or_create_contact(session, org.rep_a, customer, "张伟", now=NOW) == (zhang, False)
    assert find_or_create_contact(session, org.rep_a, customer, "张总", now=NOW) == (zhang, False)
    li, created = find_or_create_contact(session, org.rep_a, customer, "李经理", now=NOW)
    assert created and li.name == "李经理" and li.title == "经理"
    assert find_or_create_contact(session, org.rep_a, customer, "李经理", now=NOW) == (li, False)
    liu, created = find_or_create_contact(session, org.rep_a, customer, "刘洋", title="工程师", phone="13900001111", now=NOW)
    assert created and liu.phone == "13900001111"
    assert find_or_create_contact(session, org.rep_a, customer, "刘工", now=NOW) == (liu, False)
    session.commit()
    assert session.query(AuditLog).filter(AuditLog.action == "contact.create").count() == 2


def test_write_permissions_follow_visibility(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    midea = customers["midea_b"]  # owned by rep_b, in the manager's team
    log_visit(session, org.manager, midea.id, summary="经理陪访", visited_at=NOW, now=NOW)
    log_visit(session, org.director, customers["other_team"].id, summary="总监拜访", visited_at=NOW, now=NOW)
    share(session, midea, org.rep_a)
    log_visit(session, org.rep_a, midea.id, summary="协同拜访", visited_at=NOW, now=NOW)
    with pytest.raises(PermissionDenied):
        log_visit(session, org.other_manager, midea.id, summary="x", visited_at=NOW, now=NOW)
    session.commit()
    rows = session.scalars(select(AuditLog).where(AuditLog.action == "visit.create").order_by(AuditLog.id)).all()
    assert [r.actor_staff_id for r in rows] == [org.manager.staff_id, org.director.staff_id, org.rep_a.staff_id]


def test_member_actor_sees_no_customers(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    from crm_store.services import Actor

    member = Actor(staff_id=None, member_id=1, role="member", name="林晓")
    assert find_customers(session, member, "华为") == []
    with pytest.raises(NotFound):
        get_customer(session, member, customers["huawei"].id)


def test_suffix_noise_in_query(session: Session, org: Org, customers: dict[str, Customer]) -> None:
    assert names(find_customers(session, org.rep_a, "华为公司")) == ["华为技术有限公司"]
    assert names(find_customers(session, org.rep_a, "华为集团")) == ["华为技术有限公司"]
    assert names(find_customers(session, org.rep_a, "万科有限公司")) == ["万科物业"]
