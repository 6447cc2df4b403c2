"""What every sub-command shares: the config, the database runtime and the one `--now` option.

Kept light (typer and the standard library only): `crmbot --help` imports this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

import typer

from crmbot import messages as CM

if TYPE_CHECKING:
    from crmbot.config import Config
    from crmbot.wiring import Runtime

NOW_HELP = "固定“现在”的时间（ISO 8601，例如 2026-11-27T10:00:00+08:00；不写时区按配置时区），用于演示、补跑和测试"


def now_option(help_text: str = NOW_HELP) -> str | None:
    """The `--now` option every command that needs a fixed clock declares the same way."""
    return typer.Option(None, "--now", help=help_text)


def parse_now(value: str | None, tz: tzinfo) -> datetime:
    """`--now`: an ISO 8601 moment (a trailing Z is UTC; no offset means the configured timezone).
    Without a value: the current time in `tz`."""
    if value is None or not value.strip():
        return datetime.now(tz)
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(CM.BAD_NOW.format(value=value), param_hint="--now") from exc
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


_last_url: str | None = None


def config() -> Config:
    """The app config; its database URL is remembered so a database failure can be explained with it."""
    global _last_url
    from crmbot.config import load_config

    loaded = load_config()
    _last_url = loaded.database.url
    return loaded


def last_database_url() -> str | None:
    return _last_url


def runtime(loaded: Config | None = None, *, migrate: bool = True) -> Runtime:
    """The database of the configured URL, migrated to head."""
    from crmbot.wiring import open_database

    return open_database(loaded or config(), migrate=migrate)


@contextmanager
def working(description: str) -> Iterator[Any]:
    """A progress display on stderr for work whose length is unknown up front (a spinner and the elapsed
    time); `progress.update(task, total=..., completed=...)` turns it into a bar once the size is known.
    Shown only on a terminal, so piped output and tests stay clean."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
