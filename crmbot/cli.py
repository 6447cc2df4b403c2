"""The `crmbot` console script: one entry point, sub-commands per package."""

from __future__ import annotations

import sys

import typer

from crmbot.config import ConfigError, load_config
from nlu.cli import app as nlu_app

app = typer.Typer(help="销售助手 crmbot", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(nlu_app, name="nlu")


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
    config = load_config()
    typer.echo(f"配置有效 / config OK (database: {config.database.url.split('://')[0]})")
