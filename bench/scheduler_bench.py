"""Scheduler benchmark on PostgreSQL: daily expiry scan + enqueue over 1 000 000 members, outbox throughput.

Usage: python bench/scheduler_bench.py [--members 1000000] [--workers 1,2] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
Creates a throw-away database, fills it with generate_series, runs, prints figures and machine info, drops it.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_model, load_average  # noqa: E402
from crm_store.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from crm_store.services import member_care  # noqa: E402
from crmbot.config import Config  # noqa: E402
from dialogs.reply import Reply  # noqa: E402
from scheduler.clock import SystemClock  # noqa: E402
from scheduler.notifier import Notifier  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


class NullSender:
    channel = "wechat"

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def send(self, external_id: str, reply: Reply, options: dict | None = None) -> None:
        with self._lock:
            self.count += 1


def fill(conn: psycopg.Connection, members: int) -> None:
    # Expiry dates spread over the next two years, birthdays over the calendar, 2 % opted out.
    conn.execute(
        """
        INSERT INTO member (member_no, name, tier, points, total_spent, joined_at, expires_at, birthday,
                            store, opted_out, created_at)
        SELECT 'M' || lpad(g::text, 8, '0'), '会员' || g, (ARRAY['普通','银卡','金卡'])[1 + g %% 3], g %% 5000, 0,
               DATE '2024-01-01' + (g %% 700), DATE '2026-11-27' + (g %% 730), DATE '1970-01-01' + (g %% 15000),
               '南京西路店', g %% 50 = 0, now()
        FROM generate_series(1, %s) AS g
        """,
        (members,),
    )
    conn.execute("ANALYZE member")


def machine() -> str:
    cpu = cpu_model()
    mem = ""
    try:
        total = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        mem = f", {int(total.split()[1]) // 1024 // 1024} GiB RAM"
    except (OSError, StopIteration):
        pass
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores{mem}, "
            f"Python {platform.python_version()}, load average {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2", help="notifier threads to try, comma separated")
    parser.add_argument("--pg", default=os.environ.get("CRMBOT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    name = f"crmbot_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(args.pg, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rpartition("/")[0] + "/" + name
    engine = make_engine(url)
    try:
        upgrade(engine)
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            started = time.perf_counter()
            fill(conn, args.members)
            fill_s = time.perf_counter() - started
        print(f"machine: {machine()}, PostgreSQL {version}")
        print(f"members: {args.members:,} inserted in {fill_s:.1f}s (generate_series)")

        factory = session_factory(engine)
        now = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
        care_config = Config()
        days = care_config.rules.reminders.member_expiry_days_before
        started = time.perf_counter()
        with transaction(factory) as session:
            added = member_care.expiry_care(session, now, rules=care_config.rules, tz=care_config.tz)
        scan_s = time.perf_counter() - started
        print(f"expiry scan ({'/'.join(map(str, days))} days) + enqueue: {added:,} messages in {scan_s:.2f}s "
              f"(target < 10 s)")
        started = time.perf_counter()
        with transaction(factory) as session:
            again = member_care.expiry_care(session, now, rules=care_config.rules, tz=care_config.tz)
        print(f"rerun same day (idempotent): {again} new messages in {time.perf_counter() - started:.2f}s")
        started = time.perf_counter()
        with transaction(factory) as session:
            birthdays = member_care.birthday_care(session, now, rules=care_config.rules, tz=care_config.tz)
        print(f"birthday scan: {birthdays:,} messages in {time.perf_counter() - started:.2f}s")

        with psycopg.connect(url, autocommit=True) as conn:  # every queued member has a WeChat account
            conn.execute(
                "INSERT INTO chat_identity (channel, external_id, member_id, bound_at) "
                "SELECT DISTINCT 'wechat', 'wx' || recipient_member_id, recipient_member_id, now() FROM outbox"
            )
        total = added + birthdays
        for workers in [int(w) for w in args.workers.split(",") if w]:
            with psycopg.connect(url, autocommit=True) as conn:  # same messages again for each run
                conn.execute("UPDATE outbox SET status='pending', attempts=0, claimed_by=NULL, claimed_at=NULL, "
                             "sent_at=NULL, next_attempt_at=%s", (now,))
            config = Config.model_validate({"scheduler": {"batch_size": 200, "default_rate_per_second": 1e9}})
            sender = NullSender()
            clock = SystemClock(TZ)
            clock.now = lambda: now  # type: ignore[method-assign]  # daytime: no quiet-hours deferral

            def work(worker: int, sender: NullSender = sender, config: Config = config, clock: SystemClock = clock) -> None:
                notifier = Notifier(factory, {"wechat": sender}, config.scheduler, TZ, clock=clock,
                                    worker_id=f"bench-{worker}")
                while notifier.deliver_once().claimed:
                    pass

            started = time.perf_counter()
            threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            print(f"outbox delivery, {workers} worker(s): {sender.count:,}/{total:,} messages in {elapsed:.2f}s "
                  f"= {sender.count / elapsed:,.0f} msg/s (fake channel, no rate limit)")
    finally:
        engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
