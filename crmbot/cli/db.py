"""`crmbot db ...` and `crmbot demo ...`: migrations and demo data."""

from __future__ import annotations

from typing import Any

import typer

from crmbot.cli import common

db_app = typer.Typer(help="数据库迁移 database migrations", no_args_is_help=True)
demo_app = typer.Typer(help="演示数据 demo data", no_args_is_help=True)


def _engine() -> tuple[Any, Any]:
    from crm_store.db import make_engine

    config = common.config()
    return config, make_engine(config.database.url, echo=config.database.echo)


@db_app.callback()
def db_main() -> None:
    """数据库迁移 database migrations"""


@demo_app.callback()
def demo_main() -> None:
    """演示数据 demo data"""


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="目标版本 target revision")) -> None:
    """升级数据库到最新版本 / migrate the database."""
    from crm_store import messages as SM
    from crm_store.db import current_revision, upgrade

    _config, engine = _engine()
    try:
        upgrade(engine, revision)
        typer.echo(SM.CLI_UPGRADED.format(revision=current_revision(engine)))
    finally:
        engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """显示当前数据库版本 / show the current revision."""
    from crm_store import messages as SM
    from crm_store.db import current_revision

    _config, engine = _engine()
    try:
        revision = current_revision(engine)
        typer.echo(SM.CLI_CURRENT.format(revision=revision) if revision else SM.CLI_NO_REVISION)
    finally:
        engine.dispose()


@demo_app.command("seed")
def demo_seed(
    seed: int = typer.Option(20261127, help="随机种子 random seed"),
    now: str | None = common.now_option("演示数据以这个时间为“现在”（ISO 8601，默认当前时间）"),
) -> None:
    """升级数据库并生成演示数据 / migrate and fill in demo data."""
    from crm_store import messages as SM
    from crm_store.db import session_factory, transaction, upgrade
    from crm_store.demo import seed_demo
    from crm_store.errors import CRMError

    config, engine = _engine()
    try:
        upgrade(engine)
        try:
            with transaction(session_factory(engine)) as session:
                summary = seed_demo(session, now=common.parse_now(now, config.tz), seed=seed)
        except CRMError as exc:
            typer.echo(SM.CLI_SEED_REFUSED.format(reason=exc.message), err=True)
            raise typer.Exit(1) from exc
        typer.echo(SM.CLI_SEEDED)
        for name, value in summary.counts.items():
            typer.echo(f"  {SM.DEMO_COUNT_LABELS.get(name, name)} {name}: {value}")
    finally:
        engine.dispose()
