"""Leader election: exactly one process runs the scheduled jobs.

PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) held on a dedicated connection. When the
leader process dies its connection closes and PostgreSQL frees the lock; a follower retrying every few
seconds takes it. The leader checks its connection each round and steps down if it is gone.
SQLite: one process per database file, so it is always the leader.
"""

from __future__ import annotations

import logging
from typing import Protocol

import psycopg
from sqlalchemy import Engine

log = logging.getLogger(__name__)

# Advisory lock key: "crmbot" as an integer; advisory locks are per database, so databases never collide.
LOCK_KEY = int.from_bytes(b"crmbot", "big")


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class AlwaysLeader:
    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


class PgAdvisoryLock:
    def __init__(self, conninfo: str, key: int = LOCK_KEY) -> None:
        self.conninfo = conninfo
        self.key = key
        self._conn: psycopg.Connection | None = None

    def _connect(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            # Keepalives so a leader cut off by the network notices, and so does the server.
            self._conn = psycopg.connect(
                self.conninfo, autocommit=True, connect_timeout=5,
                keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
                application_name="crmbot-scheduler-leader",
            )
        return self._conn

    def try_acquire(self) -> bool:
        try:
            row = self._connect().execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as exc:
            log.warning("leader lock: cannot reach PostgreSQL: %s", exc)
            self._drop()
            return False
        held = bool(row and row[0])
        if not held:
            self._drop()  # followers keep no idle connection
        return held

    def still_held(self) -> bool:
        if self._conn is None or self._conn.closed:
            return False
        try:
            self._conn.execute("SELECT 1").fetchone()
        except psycopg.Error:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            except psycopg.Error:
                pass
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
        self._conn = None


def lock_for(engine: Engine) -> LeaderLock:
    if engine.dialect.name != "postgresql":
        return AlwaysLeader()
    url = engine.url.set(drivername="postgresql")
    return PgAdvisoryLock(url.render_as_string(hide_password=False))


def current_lock_holder_pid(engine: Engine) -> int | None:
    """The PostgreSQL backend pid holding the leader lock (for status), or None."""
    if engine.dialect.name != "postgresql":
        return None
    hi, lo = LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %(hi)s "
            "AND objid = %(lo)s AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            {"hi": hi, "lo": lo},
        ).scalar()
