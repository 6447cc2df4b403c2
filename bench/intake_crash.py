"""Nothing acknowledged is lost: two `crmbot run` processes on one PostgreSQL, WeChat load with Tencent's
retry behaviour (5 s timeout, 3 retries, the retry going to the other process), one process killed with
SIGKILL mid-load and started again; then Telegram: updates acknowledged, SIGKILL, restart.

Prints, for every message that got an HTTP 200 on any attempt: acknowledged / processed / lost / doubled
(lost and doubled must be 0), how many replies went passively and how many through the outbox, and the
restart-to-ready time (process start → /healthz 200 with the webhooks answering).

    python bench/intake_crash.py [--senders 10] [--messages 20] [--telegram 30] [--kill-after 0.4]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    NLU_MODEL_PATH,
    REPO,
    Tencent,
    ensure_model,
    free_port,
    load_average,
    machine_line,
    new_aes_key,
    text_message,
    throwaway_pg,
)
from bot.fakes import FakeAPI, ServerThread  # noqa: E402
from bot.fakes.telegram import text_update  # noqa: E402

APP_ID, WX_TOKEN, WX_SECRET = "wxcrash000000001", "crash-token", "crash-secret"
TG_TOKEN, TG_SECRET = "424242:CRASH", "crash-hook-secret"
TIMEOUT = 5.0  # Tencent waits 5 s for an answer
RETRIES = 3  # then tries 3 more times
TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Node:
    port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "CRMBOT_CONFIG": str(self.config), "PYTHONUNBUFFERED": "1"}
        self.started_at = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "crmbot.cli", "run"], cwd=REPO, env=env,
                                            stdout=out, stderr=subprocess.STDOUT)

    def ready_seconds(self, timeout: float = 60.0) -> float:
        """Seconds from process start until /healthz answers 200."""
        assert self.process is not None
        while time.monotonic() - self.started_at < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"crmbot run exited:\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - self.started_at
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"not ready in {timeout} s:\n{self.log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def write_config(path: Path, url: str, port: int, api: str, aes: str, *, telegram: bool,
                 model: str = NLU_MODEL_PATH) -> Path:
    channels: dict[str, Any] = {"wechat": {"enabled": True, "app_id": APP_ID, "secret": WX_SECRET, "token": WX_TOKEN,
                                           "encoding_aes_key": aes, "api_base_url": f"{api}/cgi-bin/"}}
    if telegram:
        channels["telegram"] = {"enabled": True, "token": TG_TOKEN, "base_url": f"{api}/bot",
                                "base_file_url": f"{api}/file/bot", "webhook_secret": TG_SECRET,
                                "webhook_url": "https://crm.example.com/telegram/webhook"}
    config = {
        "database": {"url": url},
        "nlu": {"model_path": model},
        "server": {"host": "127.0.0.1", "port": port, "token_cache_url": ""},
        "channels": channels,
        "inbox": {"claim_timeout_seconds": 10, "poll_seconds": 0.5},
        "scheduler": {"enabled": False, "poll_seconds": 0.3, "claim_timeout_seconds": 10, "retry_base_seconds": 1,
                      "default_rate_per_second": 500, "quiet_start": "00:00", "quiet_end": "00:00"},
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def prepare(url: str, senders: int) -> list[tuple[str, list[str]]]:
    """The demo company; `senders` WeChat accounts of the three reps, who save visits without 确认."""
    from sqlalchemy import select

    from crm_store import services
    from crm_store.db import make_engine, session_factory, transaction, upgrade
    from crm_store.demo import seed_demo
    from crm_store.models import Customer, Staff

    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(TZ)
    cast = []
    with transaction(session_factory(engine)) as session:
        seed_demo(session, now=now)
    with transaction(session_factory(engine)) as session:
        staff = {s.name: s for s in session.scalars(select(Staff))}
        owned = {}
        for name in ("张伟", "李娜", "王强"):
            staff[name].skip_confirm = True
            rows = session.scalars(select(Customer).where(Customer.owner_id == staff[name].id).order_by(Customer.id))
            owned[name] = [c.name for c in rows if not c.name.startswith("华润")][:4]
        for k in range(senders):
            name = ("张伟", "李娜", "王强")[k % 3]
            services.bind_identity(session, "wechat", f"o-crash-{k}", staff_id=staff[name].id, now=now)
            cast.append((f"o-crash-{k}", owned[name]))
        for k in range(3):
            name = ("张伟", "李娜", "王强")[k]
            services.bind_identity(session, "telegram", str(700 + k), staff_id=staff[name].id, now=now)
    engine.dispose()
    return cast


@dataclass
class Ledger:
    acknowledged: set[str] = field(default_factory=set)
    passive: Counter[str] = field(default_factory=Counter)  # message id -> passive replies received
    unanswered: set[str] = field(default_factory=set)  # every attempt failed
    attempts: int = 0
    retries_elsewhere: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def deliver(nodes: list[Node], tencent: Tencent, xml: str, msg_id: str, first: int, ledger: Ledger) -> None:
    """Tencent's behaviour: POST, wait 5 s, retry up to 3 times (to the other process, as a load balancer
    would after a failure). A 200 is an acknowledgement; an encrypted body is the passive reply."""
    query, body = tencent.callback(xml)
    for attempt in range(1 + RETRIES):
        node = nodes[(first + attempt) % len(nodes)]
        with ledger.lock:
            ledger.attempts += 1
            ledger.retries_elsewhere += attempt > 0
        try:
            response = httpx.post(f"{node.url}/wechat", params=query, content=body, timeout=TIMEOUT)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if response.status_code != 200:
            time.sleep(0.2)
            continue
        with ledger.lock:
            ledger.acknowledged.add(msg_id)
            if tencent.open_reply(response.text) is not None:
                ledger.passive[msg_id] += 1
        return
    with ledger.lock:
        ledger.unanswered.add(msg_id)


def settle(url: str, expected_keys: set[str], timeout: float = 90.0) -> dict[str, Any]:
    """Wait until every inbox row is done and the outbox is empty of work; then read what was written."""
    from sqlalchemy import create_engine, func, select

    from crm_store.db import normalize_url
    from crm_store.models import AuditLog, InboxMessage, OutboxMessage

    engine = create_engine(normalize_url(url))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                statuses = dict(conn.execute(select(InboxMessage.status, func.count()).group_by(InboxMessage.status)).all())
                busy = conn.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "sending"))))
            if not statuses.get("pending") and not statuses.get("processing") and not busy:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        with engine.connect() as conn:
            rows = conn.execute(select(InboxMessage.channel, InboxMessage.message_key, InboxMessage.status,
                                       InboxMessage.delivery)).all()
            details = {r.message_key: f"{r.status}/{r.delivery}/attempts={r.attempts}/error={r.last_error}/"
                                      f"replies={[x.get('text', '')[:60] for x in (r.replies or {}).get('replies', [])]}"
                       for r in conn.execute(select(InboxMessage))}
            outbox_state = {r.idempotency_key: f"{r.status}/attempts={r.attempts}/error={r.last_error}"
                            for r in conn.execute(select(OutboxMessage).where(OutboxMessage.kind == "reply"))}
            visits = Counter(conn.execute(select(AuditLog.via_message).where(AuditLog.action == "visit.create"))
                             .scalars())
            sent = Counter(conn.execute(select(OutboxMessage.idempotency_key).where(
                OutboxMessage.kind == "reply", OutboxMessage.status == "sent")).scalars())
            dead = conn.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "dead"))
    finally:
        engine.dispose()
    return {"rows": rows, "visits": visits, "sent": sent, "dead_outbox": dead, "statuses": statuses,
            "details": details, "outbox_state": outbox_state}


def wechat_scenario(url: str, workdir: Path, api: FakeAPI, api_url: str, senders: int, messages: int,
                    kill_after: float, seed: int, model: str = NLU_MODEL_PATH) -> dict[str, Any]:
    aes = new_aes_key()
    tencent = Tencent(WX_TOKEN, aes, APP_ID)
    cast = prepare(url, senders)
    nodes = [Node(port, write_config(workdir / f"n{port}.yml", url, port, api_url, aes, telegram=True, model=model),
                  workdir / f"n{port}.log") for port in (free_port(), free_port())]
    for node in nodes:
        node.start()
    first_ready = [node.ready_seconds() for node in nodes]
    time.sleep(2.0)  # let the NLU finish loading before the load starts
    rng = random.Random(seed)
    ledger = Ledger()
    jobs = []
    for k, (openid, customers) in enumerate(cast):
        for m in range(messages):
            msg_id = str(9_000_000 + k * 1000 + m)
            text = f"今天上午拜访了{rng.choice(customers)}，第{m + 1}次沟通，聊了新项目的报价"
            jobs.append((openid, text, msg_id, rng.randrange(2)))
    killed = nodes[0]
    restart: dict[str, float] = {}

    def sender(openid_jobs: list[tuple[str, str, str, int]]) -> None:
        for openid, text, msg_id, first in openid_jobs:  # one person's messages go one after another
            deliver(nodes, tencent, text_message(openid, tencent.to_user, text, int(msg_id)), msg_id, first, ledger)

    def killer(total: int) -> None:
        while len(ledger.acknowledged) < total * kill_after:
            time.sleep(0.05)
        killed.kill()
        restart["killed_at_acknowledged"] = len(ledger.acknowledged)
        time.sleep(1.0)
        killed.start()
        restart["ready_seconds"] = killed.ready_seconds()

    by_sender: dict[str, list[tuple[str, str, str, int]]] = {}
    for job in jobs:
        by_sender.setdefault(job[0], []).append(job)
    started = time.monotonic()
    kill_thread = threading.Thread(target=killer, args=(len(jobs),))
    kill_thread.start()
    with ThreadPoolExecutor(len(by_sender)) as pool:
        list(pool.map(sender, by_sender.values()))
    kill_thread.join()
    wall = time.monotonic() - started
    keys = {j[2] for j in jobs}
    outcome = settle(url, keys)
    return {"nodes": nodes, "ledger": ledger, "outcome": outcome, "keys": keys, "first_ready": first_ready,
            "restart": restart, "wall": wall, "jobs": len(jobs)}


def telegram_scenario(url: str, nodes: list[Node], api: FakeAPI, count: int) -> dict[str, Any]:
    """`count` updates acknowledged by one process, SIGKILL at once, restart: all processed, one reply each."""
    node = nodes[1]
    acknowledged = []
    for k in range(count):
        update = text_update(700 + k % 3, f"今天下午拜访了客户，第{k}次电话沟通")
        response = httpx.post(f"{node.url}/telegram/webhook", json=update, headers={
            "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}, timeout=10)
        if response.status_code == 200:
            acknowledged.append(f"{update['message']['chat']['id']}:{update['message']['message_id']}")
        if k == count - 1:
            duplicate = httpx.post(f"{node.url}/telegram/webhook", json=update, headers={
                "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}, timeout=10)
            assert duplicate.status_code == 200
    node.kill()
    time.sleep(0.5)
    node.start()
    ready = node.ready_seconds()
    outcome = settle(url, set(acknowledged))
    done = {key for channel, key, status, _ in outcome["rows"] if channel == "telegram" and status == "done"}
    replies = Counter(k.split(":", 2)[2].rsplit(":", 1)[0] for k in outcome["sent"] if k.startswith("reply:telegram:"))
    return {"acknowledged": len(acknowledged), "processed": len(done & set(acknowledged)),
            "lost": len(set(acknowledged) - done), "ready": ready,
            "replies_once": sum(1 for k in acknowledged if replies.get(k) == 1),
            "replies_twice": sum(1 for k in acknowledged if replies.get(k, 0) > 1)}


def run(*, senders: int = 10, messages: int = 20, telegram: int = 30, kill_after: float = 0.4, seed: int = 7,
        admin_url: str | None = None, out: Any = print, model: str = NLU_MODEL_PATH) -> dict[str, Any]:
    """The whole scenario; returns the figures (and prints them through `out`)."""
    ensure_model(model)
    out(machine_line())
    api = FakeAPI()
    pg = throwaway_pg("crmbot_crash", admin_url) if admin_url else throwaway_pg("crmbot_crash")
    with ServerThread(api.app) as fake, pg as url, tempfile.TemporaryDirectory() as tmp:
        result = wechat_scenario(url, Path(tmp), api, fake.url, senders, messages, kill_after, seed, model)
        try:
            ledger: Ledger = result["ledger"]
            outcome = result["outcome"]
            rows = {key: (status, delivery) for channel, key, status, delivery in outcome["rows"] if channel == "wechat"}
            acked = ledger.acknowledged
            processed = {k for k in acked if rows.get(k, ("", None))[0] == "done"}
            visits = outcome["visits"]
            pushed = {k.split(":")[2] for k in outcome["sent"] if k.startswith("reply:wechat:")}
            lost = {k for k in acked if k not in processed or visits.get(k, 0) == 0
                    or (ledger.passive[k] == 0 and k not in pushed)}
            doubled = {k for k in acked if visits.get(k, 0) > 1 or ledger.passive[k] + (k in pushed) > 1}
            report: dict[str, Any] = {
                "messages": result["jobs"], "acknowledged": len(acked), "processed": len(processed),
                "lost": sorted(lost), "doubled": sorted(doubled), "unanswered": len(ledger.unanswered),
                "retries": ledger.retries_elsewhere, "passive": sum(1 for k in acked if ledger.passive[k]),
                "pushed": len(pushed & acked), "visits": sum(visits.get(k, 0) for k in acked),
                "dead_outbox": outcome["dead_outbox"], "first_ready": result["first_ready"],
                "restart_ready": result["restart"].get("ready_seconds"),
                "killed_at": result["restart"].get("killed_at_acknowledged"),
            }
            out(f"\nWeChat: {senders} senders × {messages} messages, 2 processes, SIGKILL of one after "
                f"{report['killed_at']} acknowledgements, restarted")
            out(f"  attempts {ledger.attempts} (retries {ledger.retries_elsewhere}), wall {result['wall']:.1f} s, "
                f"load average {load_average()}")
            out(f"  acknowledged {len(acked)} / {result['jobs']}   processed {len(processed)}   "
                f"lost {len(lost)}   doubled {len(doubled)}   never answered {len(ledger.unanswered)}")
            out(f"  replies: passive {report['passive']}, through the outbox {report['pushed']}; visits written "
                f"{report['visits']}; dead outbox rows {outcome['dead_outbox']}")
            out(f"  ready after start: {', '.join(f'{s:.2f} s' for s in result['first_ready'])}; "
                f"restart-to-ready after SIGKILL: {report['restart_ready'] or float('nan'):.2f} s")
            report["why"] = {k: {"inbox": outcome["details"].get(k), "visits": visits.get(k, 0),
                                 "passive": ledger.passive[k],
                                 "outbox": {o: v for o, v in outcome["outbox_state"].items() if f":{k}:" in o}}
                             for k in sorted(lost | doubled)}
            if lost or doubled:
                out(f"  LOST: {sorted(lost)[:10]}  DOUBLED: {sorted(doubled)[:10]}  why: {report['why']}")
            tg = telegram_scenario(url, result["nodes"], api, telegram)
            report["telegram"] = tg
            out(f"\nTelegram: {tg['acknowledged']} updates acknowledged (+1 copy of the last), SIGKILL, restart")
            out(f"  processed {tg['processed']}   lost {tg['lost']}   replied once {tg['replies_once']}   "
                f"replied twice {tg['replies_twice']}   restart-to-ready {tg['ready']:.2f} s")
        finally:
            for node in result["nodes"]:
                node.stop()
    report["ok"] = not (report["lost"] or report["doubled"] or tg["lost"] or tg["replies_twice"])
    out("\nOK: nothing acknowledged was lost or doubled" if report["ok"] else "\nFAILED")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--telegram", type=int, default=30)
    parser.add_argument("--kill-after", type=float, default=0.4, help="kill when this share was acknowledged")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    report = run(senders=args.senders, messages=args.messages, telegram=args.telegram, kill_after=args.kill_after,
                 seed=args.seed, out=lambda line: print(line, flush=True))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
