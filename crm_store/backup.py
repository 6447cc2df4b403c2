"""Backup and restore of the crmbot database.

SQLite: sqlite3's online backup API (a consistent copy while the app keeps writing; WAL readers never
block writers), written to a temporary file and renamed, so a half-written backup never exists.
PostgreSQL: pg_dump -Fc / pg_restore (custom format); when the client tools are missing, the command
to run is returned instead.

Restore refuses a file that is not a crmbot database (no alembic_version), refuses to overwrite a
database that holds data unless forced, and migrates the result to head.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import URL, make_url

from crm_store.db import current_revision, make_engine, normalize_url, upgrade
from crm_store.models import Base

# Messages (shown by `crmbot backup|restore` as is).
NOT_CRMBOT = "不是 crmbot 数据库备份（缺少 alembic_version）：{path}"
NOT_SQLITE = "不是 SQLite 数据库文件：{path}"
MISSING_FILE = "找不到备份文件：{path}"
NOT_EMPTY = "目标数据库已有数据（{tables}），如确认覆盖请加 --force"
MEMORY_DB = "内存数据库无法备份/恢复"
UNSUPPORTED = "不支持的数据库类型：{backend}"
TOOL_MISSING = "未找到 {tool}，请手动执行：\n{command}"
TOOL_FAILED = "{tool} 失败（退出码 {code}）：{stderr}"
SAFETY_FAILED = "没有恢复：无法先给当前数据库留一份安全副本（{reason}）"


class BackupError(Exception):
    def __init__(self, message: str, command: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.command = command  # what to run by hand (PostgreSQL without client tools)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backend: str
    bytes: int


@dataclass(frozen=True)
class RestoreResult:
    backend: str
    revision: str | None
    safety_copy: Path | None = None  # the overwritten database, kept before the restore (None: it was empty)


def default_backup_path(url: str, now: datetime, directory: Path | None = None, stem: str = "crmbot") -> Path:
    """<directory>/backups/crmbot-YYYYmmdd-HHMMSS.db (SQLite) or .dump (PostgreSQL custom format); without
    a directory, next to the SQLite file (or var/). An existing file is never overwritten: -2, -3… is added."""
    parsed = make_url(normalize_url(url))
    sqlite = parsed.get_backend_name() == "sqlite"
    base = directory or (Path(parsed.database).resolve().parent if sqlite and parsed.database else Path("var"))
    suffix = ".db" if sqlite else ".dump"
    name = f"{stem}-{now.strftime('%Y%m%d-%H%M%S')}"
    path = base / "backups" / f"{name}{suffix}"
    number = 2
    while path.exists():
        path, number = base / "backups" / f"{name}-{number}{suffix}", number + 1
    return path


def _sqlite_path(parsed: URL) -> Path:
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError(MEMORY_DB)
    return Path(parsed.database)


def _pg_conninfo(parsed: URL) -> str:
    """A libpq URI (pg_dump/pg_restore do not know SQLAlchemy's driver suffix)."""
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_env(parsed: URL) -> dict[str, str]:
    # The password goes through the environment, never the command line others can read in `ps`.
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return env


def _pg_target(parsed: URL) -> str:
    return _pg_conninfo(parsed._replace(password=None))  # URL.set() ignores None


# --- backup -------------------------------------------------------------------------------------


def backup(url: str, out: Path) -> BackupResult:
    parsed = make_url(normalize_url(url))
    backend = parsed.get_backend_name()
    out.parent.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        _backup_sqlite(_sqlite_path(parsed), out)
    elif backend == "postgresql":
        _backup_pg(parsed, out)
    else:
        raise BackupError(UNSUPPORTED.format(backend=backend))
    return BackupResult(out, backend, out.stat().st_size)


def _backup_sqlite(source: Path, out: Path) -> None:
    if not source.is_file():
        raise BackupError(MISSING_FILE.format(path=source))
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        _require_crmbot_sqlite(src, source)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, out)


def pg_dump_command(url: str, out: Path) -> list[str]:
    parsed = make_url(normalize_url(url))
    return ["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f", str(out), "-d", _pg_target(parsed)]


def pg_restore_command(url: str, dump: Path) -> list[str]:
    parsed = make_url(normalize_url(url))
    return ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
            "-d", _pg_target(parsed), str(dump)]


def _run(command: list[str], parsed: URL) -> subprocess.CompletedProcess[str]:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(TOOL_MISSING.format(tool=tool, command=shlex.join(command)), command)
    done = subprocess.run(command, env=_pg_env(parsed), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(TOOL_FAILED.format(tool=tool, code=done.returncode, stderr=done.stderr.strip()[-500:]))
    return done


def _backup_pg(parsed: URL, out: Path) -> None:
    if shutil.which("pg_dump") is None:
        command = pg_dump_command(parsed.render_as_string(hide_password=False), out)
        raise BackupError(TOOL_MISSING.format(tool="pg_dump", command=shlex.join(command)), command)
    partial = out.with_name(out.name + ".partial")
    command = pg_dump_command(parsed.render_as_string(hide_password=False), partial)
    try:
        _run(command, parsed)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)


# --- restore ------------------------------------------------------------------------------------


def restore(
    url: str, file: Path, *, force: bool = False, safety_dir: Path | None = None, now: datetime | None = None
) -> RestoreResult:
    """Restore `file` into the database at `url`. A database holding data is only overwritten with
    `force`, and then a safety copy of it is written first (<safety_dir>/backups/before-restore-….db|.dump);
    if that copy cannot be made, nothing is restored."""
    if not file.is_file():
        raise BackupError(MISSING_FILE.format(path=file))
    parsed = make_url(normalize_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _check_sqlite_backup(file)
    elif backend == "postgresql":
        _check_pg_backup(file, parsed)
    else:
        raise BackupError(UNSUPPORTED.format(backend=backend))
    safety = _keep_safety_copy(url, force, safety_dir, now or datetime.now().astimezone())
    if backend == "sqlite":
        _restore_sqlite(file, _sqlite_path(parsed))
    else:
        _run(pg_restore_command(parsed.render_as_string(hide_password=False), file), parsed)
    engine = make_engine(url)
    try:
        upgrade(engine)
        return RestoreResult(backend, current_revision(engine), safety)
    finally:
        engine.dispose()


def _require_crmbot_sqlite(conn: sqlite3.Connection, path: Path) -> None:
    try:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'").fetchone()
    except sqlite3.DatabaseError as exc:  # "file is not a database"
        raise BackupError(NOT_SQLITE.format(path=path)) from exc
    if found is None:
        raise BackupError(NOT_CRMBOT.format(path=path))


def _check_sqlite_backup(file: Path) -> None:
    conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    try:
        _require_crmbot_sqlite(conn, file)
    finally:
        conn.close()


def _check_pg_backup(file: Path, parsed: URL) -> None:
    try:
        listing = _run(["pg_restore", "-l", str(file)], parsed).stdout
    except BackupError as exc:
        if exc.command:  # pg_restore missing: say so
            raise
        raise BackupError(NOT_CRMBOT.format(path=file)) from exc
    if not any("TABLE" in line and "alembic_version" in line for line in listing.splitlines()):
        raise BackupError(NOT_CRMBOT.format(path=file))


def tables_with_rows(url: str) -> list[str]:
    """The crmbot tables holding data in the target (alembic_version does not count)."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite" and not _sqlite_path(parsed).exists():
        return []
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return [
                table.name for table in Base.metadata.sorted_tables
                if table.name in present and conn.scalar(select(func.count()).select_from(table))
            ]
    finally:
        engine.dispose()


def _keep_safety_copy(url: str, force: bool, directory: Path | None, now: datetime) -> Path | None:
    """Refuse to overwrite data without `force`; with it, back the data up first and return where."""
    busy = tables_with_rows(url)
    if not busy:
        return None
    if not force:
        shown = "、".join(busy[:5]) + ("…" if len(busy) > 5 else "")
        raise BackupError(NOT_EMPTY.format(tables=shown))
    target = default_backup_path(url, now, directory, stem="before-restore")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        return backup(url, target).path
    except BackupError as exc:
        raise BackupError(SAFETY_FAILED.format(reason=exc.message), exc.command) from exc


def _restore_sqlite(file: Path, target: Path) -> None:
    """Copy the backup's pages into the target through the backup API (the target's WAL stays coherent)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
