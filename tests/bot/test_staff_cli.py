"""`crmbot staff add|list|deactivate` and `crmbot import staff` on the demo company, SQLite and PostgreSQL:
what the operator reads, and what the database holds afterwards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot import cli as bot_cli
from bot.cli import staff_app
from crm_store.db import transaction
from crm_store.models import AuditLog, ChatIdentity, Customer, Staff
from crm_store.services import actor_for_staff, bind_identity, find_staff, handover
from crmbot.cli.transfer import import_app
from crmbot.wiring import Runtime
from tests.conftest import DEMO_NOW

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def company(request: pytest.FixtureRequest, demo_runtime_for: Callable[[str], Runtime], tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Runtime:
    runtime = demo_runtime_for(request.param)
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"database": {"url": runtime.config.database.url},
                                      "data_dir": str(tmp_path / "var")}), encoding="utf-8")
    monkeypatch.setenv("CRMBOT_CONFIG", str(config))
    return runtime


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(staff_app, name="staff")
    app.add_typer(import_app, name="import")
    return app


def _staff(runtime: Runtime, name: str) -> Staff | None:
    with runtime.factory() as session:
        return find_staff(session, name)


def test_add_staff_with_checks(company: Runtime) -> None:
    runner = CliRunner()
    added = runner.invoke(_cli(), ["staff", "add", "刘洋", "--role", "rep", "--manager", "陈静"])
    assert added.exit_code == 0, added.output
    assert "已添加员工：刘洋（销售，上级：陈静，团队：华东一组）" in added.output and "staff invite 刘洋" in added.output
    row = _staff(company, "刘洋")
    chen = _staff(company, "陈静")
    assert row is not None and chen is not None
    assert (row.role, row.manager_id, row.team, row.active) == ("rep", chen.id, "华东一组", True)

    duplicate = runner.invoke(_cli(), ["staff", "add", "刘洋", "--role", "rep"])
    assert duplicate.exit_code == 1 and "已有员工“刘洋”（销售）" in duplicate.output
    bad = runner.invoke(_cli(), ["staff", "add", "孙七", "--role", "boss", "--manager", "马云"])
    assert bad.exit_code == 1
    assert "角色“boss”无效，可选：rep（销售）" in bad.output and "找不到上级“马云”，可选：" in bad.output
    assert "赵建国" in bad.output
    not_a_boss = runner.invoke(_cli(), ["staff", "add", "孙七", "--role", "rep", "--manager", "张伟"])
    assert not_a_boss.exit_code == 1 and "“张伟”是销售，不能做上级" in not_a_boss.output
    assert _staff(company, "孙七") is None
    listed = runner.invoke(_cli(), ["staff", "list"])
    assert "刘洋  销售  上级：陈静  团队/门店：华东一组" in listed.output
    with company.factory() as session:
        assert session.scalar(select(func.count()).where(AuditLog.action == "staff.create")) == 1


def test_import_staff_file_lists_every_row_error(company: Runtime, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in [("姓名", "角色", "上级", "团队", "手机"), ("吴敏", "经理", "赵建国", "华东二组", "13900001111"),
                ("郑浩", "销售", "吴敏", None, None), ("郑浩", "rep", "吴敏", None, None),
                ("王强", "销售", "陈静", None, None), ("冯雪", "店长", "李四", None, "12345")]:
        sheet.append(row)
    path = tmp_path / "员工.xlsx"
    book.save(path)
    result = CliRunner().invoke(_cli(), ["import", "staff", str(path), "--report", str(tmp_path / "bad.csv")])
    assert result.exit_code == 0, result.output
    assert "共5行：已导入2行，拒绝3行" in result.output
    report = (tmp_path / "bad.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    assert [line.split(",", 1)[0] for line in report] == ["4", "5", "6"]
    assert "已有员工“郑浩”" in report[0] and "已有员工“王强”" in report[1]
    assert all(part in report[2] for part in ("角色“店长”无效", "找不到上级“李四”", "手机号“12345”格式不对"))
    wu, zheng = _staff(company, "吴敏"), _staff(company, "郑浩")
    assert wu is not None and zheng is not None
    assert (wu.role, wu.team, zheng.manager_id, zheng.team) == ("manager", "华东二组", wu.id, "华东二组")
    assert _staff(company, "冯雪") is None


def test_deactivate_refuses_while_owning_then_asks_then_unbinds(company: Runtime,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    with transaction(company.factory) as session:
        wang = find_staff(session, "王强")
        owned = session.scalar(select(func.count()).where(Customer.owner_id == wang.id))
        bind_identity(session, "wecom", "wangqiang", staff_id=wang.id, now=DEMO_NOW)
    refused = runner.invoke(_cli(), ["staff", "deactivate", "王强", "--yes"])
    assert refused.exit_code == 1 and f"王强名下还有{owned}个客户" in refused.output
    assert "把王强的客户都转给" in refused.output
    with transaction(company.factory) as session:
        admin = actor_for_staff(session, find_staff(session, "管理员").id)
        handover.transfer_customers(session, admin, target_id=find_staff(session, "李娜").id,
                                    source_id=find_staff(session, "王强").id, now=DEMO_NOW)

    piped = runner.invoke(_cli(), ["staff", "deactivate", "王强"], input="y\n")  # not a terminal: no answer
    assert piped.exit_code == 1 and "需要确认" in piped.output and "--yes" in piped.output
    assert "解除聊天绑定：wecom:wangqiang" in piped.output
    assert _staff(company, "王强").active is True

    monkeypatch.setattr(bot_cli, "_interactive", lambda: True)
    declined = runner.invoke(_cli(), ["staff", "deactivate", "王强"], input="n\n")
    assert declined.exit_code == 1 and "账号没有停用" in declined.output
    assert _staff(company, "王强").active is True
    done = runner.invoke(_cli(), ["staff", "deactivate", "王强"], input="y\n")
    assert done.exit_code == 0, done.output
    assert "已停用王强的账号，解除了1个聊天绑定" in done.output
    assert _staff(company, "王强").active is False
    with company.factory() as session:
        assert session.scalar(select(func.count()).select_from(ChatIdentity)
                              .where(ChatIdentity.external_id == "wangqiang")) == 0
        assert session.scalar(select(func.count()).where(AuditLog.action == "staff.deactivate")) == 1
    again = runner.invoke(_cli(), ["staff", "deactivate", "王强", "--yes"])
    assert again.exit_code == 1 and "王强的账号已经停用了" in again.output
    unknown = runner.invoke(_cli(), ["staff", "deactivate", "王小二", "--yes"])
    assert unknown.exit_code == 2 and "没有员工“王小二”" in unknown.output


def test_a_manager_with_a_team_is_deactivated_after_the_team_has_another_manager(company: Runtime) -> None:
    runner = CliRunner()
    with transaction(company.factory) as session:  # 陈静 owns no customers; her three reps report to her
        assert session.scalar(select(func.count()).where(Customer.owner_id == find_staff(session, "陈静").id)) == 0
    refused = runner.invoke(_cli(), ["staff", "deactivate", "陈静", "--yes"])
    assert refused.exit_code == 1 and "陈静还是3位在职员工的直属上级（张伟、李娜、王强）" in refused.output
    assert "crmbot staff set-manager 张伟" in refused.output
    cycle = runner.invoke(_cli(), ["staff", "set-manager", "赵建国", "陈静"])
    assert cycle.exit_code == 1 and "不能让陈静做赵建国的上级" in cycle.output
    not_boss = runner.invoke(_cli(), ["staff", "set-manager", "张伟", "李娜"])
    assert not_boss.exit_code == 1 and "“李娜”是销售，不能做上级" in not_boss.output
    for rep in ("张伟", "李娜", "王强"):
        moved = runner.invoke(_cli(), ["staff", "set-manager", rep, "赵建国"])
        assert moved.exit_code == 0 and f"已把{rep}的直属上级改为赵建国" in moved.output
    done = runner.invoke(_cli(), ["staff", "deactivate", "陈静", "--yes"])
    assert done.exit_code == 0, done.output
    with company.factory() as session:
        zhao = find_staff(session, "赵建国")
        assert {s.manager_id for s in session.scalars(select(Staff).where(Staff.role == "rep"))} == {zhao.id}
        assert find_staff(session, "陈静").active is False
        assert session.scalar(select(func.count()).where(AuditLog.action == "staff.manager")) == 3
