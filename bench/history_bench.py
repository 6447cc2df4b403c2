"""customer_history with 1 000 000 visits: p50/p99 for random customers and pages, SQLite and PostgreSQL.

    python bench/history_bench.py [--visits 1000000] [--customers 2000] [--queries 2000]
                                  [--backends sqlite,postgresql]

The demo data is seeded, `--customers` more customers are added (owned by the three reps), then the
visits are bulk-loaded in one statement (PostgreSQL generate_series, SQLite a recursive CTE, one
transaction each); one customer in ten visits goes to a single "busy" customer (the worst case: ~100 000
visits of its own). Queries call crm_store.services.customer_history as the customer's owner, 5 per page:
"random" = a random customer, one of pages 1-5 (what 更多 reaches in a chat); "busy" = the busiest
customer, pages 1-5; "deep" = a random customer, pages 6-20. Target: p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import load_average, machine_line, percentile, throwaway_pg  # noqa: E402
from crm_store.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from crm_store.demo import seed_demo  # noqa: E402
from crm_store.models import Customer, Staff  # noqa: E402
from crm_store.services import actor_for_staff, customer_history  # noqa: E402

NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")
TARGET_MS = 20.0
PAGE = 5

SQLITE_FILL = """
INSERT INTO visit (customer_id, staff_id, visited_at, summary, created_at)
WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < :n),
     c AS (SELECT id, owner_id, row_number() OVER (ORDER BY id) - 1 AS rn FROM customer)
SELECT CASE WHEN x % 10 = 0 THEN :busy ELSE c.id END, c.owner_id,
       datetime('2023-01-01', '+' || (x * 97 % 1000000) || ' minutes') || '.000000',
       '例行拜访 第' || x || '次，沟通项目进展', '2026-01-01 00:00:00.000000'
FROM seq JOIN c ON c.rn = (x * 7919) % :k
"""

PG_FILL = """
INSERT INTO visit (customer_id, staff_id, visited_at, summary, created_at)
SELECT CASE WHEN x % 10 = 0 THEN :busy ELSE c.id END, c.owner_id,
       TIMESTAMPTZ '2023-01-01 00:00:00+00' + ((x * 97) % 1000000) * INTERVAL '1 minute',
       '例行拜访 第' || x || '次，沟通项目进展', now()
FROM generate_series(1::bigint, :n) AS x
JOIN (SELECT id, owner_id, row_number() OVER (ORDER BY id) - 1 AS rn FROM customer) c ON c.rn = (x * 7919) % :k
"""


@contextmanager
def database(backend: str, workdir: Path) -> Any:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'history.db'}"
    else:
        with throwaway_pg("crmbot_history") as url:
            yield url


def fill(url: str, visits: int, customers: int) -> tuple[float, int]:
    """Demo data + extra customers + bulk visits; returns (seconds, busy customer id)."""
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    started = time.perf_counter()
    with transaction(factory) as session:
        seed_demo(session, now=NOW)
    with transaction(factory) as session:
        reps = [s.id for s in session.scalars(select(Staff).where(Staff.role == "rep").order_by(Staff.id))]
        stamp = "'2026-01-01 00:00:00.000000'" if engine.dialect.name == "sqlite" else "now()"
        series = ("WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < :n) "
                  "SELECT g FROM seq") if engine.dialect.name == "sqlite" else "SELECT generate_series(1, :n) AS g"
        session.execute(text(
            f"INSERT INTO customer (name, lifecycle, owner_id, created_at, updated_at) "
            f"SELECT '基准客户' || g, 'target', CASE g % 3 WHEN 0 THEN :a WHEN 1 THEN :b ELSE :c END, {stamp}, {stamp} "
            f"FROM ({series}) AS s"), {"n": customers, "a": reps[0], "b": reps[1], "c": reps[2]})
        busy = session.scalar(select(Customer.id).where(Customer.name == "华为技术有限公司"))
        k = session.scalar(text("SELECT count(*) FROM customer"))
        if engine.dialect.name == "sqlite":
            session.execute(text(SQLITE_FILL), {"n": visits, "busy": busy, "k": k})
        else:
            session.execute(text("SET LOCAL session_replication_role = replica"))  # no FK triggers for the load
            session.execute(text(PG_FILL), {"n": visits, "busy": busy, "k": k})
    # What autovacuum does to a loaded table sooner or later: statistics, and on PostgreSQL the visibility
    # map, without which count(*) for a busy customer cannot be an index-only scan.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started, int(busy or 0)


def measure(url: str, queries: int, busy: int, seed: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and this thread's CPU time (ms) per call, by kind; CPU time leaves out the database
    server's work and the time this process waited for a core on the shared machine."""
    engine = make_engine(url)
    rng = random.Random(seed)
    timings: dict[str, list[float]] = {"random": [], "busy": [], "deep": []}
    cpu: dict[str, list[float]] = {"random": [], "busy": [], "deep": []}
    with session_factory(engine)() as session:
        customers = [(c.id, c.owner_id) for c in session.scalars(select(Customer))]
        actors = {owner: actor_for_staff(session, owner, "console", None) for _, owner in customers}
        owner_of = dict(customers)
        for _ in range(50):  # warm the caches and the connection
            cid, owner = rng.choice(customers)
            customer_history(session, actors[owner], cid, offset=0, limit=PAGE)
        for i in range(queries):
            kind = "busy" if i % 10 == 0 else "deep" if i % 10 == 1 else "random"
            cid = busy if kind == "busy" else rng.choice(customers)[0]
            offset = PAGE * (rng.randrange(5, 20) if kind == "deep" else rng.randrange(5))
            started, cpu_started = time.perf_counter(), time.thread_time()
            page, total = customer_history(session, actors[owner_of[cid]], cid, offset=offset, limit=PAGE)
            timings[kind].append((time.perf_counter() - started) * 1000)
            cpu[kind].append((time.thread_time() - cpu_started) * 1000)
            session.rollback()  # end the read transaction, like one chat message does
            assert total >= len(page)
    engine.dispose()
    return timings, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=2000, help="customers added to the ~60 demo ones")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(machine_line())
    print("shared machine: other processes run at the same time; the load average is printed with each figure")
    missed = False
    with tempfile.TemporaryDirectory(prefix="crmbot-history-") as tmp:
        for backend in [b for b in args.backends.split(",") if b]:
            with database(backend, Path(tmp)) as url:
                seconds, busy = fill(url, args.visits, args.customers)
                print(f"{backend}: loaded {args.visits:,} visits over {args.customers + 60:,} customers in "
                      f"{seconds:.1f}s (busiest customer: {args.visits // 10:,}+ visits)")
                timings, cpu = measure(url, args.queries, busy, args.seed)
                for kind, values in timings.items():
                    p50, p99 = percentile(values, 50), percentile(values, 99)
                    missed |= p99 >= TARGET_MS
                    print(f"{backend:<10} history {kind:<6}: {len(values)} queries  p50 {p50:6.2f} ms  "
                          f"p99 {p99:6.2f} ms  max {max(values):6.2f} ms  (client CPU p50 "
                          f"{percentile(cpu[kind], 50):5.2f} p99 {percentile(cpu[kind], 99):5.2f} ms)  "
                          f"target p99 < {TARGET_MS:.0f} ms: {'OK' if p99 < TARGET_MS else 'MISSED'}  "
                          f"load average: {load_average()}", flush=True)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
