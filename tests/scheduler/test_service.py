"""The running scheduler: APScheduler with its job store in the CRM database, leader election, delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select, text

from crm_store.db import make_engine, session_factory, transaction
from crm_store.models import OutboxMessage, Reminder, SchedulerNode
from crmbot.wiring import Runtime
from scheduler import start_scheduler
from scheduler.clock import FakeClock
from scheduler.service import JOBSTORE_TABLE
from tests.scheduler.conftest import NOW, World

REPO = Path(__file__).resolve().parents[2]


def _wait_for(predicate, timeout: float = 20.0, step: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def test_scheduler_catches_up_and_delivers(world: World, engine, factory, config, senders) -> None:
    config.scheduler.poll_seconds = 0.1
    config.scheduler.leader_retry_seconds = 0.2
    with transaction(factory) as s:
        s.add(Reminder(staff_id=world.rep.id, customer_id=world.customer.id, due_at=NOW - timedelta(minutes=5),
                       text="回访华为", status="pending", created_at=NOW - timedelta(days=1)))
    clock = FakeClock(NOW)
    service = start_scheduler(Runtime(config, engine, factory), senders, clock=clock)
    try:
        # Started after the reminder was due: it is sent at once (catch-up), through the outbox, once.
        _wait_for(lambda: senders["telegram"].sent)
        assert service.is_leader
        with engine.connect() as conn:
            jobs = set(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
        assert jobs == {"due_reminders", "digest", "dormant", "member_care", "escalation", "weekly_report", "housekeeping"}
        with factory() as s:
            node = s.scalar(select(SchedulerNode))
            assert node.is_leader and node.node_id == service.node_id
        time.sleep(0.5)
        assert [r.text.splitlines()[0] for _, r in senders["telegram"].sent] == ["该跟进华为了：回访华为"]
    finally:
        service.shutdown()
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(SchedulerNode)) == 0
    # Down over the daily care run: a restart keeps the stored jobs and runs the missed one once (coalesced).
    # (world.member's membership ends 30 days after NOW.)
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)
    store.start(BackgroundScheduler(timezone=config.tz), "default")
    job = store.lookup_job("member_care")
    job.next_run_time = datetime.now(UTC) - timedelta(hours=1)
    store.update_job(job)
    service = start_scheduler(Runtime(config, engine, factory), senders, clock=clock)
    try:
        _wait_for(lambda: service.is_leader)
        assert {j.id for j in service.apscheduler.get_jobs()} == jobs
        _wait_for(lambda: len(senders["wechat"].sent) >= 2)
        time.sleep(0.5)
        texts = [r.text for _, r in senders["wechat"].sent]  # expiry in 30 days, and it is her birthday
        assert len(texts) == 2
        assert any("生日快乐" in t for t in texts) and any("还有30天" in t for t in texts)
        assert service.apscheduler.get_job("member_care").next_run_time.timestamp() > time.time()
    finally:
        service.shutdown()


def _spawn(url: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "tests.scheduler.proc_main", url, str(log)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_two_processes_one_leader_failover_nothing_twice(world: World, pg_url: str, db_url: str,
                                                          tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("leader election across processes is a PostgreSQL feature; SQLite runs one process")
    engine = make_engine(pg_url)
    factory = session_factory(engine)
    log = tmp_path / "sent.log"
    now = datetime.now(UTC)

    def add_reminders(prefix: str, count: int) -> None:
        with transaction(factory) as s:
            for i in range(count):
                s.add(Reminder(staff_id=world.rep.id, due_at=now - timedelta(seconds=1), text=f"{prefix}{i}",
                               status="pending", created_at=now))

    def leaders() -> list[SchedulerNode]:
        with factory() as s:
            fresh = datetime.now(UTC) - timedelta(seconds=3)
            return list(s.scalars(select(SchedulerNode).where(SchedulerNode.is_leader.is_(True),
                                                              SchedulerNode.heartbeat_at >= fresh)))

    procs = [_spawn(pg_url, log), _spawn(pg_url, log)]
    try:
        _wait_for(lambda: len(leaders()) == 1 and _live_nodes(factory) == 2, timeout=40)
        time.sleep(1.5)  # a few more election rounds: still exactly one leader
        [leader] = leaders()
        assert _live_nodes(factory) == 2
        add_reminders("第一批", 20)
        _wait_for(lambda: _sent_count(log) >= 20)

        victim = next(p for p in procs if p.pid == leader.pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed_at = time.monotonic()
        _wait_for(lambda: [n.pid for n in leaders()] == [p.pid for p in procs if p is not victim], timeout=15)
        takeover = time.monotonic() - killed_at
        assert takeover < 10, f"takeover took {takeover:.1f}s"

        add_reminders("第二批", 20)
        _wait_for(lambda: _sent_count(log) >= 40)
        time.sleep(2)  # give any duplicate the chance to show up
        lines = log.read_text(encoding="utf-8").splitlines()
        texts = Counter(line.split("\t")[2] for line in lines)
        assert len(texts) == 40 and set(texts.values()) == {1}, texts
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(Reminder).where(Reminder.status != "sent")) == 0
            statuses = Counter(s.scalars(select(OutboxMessage.status)))
        assert statuses == {"sent": 40}
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        engine.dispose()


def _live_nodes(factory) -> int:  # type: ignore[no-untyped-def]
    with factory() as s:
        fresh = datetime.now(UTC) - timedelta(seconds=3)
        return s.scalar(select(func.count()).select_from(SchedulerNode).where(SchedulerNode.heartbeat_at >= fresh))


def _sent_count(log: Path) -> int:
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


def test_advisory_lock_is_exclusive_and_freed_when_the_connection_dies(pg_url: str) -> None:
    from scheduler.leader import PgAdvisoryLock

    first, second = PgAdvisoryLock(pg_url, key=4242), PgAdvisoryLock(pg_url, key=4242)
    try:
        assert first.try_acquire() and first.still_held()
        assert not second.try_acquire()
        # The leader's connection is cut (process killed, network gone): PostgreSQL frees the lock.
        admin = make_engine(pg_url)
        with admin.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE application_name = 'crmbot-scheduler-leader' AND pid <> pg_backend_pid() "
                              "AND datname = current_database()"))
        admin.dispose()
        assert not first.still_held()  # the old leader notices and steps down
        assert _wait_for(second.try_acquire, timeout=5)
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()
