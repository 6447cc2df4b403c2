"""Nothing acknowledged is lost (bench/intake_crash.py, small size): two `crmbot run` processes on one
PostgreSQL, WeChat load with Tencent-style retries, SIGKILL of one process mid-load and a restart; then
Telegram updates acknowledged, SIGKILL, restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.intake_crash import run
from tests.conftest import PG_ADMIN_URL


@pytest.mark.slow
def test_kill_9_mid_load_loses_and_doubles_nothing(nlu_model_path: Path) -> None:
    report = run(senders=4, messages=6, telegram=8, kill_after=0.35, seed=11, admin_url=PG_ADMIN_URL,
                 out=lambda line: None, model=str(nlu_model_path))
    assert report["acknowledged"] == report["messages"] == 24
    assert report["lost"] == [] and report["doubled"] == [], report
    assert report["processed"] == 24 and report["visits"] == 24
    assert report["passive"] + report["pushed"] == 24 and report["dead_outbox"] == 0
    assert report["killed_at"] is not None and report["restart_ready"] is not None
    telegram = report["telegram"]
    assert telegram["acknowledged"] == telegram["processed"] == telegram["replies_once"] == 8
    assert telegram["lost"] == 0 and telegram["replies_twice"] == 0
