"""Backup and restore: SQLite online backup while the app writes, PostgreSQL pg_dump/pg_restore, the CLI."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import typer
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from crm_store.backup import BackupError, backup, pg_dump_command, restore, tables_with_rows
from crm_store.db import current_revision, make_engine, session_factory, transaction
from crm_store.models import AuditLog, Base, Customer, Staff, Visit
from crm_store.services import actor_for_staff, log_visit
from crmbot.cli.backup import backup_command, restore_command
from tests.conftest import PG_ADMIN_URL, _pg_conninfo
from tests.crm_store.helpers import NOW, table_counts

KEY_TABLES = ("customer", "visit", "member", "points_ledger", "audit_log")


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return table_counts(session)
    finally:
        engine.dispose()


def checksums(url: str) -> dict[str, str]:
    """sha256 over every row of the key tables, in primary-key order."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            sums = {}
            for name in KEY_TABLES:
                table = Base.metadata.tables[name]
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                sums[name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            return sums
    finally:
        engine.dispose()


def _rep(factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    with factory() as session:
        staff_id = session.scalar(select(Staff.id).where(Staff.name == "张伟"))
        customer_id = session.scalar(select(Customer.id).where(Customer.owner_id == staff_id).limit(1))
        return actor_for_staff(session, staff_id, "console", "backup-test"), customer_id


class Writer(threading.Thread):
    """Logs visits (a visit + its audit row per transaction) until stopped: the app writing meanwhile."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        super().__init__(daemon=True)
        self.factory = factory
        self.stop = threading.Event()
        self.written = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        actor, customer_id = _rep(self.factory)
        try:
            while not self.stop.is_set():
                moment = NOW + timedelta(seconds=self.written)
                with transaction(self.factory) as session:
                    log_visit(session, actor, customer_id, summary=f"并发写入 {self.written}",
                              visited_at=moment, now=moment)
                self.written += 1
        except BaseException as exc:  # reported by the test
            self.error = exc


def _visit_audits(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            visits = session.scalar(select(func.count()).select_from(Visit)) or 0
            audits = session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "visit.create")) or 0
            return visits, audits
    finally:
        engine.dispose()


# --- SQLite -------------------------------------------------------------------------------------

@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_backup_while_writing_then_restore(demo_factory: sessionmaker[Session], db_url: str,
                                                  engine: Engine, tmp_path: Path) -> None:
    visits0, audits0 = _visit_audits(db_url)
    writer = Writer(demo_factory)
    writer.start()
    try:
        while writer.written < 5 and writer.error is None:
            threading.Event().wait(0.01)
        first = backup(db_url, tmp_path / "during.db")
        second = backup(db_url, tmp_path / "during2.db")
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None and writer.written >= 5
    assert first.backend == "sqlite" and first.bytes > 0 and not list(tmp_path.glob("*.partial"))

    for snapshot in (first.path, second.path):
        target = f"sqlite:///{tmp_path / ('restored-' + snapshot.name)}"
        restore(target, snapshot)
        # A consistent snapshot: every visit the writer committed came with its audit row.
        visits, audits = _visit_audits(target)
        assert visits - visits0 == audits - audits0 and visits > visits0
        conn = sqlite3.connect(tmp_path / ("restored-" + snapshot.name))
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()

    # Quiet now: a backup equals its source, row for row.
    quiet = backup(db_url, tmp_path / "quiet.db").path
    restored = f"sqlite:///{tmp_path / 'restored-quiet.db'}"
    result = restore(restored, quiet)
    assert result.revision == current_revision(engine)
    assert counts(restored) == counts(db_url)
    assert checksums(restored) == checksums(db_url)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_restore_refuses_data_and_strangers(demo_factory: sessionmaker[Session], db_url: str, tmp_path: Path,
                                            sqlite_template: Path) -> None:
    dump = backup(db_url, tmp_path / "b.db").path
    # The source holds data: no overwrite without --force.
    with pytest.raises(BackupError, match="--force"):
        restore(db_url, dump)
    # An empty, migrated database is fine (what `crmbot db upgrade` leaves).
    empty = tmp_path / "empty.db"
    shutil.copy(sqlite_template, empty)
    assert tables_with_rows(f"sqlite:///{empty}") == []
    restore(f"sqlite:///{empty}", dump)
    assert counts(f"sqlite:///{empty}") == counts(db_url)

    # Forced over a changed database: the backup's rows come back exactly.
    with transaction(demo_factory) as session:
        session.execute(text("DELETE FROM audit_log"))
    overwritten = checksums(db_url)
    result = restore(db_url, dump, force=True, safety_dir=tmp_path / "data")
    assert checksums(db_url) == checksums(f"sqlite:///{empty}")
    # ...and what it overwrote was kept first, whole.
    assert result.safety_copy is not None and result.safety_copy.parent == tmp_path / "data" / "backups"
    assert result.safety_copy.name.startswith("before-restore-")
    assert checksums(f"sqlite:///{result.safety_copy}") == overwritten
    # An empty target needs no safety copy.
    unused = tmp_path / "unused.db"
    shutil.copy(sqlite_template, unused)
    assert restore(f"sqlite:///{unused}", dump, force=True, safety_dir=tmp_path / "data").safety_copy is None

    stranger = tmp_path / "other.db"
    conn = sqlite3.connect(stranger)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.commit()
    conn.close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    target = f"sqlite:///{tmp_path / 'fresh.db'}"
    with pytest.raises(BackupError, match="alembic_version"):
        restore(target, stranger)
    with pytest.raises(BackupError, match="SQLite"):
        restore(target, garbage)
    with pytest.raises(BackupError, match="找不到"):
        restore(target, tmp_path / "missing.db")
    assert not (tmp_path / "fresh.db").exists() or tables_with_rows(target) == []


def test_restore_migrates_an_old_backup_to_head(tmp_path: Path, sqlite_template: Path) -> None:
    """A backup from before the newest migrations (here: before the first) comes back at head."""
    head = current_revision(make_engine(f"sqlite:///{sqlite_template}"))
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    conn.commit()
    conn.close()
    target = f"sqlite:///{tmp_path / 'new.db'}"
    assert restore(target, old).revision == head
    assert counts(target)["staff"] == 0


def test_cli_backup_and_restore(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
    runner = CliRunner()
    source = tmp_path / "crm.db"
    shutil.copy(sqlite_template, source)
    from crm_store.demo import seed_demo

    engine = make_engine(f"sqlite:///{source}")
    with transaction(session_factory(engine)) as session:
        seed_demo(session, now=NOW)
    engine.dispose()
    monkeypatch.setenv("CRMBOT_DATABASE__URL", f"sqlite:///{source}")
    monkeypatch.setenv("CRMBOT_DATA_DIR", str(tmp_path / "var"))
    done = runner.invoke(app, ["backup", "--out", str(tmp_path / "x.db")])
    assert done.exit_code == 0, done.output
    assert "已备份" in done.output and (tmp_path / "x.db").is_file()
    refused = runner.invoke(app, ["restore", str(tmp_path / "x.db")])
    assert refused.exit_code == 1 and "--force" in refused.output
    forced = runner.invoke(app, ["restore", str(tmp_path / "x.db"), "--force"])
    assert forced.exit_code == 0 and "已恢复" in forced.output
    kept = [p for p in (tmp_path / "var" / "backups").glob("before-restore-*.db")]
    assert len(kept) == 1 and str(kept[0]) in forced.output.replace("\n", "")
    monkeypatch.setenv("CRMBOT_DATABASE__URL", f"sqlite:///{tmp_path / 'copy.db'}")
    assert runner.invoke(app, ["restore", str(tmp_path / "x.db")]).exit_code == 0
    assert counts(f"sqlite:///{tmp_path / 'copy.db'}") == counts(f"sqlite:///{source}")


def test_pg_without_client_tools_prints_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://crm:pa55word@db.example.com:5432/crm"
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(BackupError) as missing:
        backup(url, tmp_path / "x.dump")
    assert missing.value.command == pg_dump_command(url, tmp_path / "x.dump")
    assert "pg_dump -Fc" in missing.value.message and "pa55word" not in missing.value.message
    assert "postgresql://crm@db.example.com:5432/crm" in missing.value.message


# --- PostgreSQL ---------------------------------------------------------------------------------

@pytest.fixture
def spare_pg_url() -> str:
    """A second, empty PostgreSQL database to restore into."""
    name = f"crmbot_restore_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="PostgreSQL client tools not installed")
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_dump_and_restore_round_trip(demo_factory: sessionmaker[Session], db_url: str,
                                                spare_pg_url: str, tmp_path: Path) -> None:
    writer = Writer(demo_factory)
    writer.start()
    try:
        while writer.written < 3 and writer.error is None:
            threading.Event().wait(0.01)
        during = backup(db_url, tmp_path / "during.dump")
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None and during.backend == "postgresql"
    restore(spare_pg_url, during.path)
    visits, audits = _visit_audits(spare_pg_url)
    visits0, audits0 = _visit_audits(db_url)
    assert visits - audits == visits0 - audits0  # pg_dump is one snapshot too

    quiet = backup(db_url, tmp_path / "quiet.dump").path
    with pytest.raises(BackupError, match="--force"):
        restore(spare_pg_url, quiet)
    result = restore(spare_pg_url, quiet, force=True, safety_dir=tmp_path)
    assert result.revision is not None
    assert result.safety_copy is not None and result.safety_copy.suffix == ".dump"
    assert result.safety_copy.stat().st_size > 0  # pg_dump of what was there before
    assert counts(spare_pg_url) == counts(db_url)
    assert checksums(spare_pg_url) == checksums(db_url)
    # Sequences came along: the restored database keeps numbering after the last row.
    engine = make_engine(spare_pg_url)
    actor, customer_id = _rep(session_factory(engine))
    with transaction(session_factory(engine)) as session:
        visit = log_visit(session, actor, customer_id, summary="恢复后", visited_at=NOW, now=NOW)
        assert visit.id > max(session.scalars(select(Visit.id).where(Visit.id != visit.id)))
    engine.dispose()
    with pytest.raises(BackupError, match="alembic_version"):
        not_ours = tmp_path / "random.dump"
        not_ours.write_bytes(b"PGDMP garbage")
        restore(spare_pg_url, not_ours, force=True)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_restore_without_a_safety_copy(demo_factory: sessionmaker[Session], db_url: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_store import backup as module

    dump = backup(db_url, tmp_path / "b.db").path
    with transaction(demo_factory) as session:
        session.execute(text("DELETE FROM audit_log"))
    before = checksums(db_url)

    def disk_full(url: str, out: Path) -> None:
        raise BackupError("磁盘已满")

    monkeypatch.setattr(module, "backup", disk_full)
    with pytest.raises(BackupError, match="没有恢复.*磁盘已满"):
        restore(db_url, dump, force=True, safety_dir=tmp_path)
    assert checksums(db_url) == before  # untouched
