"""Two `crmbot run` processes behind one PostgreSQL, one SIGKILLed mid-load (bench/scale_out.py, small size):
every message processed once and answered the same everywhere, no push or reminder sent twice, and the
database consistent afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scale_out import _consistent, run_scenario
from tests.conftest import PG_ADMIN_URL


@pytest.mark.slow
def test_two_processes_one_killed(tmp_path: Path) -> None:
    # The NLU model is cached in bench.common.NLU_MODEL_PATH (trained on first use, retrained when stale).
    report = run_scenario(users=5, rounds=2, reminders=6, seed=3, workdir=tmp_path, admin_url=PG_ADMIN_URL, settle_timeout=60)
    assert report["problems"] == [], report
    assert report["killed"] is not None and report["killed"]["was_leader"], report["killed"]
    assert report["processed_rows"] == report["messages"] > 30
    assert report["retries_sent"] > 0
    assert report["reminders"] == 6
    assert report["settled"] == {"reminders_pending": 0, "outbox_busy": 0, "inbox_unfinished": 0}
    assert report["inbox"] == {"done": report["messages"]}
    assert report["reminders_sent_after_kill"] >= 1  # the new leader took over the reminders
    assert report["pushes"] >= 6  # the reminders at least, plus approval notices
    decided = report["orders"].get("approved", 0) + report["orders"].get("rejected", 0)
    assert decided >= 1


@pytest.mark.parametrize(("status", "steps", "ok"), [
    ("approved", ["approved", "approved"], True),
    ("approved", ["approved", "pending"], False),
    ("rejected", ["approved", "rejected", "skipped"], True),
    ("rejected", ["rejected", "waiting"], False),
    ("pending", ["approved", "pending", "waiting"], True),
    ("pending", ["pending", "pending"], False),
    ("draft", [], True),
    ("draft", ["approved"], False),
])
def test_order_consistency_rule(status: str, steps: list[str], ok: bool) -> None:
    assert _consistent(status, steps) is ok
