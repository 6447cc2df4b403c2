"""`crmbot import customers|members|products FILE` and `crmbot export customers|visits|orders|members`.

Import: one transaction (nothing half-imported), a progress bar, --dry-run, every rejected row with its
line number and reason. Export: xlsx (openpyxl) or CSV with Chinese headers.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from crm_store.db import transaction
from crm_store.errors import CRMError
from crm_store.models import Staff
from crm_store.services import actor_for_staff, find_staff, transfer_io
from crmbot.cli import common

import_app = typer.Typer(help="导入客户、会员、产品（xlsx / csv）", no_args_is_help=True)
export_app = typer.Typer(help="导出客户、拜访、订单、会员（xlsx / csv）", no_args_is_help=True)
REJECTED_SHOWN = 200


def _actor(session, name: str | None, *, admin: bool):  # type: ignore[no-untyped-def]
    if name:
        staff = find_staff(session, name)
    else:
        staff = session.query(Staff).filter(Staff.role == "admin", Staff.active.is_(True)).order_by(Staff.id).first()
    if staff is None:
        raise CRMError(f"找不到员工“{name}”。" if name else "数据库里没有管理员账号，请用 --as 指定。")
    actor = actor_for_staff(session, staff.id, via_channel="cli")
    if admin:
        transfer_io.require_admin(actor)
    return actor


def run_import(kind: str, file: Path, *, dry_run: bool, as_: str | None, report: Path | None) -> None:
    console = Console(stderr=True)
    runtime = common.runtime()
    now = datetime.now(runtime.config.tz)
    try:
        with transaction(runtime.factory) as session, Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True,
        ) as progress:
            actor = _actor(session, as_, admin=True)
            task = progress.add_task("校验" if dry_run else "导入", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = transfer_io.import_file(session, actor, kind, file, now=now, dry_run=dry_run, progress=advance)
            if dry_run:
                session.rollback()
    except CRMError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from error
    finally:
        runtime.engine.dispose()
    _print_result(result, report)


def _print_result(result: transfer_io.ImportReport, report: Path | None) -> None:
    out = Console()
    verb = "可导入" if result.dry_run else "已导入"
    out.print(f"共{result.total}行：{verb}{result.imported}行，拒绝{len(result.rejected)}行"
              + ("（试运行，未写入数据库）" if result.dry_run else ""))
    if result.rejected:
        table = Table("行号", "原因")
        for row in result.rejected[:REJECTED_SHOWN]:
            table.add_row(str(row.line), row.reason)
        out.print(table)
        if len(result.rejected) > REJECTED_SHOWN:
            out.print(f"…另有{len(result.rejected) - REJECTED_SHOWN}行，完整列表见 --report 文件")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        with report.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["行号", "原因"])
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


def run_export(kind: str, fmt: str, since: str | None, out: Path | None, as_: str | None) -> None:
    console = Console(stderr=True)
    if fmt not in transfer_io.FORMATS:
        console.print("[red]导出格式只能是 xlsx 或 csv。[/red]")
        raise typer.Exit(2)
    try:
        since_day = date.fromisoformat(since) if since else None
    except ValueError as exc:
        console.print(f"[red]--since 应是日期，例如 2026-01-01：{since}[/red]")
        raise typer.Exit(2) from exc
    runtime = common.runtime()
    tz = runtime.config.tz
    now = datetime.now(tz)
    path = out or runtime.config.exports_dir / f"{kind}-{now:%Y%m%d%H%M%S}.{fmt}"
    try:
        with transaction(runtime.factory) as session:
            actor = _actor(session, as_, admin=False)
            count = transfer_io.export_data(session, actor, kind, path, fmt=fmt,
                                            since=transfer_io.since_from_date(since_day, tz), now=now, tz=tz)
    except CRMError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from error
    finally:
        runtime.engine.dispose()
    typer.echo(f"已导出{count}行：{path}")


def _export_command(kind: str, help_text: str) -> None:
    @export_app.command(kind, help=help_text)
    def command(
        fmt: str = typer.Option("xlsx", "--format", help="xlsx 或 csv"),
        since: str | None = typer.Option(None, "--since", help="只导出这天（YYYY-MM-DD）及以后的"),
        out: Path | None = typer.Option(None, "--out", help="输出文件（默认 data_dir/exports/…）"),
        as_: str | None = typer.Option(None, "--as", help="以哪位员工的身份导出（默认第一位管理员）"),
    ) -> None:
        run_export(kind, fmt, since, out, as_)


_export_command("customers", "导出客户")
_export_command("visits", "导出拜访记录")
_export_command("orders", "导出订单")
_export_command("members", "导出会员")
