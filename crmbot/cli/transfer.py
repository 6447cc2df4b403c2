"""`crmbot import customers|members|products|staff FILE` and `crmbot export customers|visits|orders|members`.

Import: one transaction (nothing half-imported), a progress bar, --dry-run, every rejected row with its
line number and every reason. Export: xlsx (real dates, sized columns) or CSV with Chinese headers.
The CRM is imported inside the commands, so `crmbot import --help` stays quick.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from crmbot import messages as CM
from crmbot.cli import common

if TYPE_CHECKING:
    from crm_store.services.transfer_io import ImportReport

import_app = typer.Typer(help="导入客户、会员、产品、员工（xlsx / csv）", no_args_is_help=True)
export_app = typer.Typer(help="导出客户、拜访、订单、会员（xlsx / csv）", no_args_is_help=True)
REJECTED_SHOWN = 200
FORMATS = ("xlsx", "csv")


def _actor(session: Any, name: str | None, *, admin: bool, bootstrap: bool = False) -> Any:
    """The named staff member, else the first admin. bootstrap: a company without any admin yet (its first
    staff file) imports as the server's operator (None)."""
    from sqlalchemy import select

    from crm_store.errors import CRMError
    from crm_store.models import Staff
    from crm_store.services import actor_for_staff, find_staff, transfer_io

    if name:
        staff = find_staff(session, name)
    else:
        staff = session.scalar(select(Staff).where(Staff.role == "admin", Staff.active.is_(True)).order_by(Staff.id))
    if staff is None and bootstrap and not name:
        return None
    if staff is None:
        raise CRMError(CM.STAFF_NOT_FOUND.format(name=name) if name else CM.NO_ADMIN)
    actor = actor_for_staff(session, staff.id, via_channel="cli")
    if admin:
        transfer_io.require_admin(actor)
    return actor


def _fail(message: str) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True).print(f"[red]{message}[/red]", markup=True, highlight=False)
    return typer.Exit(2)


def run_import(kind: str, file: Path, *, dry_run: bool, as_: str | None, report: Path | None) -> None:
    from crm_store.db import transaction
    from crm_store.errors import CRMError
    from crm_store.services import transfer_io

    runtime = common.runtime()
    now = datetime.now(runtime.config.tz)
    try:
        with transaction(runtime.factory) as session, \
                common.working(CM.IMPORT_CHECKING if dry_run else CM.IMPORT_WRITING) as progress:
            actor = _actor(session, as_, admin=True, bootstrap=kind == "staff")
            result = transfer_io.import_file(session, actor, kind, file, now=now, dry_run=dry_run, progress=progress)
            if dry_run:
                session.rollback()
    except CRMError as error:
        raise _fail(error.message) from error
    finally:
        runtime.engine.dispose()
    _print_result(result, report)


def _print_result(result: ImportReport, report: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    out.print(CM.IMPORT_SUMMARY.format(total=result.total, verb=CM.IMPORT_VERB_DRY if result.dry_run else CM.IMPORT_VERB,
                                      imported=result.imported, rejected=len(result.rejected))
              + (CM.IMPORT_DRY_NOTE if result.dry_run else ""))
    if result.rejected:
        table = Table(CM.IMPORT_LINE)
        table.add_column(CM.IMPORT_REASON, overflow="fold")  # long Chinese reasons wrap, never cut off with …
        for row in result.rejected[:REJECTED_SHOWN]:
            table.add_row(str(row.line), row.reason)
        out.print(table)
        if len(result.rejected) > REJECTED_SHOWN:
            out.print(CM.IMPORT_MORE.format(count=len(result.rejected) - REJECTED_SHOWN))
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        with report.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([CM.IMPORT_LINE, CM.IMPORT_REASON])
            writer.writerows([r.line, r.reason] for r in result.rejected)


def _import_command(kind: str, help_text: str) -> None:
    @import_app.command(kind, help=help_text)
    def command(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="xlsx 或 csv 文件，第一行是列名"),
        dry_run: bool = typer.Option(False, "--dry-run", help="只校验，不写入"),
        as_: str | None = typer.Option(None, "--as", help="以哪位管理员的身份导入（默认第一位管理员）"),
        report: Path | None = typer.Option(None, "--report", help="把被拒绝的行写到这个 CSV 文件"),
    ) -> None:
        run_import(kind, file, dry_run=dry_run, as_=as_, report=report)


_import_command("customers", "导入客户：客户名称/简称/行业/地区/地址/阶段/联系人/职务/电话/负责人")
_import_command("members", "导入会员：会员号/姓名/手机/等级/积分/累计消费/入会日期/到期日/生日/门店")
_import_command("products", "导入产品：产品名称/编号/单位/单价/别名")
_import_command("staff", "导入员工：姓名/角色（rep 销售、manager 经理、director 总监、clerk 店员、admin 管理员）/上级/团队/门店/手机")


def run_export(kind: str, fmt: str, since: str | None, out: Path | None, as_: str | None) -> None:
    if fmt not in FORMATS:
        raise _fail(CM.EXPORT_FORMAT)
    try:
        since_day = date.fromisoformat(since) if since else None
    except ValueError as exc:
        raise _fail(CM.EXPORT_SINCE.format(value=since)) from exc
    from crm_store.db import transaction
    from crm_store.errors import CRMError
    from crm_store.services import transfer_io

    runtime = common.runtime()
    tz = runtime.config.tz
    now = datetime.now(tz)
    path = out or runtime.config.exports_dir / f"{kind}-{now:%Y%m%d%H%M%S}.{fmt}"
    try:
        with transaction(runtime.factory) as session, common.working(CM.EXPORTING.format(path=path)) as progress:
            actor = _actor(session, as_, admin=False)
            count = transfer_io.export_data(session, actor, kind, path, fmt=fmt, progress=progress,
                                            since=transfer_io.since_from_date(since_day, tz), now=now, tz=tz)
    except CRMError as error:
        raise _fail(error.message) from error
    finally:
        runtime.engine.dispose()
    typer.echo(CM.EXPORTED.format(count=count, path=path))


def _export_command(kind: str, help_text: str) -> None:
    @export_app.command(kind, help=help_text)
    def command(
        fmt: str = typer.Option("xlsx", "--format", help="xlsx 或 csv"),
        since: str | None = typer.Option(None, "--since", help="只导出这天（YYYY-MM-DD）及以后的"),
        out: Path | None = typer.Option(None, "--out", help="输出文件（默认 <数据目录>/exports/…）"),
        as_: str | None = typer.Option(None, "--as", help="以哪位员工的身份导出（默认第一位管理员）"),
    ) -> None:
        run_export(kind, fmt, since, out, as_)


_export_command("customers", "导出客户")
_export_command("visits", "导出拜访记录")
_export_command("orders", "导出订单")
_export_command("members", "导出会员")
