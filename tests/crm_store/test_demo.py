from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from crm_store.db import make_engine, session_factory, upgrade
from crm_store.demo import seed_demo
from crm_store.errors import InvalidInput
from crm_store.models import (
    LIFECYCLE,
    STAGES,
    ApprovalStep,
    Customer,
    Member,
    Opportunity,
    Order,
    OrderLine,
    PointsLedger,
    Reminder,
    Staff,
)
from crm_store.services import (
    actor_for_staff,
    create_customer,
    find_customers,
    find_staff,
    gazetteer_names,
    list_followups,
)
from tests.crm_store.helpers import NOW, TZ, table_counts


def _snapshot(session: Session) -> tuple[dict[str, int], list[str], list[str], list[str]]:
    return (
        table_counts(session),
        list(session.scalars(select(Customer.name).order_by(Customer.id))),
        list(session.scalars(select(Member.name).order_by(Member.id))),
        list(session.scalars(select(Order.number).order_by(Order.id))),
    )


def test_seed_is_deterministic(demo_session: Session, tmp_path: Path) -> None:
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    with session_factory(other)() as session:
        seed_demo(session, now=NOW)
        session.commit()
        assert _snapshot(session) == _snapshot(demo_session)
    other.dispose()


def test_seed_refuses_twice(demo_session: Session) -> None:
    with pytest.raises(InvalidInput):
        seed_demo(demo_session, now=NOW)


def test_seed_contents(demo_session: Session) -> None:
    s = demo_session
    roles = {st.name: (st.role, st.team, st.store) for st in s.scalars(select(Staff))}
    assert roles["赵建国"][0] == "director" and roles["陈静"] == ("manager", "华东一组", None)
    assert {roles[n][0] for n in ("张伟", "李娜", "王强")} == {"rep"}
    assert roles["周芳"] == ("clerk", None, "南京西路店") and roles["管理员"][0] == "admin"
    chen = find_staff(s, "陈静")
    assert chen is not None and {st.manager_id for st in s.scalars(select(Staff).where(Staff.role == "rep"))} == {chen.id}
    assert 55 <= s.scalar(select(func.count()).select_from(Customer)) <= 70  # type: ignore[operator]
    assert set(s.scalars(select(Customer.lifecycle).distinct())) == set(LIFECYCLE)
    assert set(s.scalars(select(Opportunity.stage).distinct())) == set(STAGES)
    owners = {c.owner_id for c in s.scalars(select(Customer))}
    assert len(owners) == 3
    director = actor_for_staff(s, find_staff(s, "赵建国").id)  # type: ignore[union-attr]
    assert [c.name for c in find_customers(s, director, "华为")] == ["华为技术有限公司"]
    assert len(find_customers(s, director, "华润")) == 3
    assert [c.name for c in find_customers(s, director, "万科")] == ["万科物业"]
    assert [c.name for c in find_customers(s, director, "长城汽车")] == ["长城汽车股份有限公司"]
    assert find_customers(s, director, "安信") == []
    zhang = actor_for_staff(s, find_staff(s, "张伟").id)  # type: ignore[union-attr]
    followups = list_followups(s, zhang, now=NOW, tz=TZ)
    assert followups.overdue and followups.untouched
    create_customer(s, zhang, "安信会计师事务所", now=NOW)


def test_seed_is_consistent(demo_session: Session) -> None:
    s = demo_session
    ledger = dict(s.execute(select(PointsLedger.member_id, func.sum(PointsLedger.delta)).group_by(PointsLedger.member_id)).all())
    members = s.scalars(select(Member)).all()
    assert len(members) == 200 and members[0].member_no == "VIP0001"
    for member in members:
        assert member.points == ledger.get(member.id, 0)
        assert member.points >= 0
    line_sums: dict[int, Decimal] = defaultdict(Decimal)
    for line in s.scalars(select(OrderLine)):
        assert line.amount == line.unit_price * line.quantity
        line_sums[line.order_id] += line.amount
    orders = s.scalars(select(Order)).all()
    assert {o.status for o in orders} >= {"approved", "pending", "rejected"}
    for order in orders:
        assert order.total == line_sums[order.id]
        assert order.number.startswith("SO") and len(order.number) == 13
        steps = s.scalars(select(ApprovalStep).where(ApprovalStep.order_id == order.id).order_by(ApprovalStep.step_no)).all()
        statuses = [st.status for st in steps]
        if order.status == "approved":
            assert set(statuses) == {"approved"} and order.decided_at is not None
        elif order.status == "rejected":
            assert "rejected" in statuses and order.decided_at is not None
        else:
            assert statuses[0] == "pending" and order.decided_at is None
        assert (len(steps) == 2) == (order.total > 100000)
    assert s.scalar(select(func.count()).select_from(Reminder).where(Reminder.status == "pending"))


def test_gazetteer_names(demo_session: Session) -> None:
    names = gazetteer_names(demo_session)
    assert set(names) == {"customer", "contact", "product", "staff", "member"}
    assert "华为" in names["customer"] and "华为技术有限公司" in names["customer"]
    assert "门禁系统" in names["product"] and "张伟" in names["staff"]
    zhang = actor_for_staff(demo_session, find_staff(demo_session, "张伟").id)  # type: ignore[union-attr]
    create_customer(demo_session, zhang, "安信会计师事务所", now=NOW)
    assert "安信会计师事务所" in gazetteer_names(demo_session)["customer"]


def test_cli_upgrade_and_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crmbot.cli.db import db_app, demo_app

    (tmp_path / "config.yml").write_text("", encoding="utf-8")  # defaults; relative paths under tmp_path
    monkeypatch.setenv("CRMBOT_CONFIG", str(tmp_path / "config.yml"))
    monkeypatch.setenv("CRMBOT_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    result = runner.invoke(db_app, ["current"])
    assert result.exit_code == 0 and "尚未初始化" in result.output
    result = runner.invoke(db_app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert "数据库已升级" in result.output
    result = runner.invoke(demo_app, ["seed"])
    assert result.exit_code == 0, result.output
    assert "演示数据已生成" in result.output and "customers: 60" in result.output
    result = runner.invoke(demo_app, ["seed"])
    assert result.exit_code == 1
