"""Per-message cost of the dialog engine: SQL statements, round trips, CPU and wall time per message.

    python bench/message_cost.py [--before a618856] [--cycles 10] [--customers 0,100000]
                                 [--backend postgresql] [--only-after]

The six messages of issue 16, repeated `--cycles` times after one warm-up cycle (rep 张伟, manager 陈静):
a visit, its 确认, a history question, an order (under 10万 and above 8折: one approval), its 确认, and
the manager's 同意 SO… (what the button of the approval notice types).
Each goes through `DialogEngine.handle` with a message id (so the dedup mark is paid too), in this process,
one thread, a fixed clock advancing one minute per message. Statements are counted with SQLAlchemy's
`before_cursor_execute` event; round trips add COMMIT / ROLLBACK. CPU is this process's CPU time
(`time.process_time`) around the call, next to the wall time.

`--customers 0,100000` runs the demo company as seeded (~60 customers) and the same company with 100,000
more customers (random Chinese company names, other reps' customers), to show whether the per-message
cost grows with the company.

Before/after in one run: the same script runs in a subprocess against an older commit (a git worktree
in /tmp/e2e-before-<commit>, like bench/e2e_compare.py, with PYTHONPATH set to that tree) and against
this tree, alternating, each on a fresh throw-away database. The NLU model is bench.common's cached one
(trained once if missing).

Looking closer (one tree, `--worker` runs): CRMBOT_BENCH_TRACE=1 prints every statement of the first measured
round; CRMBOT_BENCH_PROFILE=cumulative|tottime prints a CPU profile (CRMBOT_BENCH_PROFILE_FILTER=dialogs …).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
MESSAGES = [
    ("张伟", "今天下午拜访了{c}，聊了新项目，预计下周三报价"),
    ("张伟", "确认"),
    ("张伟", "{c}最近怎么样了"),
    ("张伟", "给{c}下单，服务器2台，单价4.2万"),
    ("张伟", "确认"),
    ("陈静", "同意 {order}"),  # what the approval notice's button types
]
LABELS = ["visit", "visit 确认", "history", "order", "order 确认", "manager 同意"]
START = datetime.fromisoformat("2026-11-27T10:00:00+08:00")
RESULT = "RESULT "
ORDER_NO = re.compile(r"SO\d{11}")


# --- worker: runs inside the tree being measured ---------------------------------------------------


def _company_names(count: int, seed: int = 16) -> list[str]:
    """Plausible, mostly distinct Chinese company names (city + two-word brand + industry + suffix)."""
    rng = random.Random(seed)
    cities = "北京 上海 广州 深圳 杭州 南京 苏州 成都 重庆 武汉 西安 天津 青岛 宁波 厦门 长沙 郑州 合肥 济南 福州".split()
    parts = ("华 盛 达 信 恒 瑞 泰 安 鑫 宏 创 智 远 博 联 通 汇 金 源 德 新 宇 天 海 嘉 和 中 东 兴 隆 永 昌 "
             "明 光 辉 星 锦 丰 科 能").split()
    trades = "科技 医药 物流 电子 建材 食品 能源 贸易 制造 软件 化工 纺织 传媒 环保 机械 汽车 地产 农业 家居 教育".split()
    suffixes = ["有限公司", "股份有限公司", "集团", "实业有限公司"]
    names: set[str] = set()
    while len(names) < count:
        brand = rng.choice(parts) + rng.choice(parts) + (rng.choice(parts) if rng.random() < 0.3 else "")
        names.add(rng.choice(cities) + brand + rng.choice(trades) + rng.choice(suffixes))
    return sorted(names)


def _add_customers(runtime: Any, count: int) -> None:
    """`count` more customers owned by the other reps (张伟's own list, and so his replies, stay the same)."""
    from sqlalchemy import insert, select

    from crm_store.db import transaction
    from crm_store.models import Customer, Staff

    with transaction(runtime.factory) as session:
        owners = list(session.scalars(select(Staff.id).where(Staff.name.in_(["李娜", "王强"]))))
        at = START - timedelta(days=30)
        rows = [{"name": name, "owner_id": owners[i % len(owners)], "lifecycle": "prospect",
                 "created_at": at, "updated_at": at} for i, name in enumerate(_company_names(count))]
        for first in range(0, len(rows), 5000):
            session.execute(insert(Customer), rows[first : first + 5000])


def _targets(runtime: Any) -> list[str]:
    """张伟's customers, by their shortest name (what a rep types), skipping ones the NLU may read as two."""
    from sqlalchemy import select

    from crm_store.db import transaction
    from crm_store.models import Customer, Staff

    with transaction(runtime.factory) as session:
        owner = session.scalar(select(Staff.id).where(Staff.name == "张伟"))
        rows = session.scalars(select(Customer).where(Customer.owner_id == owner).order_by(Customer.id)).all()
        names = [min([a.alias for a in c.aliases] + [c.name], key=len) for c in rows]
    return [n for n in names if not n.startswith("华润")]


def worker(url: str, customers: int, cycles: int, model_path: str) -> dict[str, Any]:
    from sqlalchemy import event

    from crm_store import services
    from crm_store.db import transaction
    from crmbot.config import Config
    from crmbot.wiring import build_dialogs, open_database, seed_demo_if_empty
    from dialogs.messages import INTERNAL_ERROR

    config = Config.model_validate({"database": {"url": url}, "nlu": {"model_path": model_path}})
    runtime = open_database(config)
    seed_demo_if_empty(runtime, START)
    if customers:
        _add_customers(runtime, customers)
    with transaction(runtime.factory) as session:
        for name in ("张伟", "陈静"):
            staff = services.find_staff(session, name)
            services.bind_identity(session, "console", f"bench-{name}", staff_id=staff.id, now=START)
    targets = _targets(runtime)
    clock = [START]
    dialogs = build_dialogs(runtime, clock=lambda: clock[0], train_if_missing=True)

    counts = {"statements": 0, "round_trips": 0}

    trace = os.environ.get("CRMBOT_BENCH_TRACE") == "1"

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counts["statements"] += 1
        counts["round_trips"] += 1
        if trace and cycle == 1:
            print("    SQL " + " ".join(statement.split())[:160], file=sys.stderr)

    def on_end(*_: Any) -> None:
        counts["round_trips"] += 1

    event.listen(runtime.engine, "before_cursor_execute", on_statement)
    event.listen(runtime.engine, "commit", on_end)
    event.listen(runtime.engine, "rollback", on_end)

    per: list[dict[str, list[float]]] = [{"statements": [], "round_trips": [], "cpu": [], "wall": []}
                                         for _ in MESSAGES]
    sample: list[str] = []
    number = 0
    profile = None
    if os.environ.get("CRMBOT_BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile(time.process_time)  # CPU, not the wait for the server
    cycle = 0
    for cycle in range(cycles + 1):
        if cycle == 1 and profile is not None:
            profile.enable()  # cycle 0 warms up (first names load, first statements compiled)
        customer = targets[cycle % len(targets)]
        order = ""
        for index, (who, template) in enumerate(MESSAGES):
            number += 1
            clock[0] = START + timedelta(minutes=number)
            text = template.format(c=customer, order=order)
            counts["statements"] = counts["round_trips"] = 0
            if trace and cycle == 1:
                print(f"--- {who}: {text}", file=sys.stderr)
            cpu, wall = time.process_time(), time.perf_counter()
            replies = dialogs.handle("console", f"bench-{who}", text, message_id=f"m{number}")
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            answer = " / ".join(r.text for r in replies)
            found = ORDER_NO.search(answer)
            order = found.group(0) if found else order
            if any(r.text == INTERNAL_ERROR for r in replies):
                raise RuntimeError(f"{text!r} answered INTERNAL_ERROR")
            if cycle == 1:
                sample.append(f"{who}: {text} -> {answer[:70]!r}")
            if cycle == 0:
                continue
            row = per[index]
            row["statements"].append(counts["statements"])
            row["round_trips"].append(counts["round_trips"])
            row["cpu"].append(cpu * 1000)
            row["wall"].append(wall * 1000)
    runtime.engine.dispose()
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile, stream=sys.stderr).sort_stats(os.environ["CRMBOT_BENCH_PROFILE"]).print_stats(os.environ.get("CRMBOT_BENCH_PROFILE_FILTER", ""), 45)

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    messages = [{"label": LABELS[i], **{k: mean(v) for k, v in row.items()}} for i, row in enumerate(per)]
    total = {k: mean([m[k] for m in messages]) for k in ("statements", "round_trips", "cpu", "wall")}
    return {"customers": customers, "cycles": cycles, "messages": messages, "mean": total, "sample": sample,
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def worker_main(args: argparse.Namespace) -> None:
    from bench.common import throwaway_pg

    if args.backend == "postgresql":
        with throwaway_pg("crmbot_cost") as url:
            result = worker(url, args.customers_one, args.cycles, args.model)
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            result = worker(f"sqlite:///{folder}/cost.db", args.customers_one, args.cycles, args.model)
    print(RESULT + json.dumps(result, ensure_ascii=False), flush=True)


# --- driver: before/after in subprocesses ----------------------------------------------------------


def run_side(tree: Path, label: str, customers: int, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(HERE), "--worker", "--tree", str(tree), "--customers-one", str(customers),
               "--cycles", str(args.cycles), "--backend", args.backend, "--model", args.model]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{label} ({customers} customers) failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(lines[-1][len(RESULT):])


def show(label: str, result: dict[str, Any]) -> None:
    extra = f"+{result['customers']:,} customers" if result["customers"] else "demo (~60 customers)"
    print(f"\n[{label}] {extra}, {result['cycles']} cycles, load average {result['load']}")
    print(f"  {'message':<14} {'statements':>10} {'round trips':>11} {'CPU ms':>8} {'wall ms':>8}")
    for m in result["messages"] + [{"label": "mean", **result["mean"]}]:
        print(f"  {m['label']:<14} {m['statements']:>10.1f} {m['round_trips']:>11.1f} {m['cpu']:>8.2f} "
              f"{m['wall']:>8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="a618856", help="the commit to compare against")
    ap.add_argument("--cycles", type=int, default=10, help="measured rounds of the six messages")
    ap.add_argument("--customers", default="0,100000", help="extra customers per run, comma-separated")
    ap.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    ap.add_argument("--only-after", action="store_true", help="measure this tree only")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tree", default=str(HERE.parent.parent), help=argparse.SUPPRESS)
    ap.add_argument("--customers-one", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--model", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, args.tree)
    if args.worker:
        worker_main(args)
        return

    from bench.common import NLU_MODEL_PATH, REPO, ensure_model, load_average, machine_line
    from bench.e2e_compare import worktree

    args.model = args.model or NLU_MODEL_PATH
    ensure_model(args.model)
    print(machine_line())
    sides = [("after", REPO)] if args.only_after else [("before", worktree(args.before)), ("after", REPO)]
    print(f"backend {args.backend}; " + ", ".join(f"{label} = {tree}" for label, tree in sides)
          + (f" (before = {args.before})" if not args.only_after else ""))
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for number, customers in enumerate(int(c) for c in args.customers.split(",")):
        for label, tree in sides if number % 2 == 0 else list(reversed(sides)):
            results[(label, customers)] = result = run_side(tree, label, customers, args)
            show(label, result)
            if number == 0 and label == sides[-1][0]:
                print("  sample replies:\n    " + "\n    ".join(result["sample"]))

    print(f"\nsummary, mean of the six messages ({args.backend}):")
    print(f"  {'side':<7} {'customers':>10} {'statements':>10} {'round trips':>11} {'CPU ms':>8} {'wall ms':>8}"
          f"  {'CPU vs demo':>11}")
    for label, _ in sides:
        base = results.get((label, 0))
        for (side, customers), result in results.items():
            if side != label:
                continue
            m = result["mean"]
            ratio = f"{m['cpu'] / base['mean']['cpu']:.2f}×" if base and customers else ""
            print(f"  {label:<7} {customers:>10,} {m['statements']:>10.1f} {m['round_trips']:>11.1f} "
                  f"{m['cpu']:>8.2f} {m['wall']:>8.2f}  {ratio:>11}   (load {result['load']})")
    print(f"done; load average now {load_average()}")


if __name__ == "__main__":
    main()
