"""CPU cost of starting the `crmbot` command: `--help` and a few sub-command helps.

Each case runs in a fresh child interpreter that measures its own CPU time (time.process_time) from just
before importing crmbot.cli to exit, so the figure is the command's own start-up cost, not the
interpreter's. Target (issue 18): `crmbot --help` <= 0.7 s CPU.

    python bench/cli_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import cpu_model, load_average  # noqa: E402

CHILD = """
import atexit, contextlib, io, sys, time
started = time.process_time()
atexit.register(lambda: print(f"CPU {time.process_time() - started:.4f}", file=sys.__stderr__))
sys.argv = ["crmbot", *sys.argv[1:]]
with contextlib.redirect_stdout(io.StringIO()):
    from crmbot.cli import main
    main()
"""
CASES = (["--help"], ["db", "--help"], ["nlu", "--help"], ["export", "--help"], ["version"])


def cpu_seconds(args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, cwd=REPO, capture_output=True, text=True)
    line = [x for x in done.stderr.splitlines() if x.startswith("CPU ")]
    if not line:
        raise SystemExit(f"crmbot {' '.join(args)} failed:\n{done.stderr}")
    return float(line[-1].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"cpu: {cpu_model()}  cores: {os.cpu_count()}  load average: {load_average()}")
    for case in CASES:
        runs = [cpu_seconds(case) for _ in range(args.repeat)]
        print(f"crmbot {' '.join(case):<16} CPU median {statistics.median(runs):.3f} s  "
              f"(min {min(runs):.3f}, max {max(runs):.3f}, n={len(runs)})")


if __name__ == "__main__":
    main()
