"""`crmbot backup` and `crmbot restore`."""

from __future__ import annotations

import shlex
from datetime import datetime
from pathlib import Path

import typer

from crm_store.backup import BackupError, backup, default_backup_path, restore
from crmbot import messages as CM
from crmbot.cli import common


def backup_command(
    out: Path | None = typer.Option(None, "--out", help="备份文件路径（默认 <数据目录>/backups/crmbot-时间.db|.dump）"),
) -> None:
    """备份数据库（SQLite 在线备份；PostgreSQL 用 pg_dump -Fc）/ back up the database."""
    config = common.config()
    url = config.database.url
    target = out or default_backup_path(url, datetime.now(config.tz), Path(config.data_dir))
    try:
        with common.working(CM.BACKING_UP.format(path=target)):
            result = backup(url, target)
    except BackupError as exc:
        typer.echo(exc.message, err=True)
        if exc.command:
            typer.echo(CM.RUN_BY_HAND.format(command=shlex.join(exc.command)))
        raise typer.Exit(1) from exc
    typer.echo(CM.BACKED_UP.format(path=result.path, size=result.bytes))


def restore_command(
    file: Path = typer.Argument(..., help="备份文件（crmbot backup 生成的 .db 或 .dump）"),
    force: bool = typer.Option(False, "--force", help="目标数据库已有数据时仍然覆盖（覆盖前先另存一份安全副本）"),
) -> None:
    """从备份恢复数据库并迁移到最新版本 / restore a backup and migrate it to head."""
    config = common.config()
    try:
        with common.working(CM.RESTORING.format(file=file)):
            result = restore(config.database.url, file, force=force, safety_dir=Path(config.data_dir),
                             now=datetime.now(config.tz))
    except BackupError as exc:
        typer.echo(exc.message, err=True)
        if exc.command:
            typer.echo(CM.RUN_BY_HAND.format(command=shlex.join(exc.command)))
        raise typer.Exit(1) from exc
    if result.safety_copy is not None:
        typer.echo(CM.SAFETY_COPY.format(path=result.safety_copy))
    typer.echo(CM.RESTORED.format(revision=result.revision))
