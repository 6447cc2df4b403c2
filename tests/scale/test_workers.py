"""`crmbot run --workers 2`: two processes serve one webhook port on PostgreSQL; every message is processed once
(by one of them), a Tencent retry of the same MsgId reaching the other worker changes nothing, the scheduler has
one leader, a worker killed outright is started again; SQLite and Telegram long polling refuse more than one
worker with a clear line."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from bench.common import REPO, Tencent, new_aes_key, throwaway_pg
from bench.e2e_bench import prepare, server_environ
from bench.workers_bench import WX_APP, WX_TOKEN, Load, crmbot_run, tree_cpu, worker_labels
from bot import messages as BM
from bot.fakes import FakeAPI, ServerThread
from crm_store.db import make_engine, session_factory
from crm_store.models import AuditLog, InboxMessage, SchedulerNode
from tests.conftest import PG_ADMIN_URL

VISIT = "今天下午拜访了{c}，聊了新项目，预计下周三报价"


def _post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body, {"Content-Type": "text/xml", "Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.slow
def test_two_workers_serve_one_webhook_and_process_each_message_once(nlu_model_path: Path, tmp_path: Path) -> None:
    aes = new_aes_key()
    tencent = Tencent(WX_TOKEN, aes, WX_APP)
    load = Load(tencent, 8_100_000_000)
    answers: dict[str, list[str | None]] = {}
    lock = threading.Lock()
    with throwaway_pg("crmbot_workers_test", PG_ADMIN_URL) as url, ServerThread(FakeAPI().app) as fake:
        targets = prepare(url, 6)["wechat"]
        with crmbot_run(url, tmp_path, fake.url, aes, workers=2, model=str(nlu_model_path),
                        scheduler=True) as server:
            pids = [pid for pid in _children(server.process.pid)]
            assert len(pids) == 2, pids

            def deliver(sent_id: str, path: str, body: bytes) -> None:
                status, raw = _post(server.port, path, body)
                assert status == 200, raw[:200]
                text = raw.decode()
                answer = tencent.open_reply(text) if text.lstrip().startswith("<xml") else None
                with lock:
                    answers.setdefault(sent_id, []).append(answer)

            def sender(index: int, user: str, customer: str) -> None:
                for round_no in range(2):
                    for n, text in enumerate((VISIT.format(c=customer), "确认")):
                        sent, path, body = load.seal(user, text, "mix")
                        # Every other sender's confirmation also arrives a second time at once (Tencent's retry
                        # after a dropped connection), on its own connection: either worker may take it.
                        twin = None
                        if n == 1 and (index + round_no) % 2 == 0:
                            twin = threading.Thread(target=deliver, args=(sent.msg_id, path, body))
                            twin.start()
                        deliver(sent.msg_id, path, body)
                        if twin is not None:
                            twin.join()

            threads = [threading.Thread(target=sender, args=(i, user, customer))
                       for i, (user, customer) in enumerate(targets)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert tree_cpu(server.process.pid) > 0
            engine = make_engine(url)
            try:
                with session_factory(engine)() as session:
                    rows = session.scalars(select(InboxMessage).where(InboxMessage.channel == "wechat")).all()
                    visits = session.scalar(select(func.count()).select_from(AuditLog)
                                            .where(AuditLog.action == "visit.create"))
                    doubled = session.execute(
                        select(AuditLog.via_message, func.count()).where(AuditLog.via_message.is_not(None))
                        .group_by(AuditLog.via_message, AuditLog.action, AuditLog.entity_id)
                        .having(func.count() > 1)).all()
                    nodes = session.scalars(select(SchedulerNode)).all()
            finally:
                engine.dispose()
            # A worker killed outright is started again by the supervisor, and answers with its NLU loaded.
            os.kill(pids[0], signal.SIGKILL)
            deadline = time.monotonic() + 60
            while pids[0] in (now := _children(server.process.pid)) or len(now) < 2:
                assert time.monotonic() < deadline, now
                time.sleep(0.1)
            assert worker_labels(server.base, 2, process=server.process, log=server.log) == {"1/2", "2/2"}
            pids += now
        assert server.process.returncode == 0  # SIGTERM: both workers stopped cleanly, then the supervisor
        assert not [pid for pid in pids if os.path.exists(f"/proc/{pid}")]

    assert len(answers) == 24 and sum(len(a) for a in answers.values()) == 24 + 6
    by_key = {row.message_key: row for row in rows}
    assert set(by_key) == set(answers) and len(rows) == 24  # one inbox row per MsgId, retries included
    assert Counter(row.status for row in rows) == {"done": 24}
    assert all(row.attempts == 1 for row in rows), [(r.message_key, r.attempts) for r in rows if r.attempts != 1]
    workers = Counter(row.claimed_by.split("/")[0].rsplit(":", 1)[1] for row in rows if row.claimed_by)
    assert set(workers) == {"w1", "w2"}, workers  # both processes did part of the work
    assert visits == 12 and doubled == []  # each confirmation wrote its visit once
    for msg_id, got in answers.items():
        passive = {a for a in got if a is not None}
        assert len(passive) <= 1, (msg_id, got)  # a retry is answered with the same reply, never a second one
    assert len(nodes) == 2 and len({n.pid for n in nodes}) == 2 and sum(n.is_leader for n in nodes) == 1


@pytest.mark.slow
def test_two_workers_start_on_a_new_database(nlu_model_path: Path, tmp_path: Path) -> None:
    """The supervisor migrates once before forking: two workers creating the tables at the same moment would
    collide (one crashed and was restarted before)."""
    with throwaway_pg("crmbot_workers_new", PG_ADMIN_URL) as url:
        with crmbot_run(url, tmp_path, "http://127.0.0.1:9", new_aes_key(), workers=2,
                        model=str(nlu_model_path)) as server:
            assert len(_children(server.process.pid)) == 2
        log = server.log.read_text()
    assert server.process.returncode == 0
    assert "Traceback" not in log and BM.RUN_WORKER_DIED.split("（")[0].format(number=1) not in log
    assert BM.RUN_WORKER_DIED.split("（")[0].format(number=2) not in log
    assert log.count(BM.RUN_STOPPED) == 1 and "[进程1]" in log and "[进程2]" in log


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _crmbot(folder: Path, settings: dict, *args: str) -> subprocess.CompletedProcess[str]:
    config = folder / "config.yml"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    env = {**server_environ(), "CRMBOT_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "crmbot.cli", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize(("settings", "expected"), [
    ({"database": {"url": "sqlite:///var/crm.db"}}, BM.RUN_WORKERS_SQLITE.format(workers=2)),
    ({"database": {"url": "postgresql://x@127.0.0.1:1/none"},
      "channels": {"telegram": {"enabled": True, "token": "1:x"}}}, BM.RUN_WORKERS_TELEGRAM_POLLING.format(workers=2)),
])
def test_more_than_one_worker_is_refused_where_it_cannot_work(tmp_path: Path, settings: dict, expected: str) -> None:
    """Asked on the command line or in config.yml (server.workers), `crmbot run` refuses with the reason before
    it binds or forks anything, and `crmbot config-check` says the same."""
    for result in (_crmbot(tmp_path, settings, "run", "--workers", "2"),
                   _crmbot(tmp_path, {**settings, "server": {"workers": 2}}, "run"),
                   _crmbot(tmp_path, {**settings, "server": {"workers": 2}}, "config-check")):
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    # --workers 1 overrides server.workers (it then stops at the next problem: no NLU model in this folder).
    one = _crmbot(tmp_path, {**settings, "server": {"workers": 2}}, "run", "--workers", "1")
    assert expected not in one.stderr and "Traceback" not in one.stderr
