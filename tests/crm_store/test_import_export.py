"""Import with bad rows mixed in (10 000 rows), dry run, all-or-nothing, members/products, export round trip."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import transaction
from crm_store.errors import InvalidInput, PermissionDenied
from crm_store.models import AuditLog, Contact, Customer, CustomerAlias, Member, PointsLedger, Product, Staff
from crm_store.services import actor_for_staff, transfer_io
from tests.crm_store.helpers import NOW, Org, add_customer, table_counts
from tests.crm_store.import_data import HEADER, customer_rows, write_csv, write_xlsx


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.slow
def test_import_10000_rows_with_bad_rows(factory: sessionmaker[Session], tmp_path: Path) -> None:
    with transaction(factory) as session:
        session.add_all([Staff(name="张伟", role="rep"), Staff(name="管理员", role="admin")])
        session.flush()
        admin = actor_for_staff(session, session.scalar(select(Staff.id).where(Staff.role == "admin")))
        add_customer(session, "华为技术有限公司", actor_for_staff(session, admin.staff_id), aliases=("华为",))
    rows, bad = customer_rows(10_000, owner="张伟")
    path = write_xlsx(tmp_path / "customers.xlsx", HEADER, rows)

    started = time.monotonic()
    with transaction(factory) as session:
        report = transfer_io.import_file(session, admin, "customers", path, now=NOW)
    elapsed = time.monotonic() - started
    assert report.total == 10_000
    assert {r.line for r in report.rejected} == set(bad)
    for rejected in report.rejected:
        assert bad[rejected.line] in rejected.reason, rejected
    assert report.imported == 10_000 - len(bad)
    with factory() as session:
        assert _count(session, Customer) == 1 + report.imported
        assert _count(session, Contact) == report.imported
        assert _count(session, CustomerAlias) == 1 + report.imported
        assert session.scalar(select(func.count()).where(AuditLog.action == "customer.import")) == report.imported
        row = session.scalar(select(Contact).where(Contact.name == "联系人0"))
        assert row.phone == "13800000000"  # Excel's number read back as the phone text
    print(f"imported {report.imported} of 10000 rows in {elapsed:.1f}s")


def _small(tmp_path: Path, count: int = 50) -> tuple[Path, dict[int, str]]:
    rows, bad = customer_rows(count, owner="张三")
    rows[0][0] = "第一客户"  # good
    bad.pop(9)  # 华为技术有限公司 is not in these small databases: a good row here
    return write_csv(tmp_path / "c.csv", HEADER, rows, encoding="gb18030"), bad


def test_dry_run_writes_nothing(session: Session, org: Org, tmp_path: Path) -> None:
    path, bad = _small(tmp_path)
    before = table_counts(session)
    report = transfer_io.import_file(session, org.admin, "customers", path, now=NOW, dry_run=True)
    assert report.dry_run and report.imported == 50 - len(bad) and [r.line for r in report.rejected] == sorted(bad)
    assert table_counts(session) == before


def test_failure_mid_way_leaves_nothing(factory: sessionmaker[Session], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with transaction(factory) as session:
        session.add_all([Staff(name="张三", role="rep"), Staff(name="管理员", role="admin")])
    with factory() as session:
        admin = actor_for_staff(session, session.scalar(select(Staff.id).where(Staff.role == "admin")))
        before = table_counts(session)
    path, _bad = _small(tmp_path, 60)
    monkeypatch.setattr(transfer_io, "BATCH", 10)
    real = transfer_io.INSERTERS["customers"]
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:  # two batches are already flushed
            raise RuntimeError("connection lost")
        return real(*args, **kwargs)

    monkeypatch.setitem(transfer_io.INSERTERS, "customers", flaky)
    with pytest.raises(RuntimeError), transaction(factory) as session:
        transfer_io.import_file(session, admin, "customers", path, now=NOW)
    with factory() as session:
        assert table_counts(session) == before


def test_only_admin_imports_and_bad_files(session: Session, org: Org, tmp_path: Path) -> None:
    path, _ = _small(tmp_path)
    with pytest.raises(PermissionDenied):
        transfer_io.import_file(session, org.manager, "customers", path, now=NOW)
    wrong = write_csv(tmp_path / "wrong.csv", ["foo", "bar"], [["1", "2"]])
    with pytest.raises(InvalidInput, match="缺少必需的列：客户名称"):
        transfer_io.import_file(session, org.admin, "customers", wrong, now=NOW)
    text = tmp_path / "x.txt"
    text.write_text("hello")
    with pytest.raises(InvalidInput):
        transfer_io.import_file(session, org.admin, "customers", text, now=NOW)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InvalidInput, match="文件读不出来"):
        transfer_io.import_file(session, org.admin, "customers", broken, now=NOW)
    hostile = write_csv(tmp_path / "h.csv", ["name", "phone", "owner"], [
        ["'; DROP TABLE customer; --", "", ""], ["😀" * 101, "", ""], ["正常客户", "+86 138-0013-8000", "不存在"],
    ])
    report = transfer_io.import_file(session, org.admin, "customers", hostile, now=NOW)
    assert report.imported == 1 and [r.line for r in report.rejected] == [3, 4]
    assert session.scalar(select(Customer.name).where(Customer.name.like("%DROP%"))) == "'; DROP TABLE customer; --"


def test_import_members_and_products(session: Session, org: Org, tmp_path: Path) -> None:
    session.add(Member(member_no="VIP0001", name="老会员", joined_at=NOW.date()))
    session.add(Product(name="服务器", unit="台"))
    session.flush()
    members = write_csv(tmp_path / "m.csv", ["会员号", "姓名", "手机", "积分", "生日", "到期日", "门店"], [
        ["vip0100", "王小明", "13900001111", "300", "1990/5/6", "2027年1月31日", "南京西路店"],
        ["VIP0001", "重复", "", "", "", "", ""],
        ["VIP0101", "", "", "", "", "", ""],
        ["VIP0102", "李", "123", "", "", "", ""],
        ["VIP0103", "赵", "", "12.5", "", "", ""],
        ["VIP0104", "钱", "", "", "1990-13-01", "", ""],
        ["VIP0100", "又一个", "", "", "", "", ""],
    ])
    report = transfer_io.import_file(session, org.admin, "members", members, now=NOW)
    assert report.imported == 1
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "与已有的「VIP0001」重复"), (4, "缺少名称"), (5, "电话「123」格式不对"),
        (6, "积分「12.5」不是有效数字"), (7, "生日「1990-13-01」不是有效日期"), (8, "与第2行重复"),
    ]
    member = session.scalar(select(Member).where(Member.member_no == "VIP0100"))
    assert (member.points, member.birthday.isoformat(), member.expires_at.isoformat()) == (300, "1990-05-06", "2027-01-31")
    assert session.scalar(select(func.sum(PointsLedger.delta)).where(PointsLedger.member_id == member.id)) == 300
    products = write_csv(tmp_path / "p.csv", ["产品名称", "单位", "单价", "别名"], [
        ["门禁系统", "套", "28,000", "门禁、门禁机"], ["服务器", "台", "1", ""], ["键盘", "个", "abc", ""],
    ])
    report = transfer_io.import_file(session, org.admin, "products", products, now=NOW)
    assert report.imported == 1 and [r.line for r in report.rejected] == [3, 4]
    product = session.scalar(select(Product).where(Product.name == "门禁系统"))
    assert (str(product.unit_price), product.aliases) == ("28000.00", ["门禁", "门禁机"])


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_round_trip(demo_session: Session, tmp_path: Path, fmt: str) -> None:
    session = demo_session
    admin = actor_for_staff(session, session.scalar(select(Staff.id).where(Staff.role == "admin")))
    path = tmp_path / f"customers.{fmt}"
    count = transfer_io.export_data(session, admin, "customers", path, fmt=fmt, now=NOW)
    assert count == _count(session, Customer)
    header, body = transfer_io.read_table(path)
    columns = transfer_io.map_columns("customers", header)
    assert set(columns) >= {"name", "aliases", "owner", "contact", "phone", "lifecycle", "region"}
    exported = {row[columns["name"]]: row for _line, row in body}
    for customer in session.scalars(select(Customer)):
        row = exported[customer.name]
        assert row[columns["owner"]] == customer.owner.name
        first = min(customer.contacts, key=lambda c: c.id) if customer.contacts else None
        assert (row[columns["phone"]] or "") == ((first.phone or "") if first else "")
    # Importing the export again: every row is recognised, and every one is a duplicate of what exists.
    again = transfer_io.import_file(session, admin, "customers", path, now=NOW, dry_run=True)
    assert again.imported == 0 and len(again.rejected) == count
    assert all("与已有的" in r.reason for r in again.rejected)


def test_export_scope_and_permissions(demo_session: Session, tmp_path: Path) -> None:
    session = demo_session
    staff = {s.name: s.id for s in session.scalars(select(Staff))}
    manager = actor_for_staff(session, staff["陈静"])
    rep = actor_for_staff(session, staff["张伟"])
    with pytest.raises(PermissionDenied):
        transfer_io.export_data(session, rep, "visits", tmp_path / "v.csv", fmt="csv", now=NOW)
    with pytest.raises(PermissionDenied):
        transfer_io.export_data(session, manager, "members", tmp_path / "m.csv", fmt="csv", now=NOW)
    with pytest.raises(InvalidInput):
        transfer_io.export_data(session, manager, "visits", tmp_path / "v.pdf", fmt="pdf", now=NOW)
    since = transfer_io.since_from_date(NOW.date().replace(day=1))
    count = transfer_io.export_data(session, manager, "visits", tmp_path / "v.csv", fmt="csv", since=since, now=NOW)
    _header, body = transfer_io.read_table(tmp_path / "v.csv")
    assert count == len(body) > 0
    assert all(row[0] >= "2026-11-01" for _line, row in body)
    admin = actor_for_staff(session, staff["管理员"])
    for kind in ("orders", "members"):
        assert transfer_io.export_data(session, admin, kind, tmp_path / f"{kind}.xlsx", now=NOW) > 0
    assert session.scalar(select(func.count()).where(AuditLog.action.like("export.%"))) == 3


def test_cli_import_and_export(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands the lead mounts as `crmbot import …` / `crmbot export …` (SQLite file, like the default)."""
    import shutil

    import typer
    from typer.testing import CliRunner

    from crm_store.db import make_engine, session_factory
    from crmbot.cli.transfer import export_app, import_app

    db = tmp_path / "crm.db"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}")
    with transaction(session_factory(engine)) as session:
        session.add_all([Staff(name="张三", role="rep"), Staff(name="管理员", role="admin")])
    monkeypatch.setenv("CRMBOT_DATABASE__URL", f"sqlite:///{db}")
    monkeypatch.setenv("CRMBOT_DATA_DIR", str(tmp_path / "var"))
    app = typer.Typer()
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
    runner = CliRunner()
    path, bad = _small(tmp_path)

    dry = runner.invoke(app, ["import", "customers", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"共50行：可导入{50 - len(bad)}行，拒绝{len(bad)}行（试运行，未写入数据库）" in dry.output
    with session_factory(engine)() as session:
        assert _count(session, Customer) == 0
    done = runner.invoke(app, ["import", "customers", str(path), "--report", str(tmp_path / "rejected.csv")])
    assert done.exit_code == 0, done.output
    assert "缺少名称" in done.output and "│ 7 " in done.output.replace("┃", "│")
    assert (tmp_path / "rejected.csv").read_text(encoding="utf-8-sig").splitlines()[1] == "7,缺少名称"
    refused = runner.invoke(app, ["import", "customers", str(path), "--as", "张三"])
    assert refused.exit_code == 2 and "只有管理员可以导入数据" in refused.output

    out = tmp_path / "out.csv"
    exported = runner.invoke(app, ["export", "customers", "--format", "csv", "--out", str(out), "--since", "2026-01-01"])
    assert exported.exit_code == 0, exported.output
    _header, rows = transfer_io.read_table(out)
    assert len(rows) == 50 - len(bad)
    bad_format = runner.invoke(app, ["export", "visits", "--format", "pdf"])
    assert bad_format.exit_code == 2
    engine.dispose()


def test_xlsx_export_has_real_dates_amounts_and_sized_columns(demo_session: Session, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    session = demo_session
    admin = actor_for_staff(session, session.scalar(select(Staff.id).where(Staff.role == "admin")))
    for kind in ("visits", "orders", "members", "customers"):
        transfer_io.export_data(session, admin, kind, tmp_path / f"{kind}.xlsx", now=NOW)
    visits = load_workbook(tmp_path / "visits.xlsx").active
    when = visits.cell(row=2, column=1)
    assert isinstance(when.value, datetime) and when.number_format == "yyyy-mm-dd hh:mm"  # sortable in Excel
    assert visits.freeze_panes == "A2" and visits.cell(row=1, column=1).font.b
    summary = transfer_io.HEADERS["visits"].index("拜访内容") + 1
    widths = {letter: dim.width for letter, dim in visits.column_dimensions.items()}
    from openpyxl.utils import get_column_letter

    assert widths[get_column_letter(summary)] > widths["A"] >= len("2026-11-27 10:00")  # content decides
    assert max(widths.values()) <= transfer_io.MAX_WIDTH
    orders = load_workbook(tmp_path / "orders.xlsx").active
    total = orders.cell(row=2, column=transfer_io.HEADERS["orders"].index("金额") + 1)
    assert isinstance(total.value, int | float) and total.number_format == "#,##0.00"
    members = load_workbook(tmp_path / "members.xlsx").active
    joined = members.cell(row=2, column=transfer_io.HEADERS["members"].index("入会日期") + 1)
    assert isinstance(joined.value, datetime) and joined.number_format == "yyyy-mm-dd"
    # CSV keeps readable text for the same values.
    transfer_io.export_data(session, admin, "visits", tmp_path / "visits.csv", fmt="csv", now=NOW)
    _header, body = transfer_io.read_table(tmp_path / "visits.csv")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", body[0][1][0])


def test_import_reports_every_problem_of_a_row_and_the_valid_choices(session: Session, org: Org,
                                                                      tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ["客户名称", "阶段", "负责人", "电话"], [
        ["", "意向客户", "不存在的人", "123"],
        ["好客户", "成交客户", "", ""],
    ])
    report = transfer_io.import_file(session, org.admin, "customers", path, now=NOW, dry_run=True)
    assert report.imported == 1 and [r.line for r in report.rejected] == [2]
    reason = report.rejected[0].reason
    assert reason.count("；") == 3  # four problems, one line
    assert "缺少名称" in reason and "电话「123」格式不对" in reason
    assert "客户阶段「意向客户」无效，可选：目标客户、潜在客户、当前机会、成交客户、休眠、流失" in reason
    assert "找不到负责人「不存在的人」，可选：" in reason
    members = write_csv(tmp_path / "m.csv", ["会员号", "姓名", "积分", "生日"], [["??", "", "1.5", "1990-13-01"]])
    many = transfer_io.import_file(session, org.admin, "members", members, now=NOW, dry_run=True).rejected[0].reason
    assert ["会员号" in many, "缺少名称" in many, "积分" in many, "生日" in many] == [True] * 4
