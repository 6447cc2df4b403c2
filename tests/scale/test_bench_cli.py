"""`crmbot bench`: the command is wired to scripts that exist; it refuses unknown names. (The benchmarks
themselves are not run by the suite.)"""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from crmbot.cli.bench import BENCH_CONTEXT, BENCHES, REPO, bench_command


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("bench", context_settings=BENCH_CONTEXT)(bench_command)
    app.command("noop")(lambda: None)  # two commands, so "bench" stays a sub-command as in crmbot
    return app


def test_every_benchmark_script_exists() -> None:
    for script, _ in BENCHES.values():
        assert (REPO / script).is_file(), script


def test_unknown_benchmark_is_refused() -> None:
    result = CliRunner().invoke(_app(), ["bench", "nosuch"])
    assert result.exit_code == 2
    assert "nosuch" in result.output and "history" in result.output
