"""`crmbot chat`, `crmbot config-check` and `crmbot version`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from crmbot import messages as CM
from crmbot.cli import common


def chat(
    as_: str = typer.Option("张伟", "--as", help="以哪位员工的身份对话（演示数据：销售 张伟/李娜/王强，经理 陈静，"
                                                 "总监 赵建国，店员 周芳，管理员）"),
    member: str | None = typer.Option(None, "--member", help="以会员身份对话，例如 VIP0002（演示会员 VIP0001–VIP0200）"),
    now: str | None = common.now_option(),
) -> None:
    """在终端里和销售助手对话（默认使用内置 SQLite 与演示数据）"""
    from bot import console
    from crmbot.logging_setup import install_redaction
    from crmbot.wiring import bind_console, bind_console_member, build_dialogs, seed_demo_if_empty

    config = common.config()
    install_redaction(config)  # issue 10: no phone number or secret in any log line
    fixed_now = common.parse_now(now, config.tz) if now else None
    clock = (lambda: fixed_now) if fixed_now else (lambda: common.parse_now(None, config.tz))
    with common.working(CM.OPENING_DATABASE):
        runtime = common.runtime(config)
    with common.working(CM.SEEDING_DEMO):
        seeded = seed_demo_if_empty(runtime, clock())
    if seeded:
        typer.echo(CM.DEMO_SEEDED, err=True)
    try:
        speaker = bind_console_member(runtime, member, clock()) if member else bind_console(runtime, as_, clock())
    except LookupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    first_time = config.nlu.backend == "local" and not Path(config.nlu.model_path).exists()
    with common.working(CM.TRAINING_NLU if first_time else CM.LOADING_NLU):
        dialogs = build_dialogs(runtime, clock=clock)
    interactive = sys.stdin.isatty()
    if interactive:
        typer.echo(console.BANNER.format(name=member or as_))
    identity = speaker if member else as_
    console.run(dialogs, identity, sys.stdin, sys.stdout, interactive=interactive, clock=clock)


def config_check() -> None:
    """校验配置文件与环境变量覆盖"""
    from sqlalchemy.engine import make_url

    from crmbot.config import ConfigError, config_path
    from crmbot.prefork import worker_problems
    from crmbot.serve import channel_problems

    config = common.config()
    # The same list `crmbot run` refuses to start with (server.workers included).
    problems = channel_problems(config) + worker_problems(config, config.server.workers)
    if problems:
        raise ConfigError("配置有误 / invalid configuration: " + "; ".join(problems))
    database = make_url(config.database.url).render_as_string(hide_password=True)
    typer.echo(CM.CONFIG_OK.format(path=config_path().resolve(), database=database, data_dir=config.data_dir))


def version() -> None:
    """打印版本号"""
    from crmbot import __version__

    typer.echo(__version__)
