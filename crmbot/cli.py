"""The `crmbot` console script: one entry point, sub-commands per package."""

from __future__ import annotations

import sys

import typer

from bot.cli import inbox_app, run_command, staff_app
from crm_store.backup_cli import backup_command, restore_command
from crm_store.cli import db_app, demo_app
from crm_store.io_cli import export_app, import_app
from crmbot.bench_cli import BENCH_CONTEXT, bench_command
from crmbot.config import ConfigError, load_config
from nlu.cli import app as nlu_app
from scheduler.cli import outbox_app, reminders_app, scheduler_app

app = typer.Typer(help="销售助手 crmbot", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(nlu_app, name="nlu")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(staff_app, name="staff")
app.command("run")(run_command)
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(reminders_app, name="reminders")
app.add_typer(outbox_app, name="outbox")
app.add_typer(inbox_app, name="inbox")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.command("bench", context_settings=BENCH_CONTEXT)(bench_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)


@app.command()
def version() -> None:
    """打印版本号"""
    from crmbot import __version__

    typer.echo(__version__)


@app.command("config-check")
def config_check() -> None:
    """校验 config.yml 与环境变量覆盖"""
    from crmbot.serve import channel_problems

    config = load_config()
    problems = channel_problems(config)
    if problems:
        raise ConfigError("配置有误 / invalid configuration: " + "; ".join(problems))
    typer.echo(f"配置有效 / config OK (database: {config.database.url.split('://')[0]})")


def _parse_now(value: str | None, config):  # type: ignore[no-untyped-def]
    from datetime import datetime

    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"时间格式应为 ISO 8601，例如 2026-11-27T10:00:00+08:00：{value}") from exc
    return moment.replace(tzinfo=config.tz) if moment.tzinfo is None else moment


@app.command()
def chat(
    as_: str = typer.Option("张伟", "--as", help="以哪位员工的身份对话（演示数据：张伟/李娜/王强/陈静/赵建国/周芳）"),
    now: str | None = typer.Option(None, help="固定当前时间（ISO 8601），用于演示和测试"),
) -> None:
    """在终端里和销售助手对话（默认使用内置 SQLite 与演示数据）"""
    from datetime import datetime

    from bot import console
    from crmbot.logging_setup import install_redaction
    from crmbot.wiring import bind_console, build_dialogs, open_database, seed_demo_if_empty

    config = load_config()
    install_redaction(config)  # issue 10: no phone number or secret in any log line
    fixed_now = _parse_now(now, config)
    clock = (lambda: fixed_now) if fixed_now else (lambda: datetime.now(config.tz))
    runtime = open_database(config)
    if seed_demo_if_empty(runtime, clock()):
        typer.echo("已生成演示数据（1位总监、1位经理、3位销售、1位店员、约60个客户、约200位会员）。", err=True)
    try:
        bind_console(runtime, as_, clock())
    except LookupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    dialogs = build_dialogs(runtime, clock=clock)
    interactive = sys.stdin.isatty()
    if interactive:
        typer.echo(console.BANNER.format(name=as_))
    console.run(dialogs, as_, sys.stdin, sys.stdout, interactive=interactive, clock=clock)


if __name__ == "__main__":
    main()
