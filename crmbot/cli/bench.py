"""`crmbot bench [NAME|all]`: run the benchmarks under bench/ as subprocesses and show their output.

Not run by the test suite (minutes of CPU; figures belong in bench/RESULTS.md).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import typer

from crmbot.cli import BENCH_CONTEXT  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parents[2]

# name -> (script, arguments for --quick)
BENCHES: dict[str, tuple[str, list[str]]] = {
    "nlu": ("bench/nlu_bench.py", ["--n", "2000"]),
    "multi": ("bench/multi_bench.py", ["--n", "500"]),
    "e2e": ("bench/e2e_bench.py", ["--quick"]),
    "history": ("bench/history_bench.py", ["--visits", "100000", "--queries", "500"]),
    "scheduler": ("bench/scheduler_bench.py", ["--members", "100000"]),
    "scale": ("bench/scale_out.py", ["--users", "5", "--rounds", "2", "--reminders", "6"]),
    "workers": ("bench/workers_bench.py", ["--senders", "8", "--rounds", "2", "--messages", "128", "--repeat", "1"]),
    "cost": ("bench/message_cost.py", ["--only-after", "--customers", "0", "--cycles", "3"]),
}
UNKNOWN = "未知的基准测试 / unknown benchmark: {name}（可选 / choose: {names}, all）"
HEADER = "=== {name}: {command}"
FOOTER = "=== {name}: {status} in {seconds:.0f}s"


def bench_command(
    ctx: typer.Context,
    name: str = typer.Argument("all", help="nlu | multi | e2e | history | scheduler | scale | workers | cost | all"),
    quick: bool = typer.Option(False, "--quick", help="smaller sizes, for a smoke run (figures not comparable)"),
) -> None:
    """运行性能基准（输出含机器信息与负载）/ run the benchmarks and print their figures.

    Extra arguments go to the script, e.g. `crmbot bench e2e --senders 1,4`.
    """
    names = list(BENCHES) if name == "all" else [name]
    if any(n not in BENCHES for n in names):
        typer.echo(UNKNOWN.format(name=name, names=", ".join(BENCHES)), err=True)
        raise typer.Exit(2)
    failed = []
    for bench in names:
        script, quick_args = BENCHES[bench]
        command = [sys.executable, script, *(quick_args if quick else []), *ctx.args]
        typer.echo(HEADER.format(name=bench, command=" ".join(["python", *command[1:]])))
        started = time.monotonic()
        code = subprocess.call(command, cwd=REPO)  # output goes straight to the terminal
        status = "OK" if code == 0 else f"exit {code}"
        typer.echo(FOOTER.format(name=bench, status=status, seconds=time.monotonic() - started))
        if code != 0:
            failed.append(bench)
    if failed:
        raise typer.Exit(1)
