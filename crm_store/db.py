"""Engines, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, echo: bool = False, pool_size: int = 5) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # No ping before every checkout (a round trip per transaction): a connection the server dropped
    # fails once, is invalidated, and the caller's retry gets a fresh one (see `retry_on_disconnect`).
    # LIFO: a quiet server keeps reusing its few warm connections (their statements already prepared)
    # instead of cycling through the whole pool.
    return create_engine(url, echo=echo, pool_pre_ping=False, pool_size=pool_size, pool_use_lifo=True)


_SIDE_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_SIDE_LOCK = threading.Lock()


def autocommit_engine(engine: Engine) -> Engine:
    """A small pool of autocommit connections beside `engine`'s, for a statement that must commit at once
    while the caller's transaction stays open (a counter's next value). Its own pool: a caller already
    holding one of the main pool's connections never waits for a second one from that pool. Disposed
    with `engine`."""
    with _SIDE_LOCK:
        side = _SIDE_ENGINES.get(engine)
        if side is None:
            side = create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8,
                                 pool_pre_ping=False)
            _SIDE_ENGINES[engine] = side
            event.listen(engine, "engine_disposed", lambda _engine: side.dispose())
        return side


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy issue BEGIN itself (pysqlite's own implicit BEGIN is deferred, see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:  # type: ignore[no-untyped-def]
    """Take the write lock at BEGIN. A deferred transaction that reads and then writes cannot wait for
    another writer (SQLite answers 'database is locked' at once, busy_timeout or not); an immediate one
    queues behind it for up to busy_timeout. This is SQLAlchemy's documented pysqlite recipe."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def retry_on_disconnect(work: Callable[[], T], attempts: int = 2) -> T:
    """Run `work` (one whole transaction) again when its connection turned out to be dead (a database
    restart): SQLAlchemy has invalidated it, and the next checkout connects afresh."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == attempts:
                raise
    raise AssertionError("unreachable")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def one_statement(factory: sessionmaker[Session]) -> Iterator[Session]:
    """For work that is a single statement (the inbox's accept): it commits on its own, without the BEGIN and
    COMMIT round trips of a transaction (on PostgreSQL, 2 of a chat message's 11 statements). Each
    statement is durable when it returns; do not use it for work that must commit together.
    SQLite: an ordinary transaction (its BEGIN IMMEDIATE, which takes the write lock, would stay open)."""
    if factory.kw["bind"].dialect.name == "sqlite":
        with transaction(factory) as session:
            yield session
        return
    session = factory()
    try:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
    finally:
        session.close()


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
