"""Before/after: the same end-to-end benchmark (bench/e2e_bench.py) on an older commit and on this tree, in one run.

    python bench/e2e_compare.py [--before 57a7b37] [--messages 48] [--senders 4] [--rounds 1]
                                [--backends sqlite,postgresql] [--paths console,telegram,wechat]

The older commit is checked out once into a git worktree (/tmp/e2e-before-<commit>) and its own
bench/e2e_bench.py runs there in a subprocess with PYTHONPATH set to that tree (its `crmbot run` too);
this tree's bench runs the same way. Each round runs "before" then "after" with the same options, so
both see about the same machine load; with several rounds the order alternates and the best throughput
of each side is kept. Prints, per backend × path × senders, both throughputs with the load average
measured next to each, and the ratio after/before (issue 13: no path may drop by more than 10%).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import NLU_MODEL_PATH, REPO, load_average, machine_line  # noqa: E402

# One figure line of e2e_bench.py (Result.line); the same format in the old and the new bench.
FIGURE = re.compile(r"^(?P<backend>\S+)\s+(?P<path>\S+)\s+senders=(?P<senders>\d+)\s+messages=(?P<messages>\d+)\s+"
                    r"(?P<rate>[\d.]+) msg/s\s+p50\s+(?P<p50>[\d.]+) ms\s+p99\s+(?P<p99>[\d.]+) ms\s+"
                    r"errors=(?P<errors>\d+)\s+load average: (?P<load>.+)$")
ALLOWED_DROP = 0.10


@dataclass
class Figure:
    rate: float
    p50: float
    errors: int
    load: str


def worktree(commit: str) -> Path:
    """A checkout of `commit` beside this repository (made once, reused by later runs)."""
    path = Path(f"/tmp/e2e-before-{commit}")
    if not (path / "bench" / "e2e_bench.py").is_file():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
    return path


def swap_model(label: str, *, save: bool) -> None:
    """Both sides read the NLU model from bench.common's NLU_MODEL_PATH, but their model formats may differ
    (each side retrains a model it cannot read). Each side's own trained model is kept beside it and put
    in place before that side runs, so neither retrains the other's (training is not measured, but costs
    a shared machine 20-40 s of CPU each time)."""
    shared = Path(NLU_MODEL_PATH)
    kept = Path(f"/tmp/crmbot-e2e-compare-nlu/{label}.pkl")
    source, target = (shared, kept) if save else (kept, shared)
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(source, partial)
        partial.replace(target)  # atomic: a concurrent reader never sees half a file


def run_bench(tree: Path, args: list[str], label: str) -> dict[tuple[str, str, int], Figure]:
    """Run tree/bench/e2e_bench.py with that tree first on the path; its figure lines, echoed as they come."""
    swap_model(label, save=False)
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "bench/e2e_bench.py", *args], cwd=tree, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    figures: dict[tuple[str, str, int], Figure] = {}
    assert process.stdout is not None
    for line in process.stdout:
        print(f"  [{label}] {line.rstrip()}", flush=True)
        match = FIGURE.match(line.strip())
        if match:
            key = (match["backend"], match["path"], int(match["senders"]))
            figures[key] = Figure(float(match["rate"]), float(match["p50"]), int(match["errors"]), match["load"])
    process.wait()
    swap_model(label, save=True)
    if process.returncode not in (0, 1):  # 1: some message failed; the figures say how many
        raise RuntimeError(f"{label}: bench/e2e_bench.py exited with {process.returncode}")
    return figures


def best(runs: list[dict[tuple[str, str, int], Figure]]) -> dict[tuple[str, str, int], Figure]:
    kept: dict[tuple[str, str, int], Figure] = {}
    for run in runs:
        for key, figure in run.items():
            if key not in kept or figure.rate > kept[key].rate:
                kept[key] = figure
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="57a7b37", help="the commit to compare against")
    ap.add_argument("--messages", type=int, default=48, help="messages per configuration")
    ap.add_argument("--senders", default="4")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--paths", default="console,telegram,wechat")
    ap.add_argument("--rounds", type=int, default=1, help="before/after pairs; the best of each side is kept")
    ap.add_argument("--after-args", default="", help="extra options for this tree's e2e_bench.py only, "
                    "e.g. \"--outbox-rate 1000\" (the older bench may not know them)")
    args = ap.parse_args()
    bench_args = ["--messages", str(args.messages), "--senders", args.senders, "--backends", args.backends,
                  "--paths", args.paths]
    after_args = bench_args + args.after_args.split()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    after_label = f"{head.stdout.strip()}{' + changes' if dirty else ''}"
    before_tree = worktree(args.before)
    print(machine_line())
    print(f"before = {args.before} ({before_tree}), after = {after_label} ({REPO}) {args.after_args}; "
          f"{args.messages} messages × senders {args.senders}, {args.rounds} round(s)")
    before_runs, after_runs = [], []
    for number in range(args.rounds):
        sides = [("before", before_tree, before_runs, bench_args), ("after", REPO, after_runs, after_args)]
        for label, tree, runs, options in sides if number % 2 == 0 else reversed(sides):
            runs.append(run_bench(tree, options, label))
    before, after = best(before_runs), best(after_runs)

    print()
    print(f"{'backend':<10} {'path':<8} {'senders':>7}  {'before msg/s':>12} {'(load)':<16}  "
          f"{'after msg/s':>11} {'(load)':<16}  ratio")
    worst = None
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        ratio = new.rate / old.rate if old and new and old.rate else None
        if ratio is not None and (worst is None or ratio < worst[1]):
            worst = (key, ratio)
        flag = "  < -10%" if ratio is not None and ratio < 1 - ALLOWED_DROP else ""
        errors = "".join(f"  {side} errors={f.errors}" for side, f in (("before", old), ("after", new))
                         if f and f.errors)
        print(f"{key[0]:<10} {key[1]:<8} {key[2]:>7}  "
              f"{old.rate if old else float('nan'):>12.1f} ({old.load if old else '-':<14})  "
              f"{new.rate if new else float('nan'):>11.1f} ({new.load if new else '-':<14})  "
              f"{ratio if ratio is not None else float('nan'):5.2f}{flag}{errors}")
    if worst is not None:
        print(f"lowest ratio: {worst[1]:.2f} ({' '.join(map(str, worst[0]))}); "
              f"issue 13 allows {1 - ALLOWED_DROP:.2f}")
    print(f"done; load average now {load_average()}")


if __name__ == "__main__":
    main()
