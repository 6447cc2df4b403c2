"""Issue 16: no lock across a message, and more than one core (`crmbot run --workers N`), on PostgreSQL.

    python bench/workers_bench.py [--senders 16] [--rounds 4] [--messages 320] [--repeat 3]
                                  [--before a618856 | --before none]

One command, about 2 minutes on the 2-core machine, one throw-away PostgreSQL database, WeChat callbacks
sealed as Tencent does (bot.fakes.tencent), Tencent's API a local fake:
1. order 确认: each of `--senders` users, all at once, sends 给<customer>下单 服务器N台 then 确认, `--rounds`
   times; the latency of every 确认. console: the senders are threads of one process calling
   DialogEngine.handle (what bot/console.py calls), in each tree; wechat: callbacks to `crmbot run`, latency
   until the reply is there (the passive HTTP answer, or, past WeChat's window, the moment the reply was
   committed for a push). The tree before the change (`git archive` of --before) runs one process, then two
   processes on two ports (its only way to a second core); this tree runs `--workers 1` and `--workers 2`;
2. throughput: the end-to-end mix of bench/e2e_bench.py (visit + 确认, phone, reminder + 确认, history,
   更多, follow-ups) from the same senders against `crmbot run --workers 1` and `--workers 2` of this tree,
   alternating `--repeat` times; the ratio 2 workers / 1 worker of each pair of runs back to back, with the
   share of CPU the host stole meanwhile, and the same ratio from CPU time (what steal does not change).
Every figure line carries the server's CPU seconds (the whole process tree: supervisor and workers) next
to the wall seconds, this load generator's own CPU, and the load average. The generator keeps its own
cost low (callbacks sealed before the clock starts, one plain HTTP connection per request, replies
opened afterwards), since it shares the two cores with the server and PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    NLU_MODEL_PATH,
    REPO,
    MachineTime,
    Tencent,
    ensure_model,
    free_port,
    load_average,
    machine_line,
    new_aes_key,
    percentile,
    speed_reference,
    text_message,
    throwaway_pg,
)

DEFAULT_BEFORE = "a618856"  # the last commit that locked the day's order counter until the message committed
WX_APP, WX_TOKEN = "wxworkers", "workerstoken"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
INTERNAL_ERROR = "抱歉，刚才出了点问题"  # dialogs.messages.INTERNAL_ERROR's start (the before tree's too)


# --- the server ------------------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    workers: int
    database_url: str

    def cpu(self) -> float:
        """CPU seconds of the server's whole process tree so far (supervisor and every worker)."""
        return tree_cpu(self.process.pid)


def tree_cpu(root: int) -> float:
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this database (its process title names it)."""
    name = url.rsplit("/", 1)[-1]
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres:") or f" {name} " not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


class LockSampler:
    """Every 20 ms during a phase: how many of this database's backends wait for a lock (pg_stat_activity's
    wait_event_type 'Lock': a row or transaction lock another transaction holds). Unlike latency, this does
    not grow with the machine's load: a lock held across a message shows up however busy the cores are."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        self.name = url.rsplit("/", 1)[-1]
        self.counts: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stop.wait(0.02):
            row = self.conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                                    "wait_event_type = 'Lock'", (self.name,)).fetchone()
            self.counts.append(int(row[0]) if row else 0)

    def __enter__(self) -> LockSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.conn.close()

    @property
    def figures(self) -> tuple[int, int, int]:
        return len(self.counts), sum(1 for c in self.counts if c), max(self.counts, default=0)


def write_config(path: Path, url: str, port: int, fake_url: str, aes: str, model: str, *,
                 scheduler: bool = False) -> Path:
    config: dict[str, Any] = {
        "database": {"url": url},
        "nlu": {"model_path": model},
        "server": {"host": "127.0.0.1", "port": port, "token_cache_url": ""},
        # Delivery of pushed replies and notices runs either way; the leader's jobs only when enabled.
        "scheduler": {"enabled": scheduler, "leader_retry_seconds": 0.5, "default_rate_per_second": 200},
        "channels": {"wechat": {"enabled": True, "app_id": WX_APP, "secret": "s", "token": WX_TOKEN,
                                "encoding_aes_key": aes, "api_base_url": f"{fake_url}/cgi-bin/"}},
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def worker_labels(base: str, workers: int, timeout: float = 180, process: subprocess.Popen[bytes] | None = None,
                  log: Path | None = None) -> set[str]:
    """Until every worker has answered /healthz green with its NLU loaded (a fresh connection each time, so
    the kernel hands the requests to different workers); returns the worker labels seen ("1/2", "2/2")."""
    ready: set[str] = set()
    started = time.monotonic()
    while len(ready) < workers:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"crmbot run exited:\n{log.read_text()[-3000:] if log else ''}")
        try:
            health = httpx.get(f"{base}/healthz", timeout=2, headers={"connection": "close"})
            state = health.json() if health.status_code == 200 else {}
            if state.get("nlu") == "ok" and "starting" not in dict(state.get("channels") or {}).values():
                ready.add(state.get("worker", "1/1"))
        except (httpx.HTTPError, ValueError):
            pass
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"crmbot run: only workers {sorted(ready)} of {workers} became ready")
        time.sleep(0.05)
    return ready


@contextmanager
def crmbot_run(url: str, workdir: Path, fake_url: str, aes: str, *, workers: int = 1, tree: Path = REPO,
               model: str = NLU_MODEL_PATH, scheduler: bool = False) -> Iterator[Server]:
    """`crmbot run` (`--workers N` when N > 1) of `tree`, ready: every worker green with its NLU loaded."""
    from bench.e2e_bench import server_environ

    port = free_port()
    config = write_config(workdir / f"crmbot-{port}.yml", url, port, fake_url, aes, model, scheduler=scheduler)
    log = workdir / f"crmbot-{port}.log"
    env = {**server_environ(), "CRMBOT_CONFIG": str(config), "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(tree)}
    args = [sys.executable, "-m", "crmbot.cli", "run", *(["--workers", str(workers)] if workers > 1 else [])]
    with log.open("w") as out:
        process = subprocess.Popen(args, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        worker_labels(base, workers, process=process, log=log)
        yield Server(base, port, process, log, workers, url)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the load --------------------------------------------------------------------------------------


@dataclass
class Sent:
    msg_id: str
    kind: str  # "confirm_order", "order", "mix"
    started_wall: float = 0.0
    seconds: float = 0.0
    status: int = 0
    body: bytes = b""


@dataclass
class Phase:
    label: str
    sent: list[Sent]
    wall: float
    server_cpu: float
    client_cpu: float
    database_cpu: float
    load: str
    reply_seconds: dict[str, float] = field(default_factory=dict)  # msg_id -> until the reply was there
    by_worker: dict[str, int] = field(default_factory=dict)  # worker (node id suffix) -> messages it processed
    lock_waits: tuple[int, int, int] = (0, 0, 0)  # samples, samples with a backend waiting on a lock, most waiting
    errors: list[str] = field(default_factory=list)
    machine: MachineTime | None = None

    def latencies(self, kind: str) -> list[float]:
        return [self.reply_seconds[s.msg_id] for s in self.sent if s.kind == kind and s.msg_id in self.reply_seconds]

    def rate(self) -> float:
        return len(self.sent) / self.wall if self.wall else 0.0


def _post(port: int, request: bytes) -> tuple[int, bytes]:
    """Send one prebuilt request on a fresh connection; (status, body) of the answer (read to the close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return status, body


def _unchunk(data: bytes) -> bytes:
    out, pos = [], 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2 : end + 2 + size])
        pos = end + 2 + size + 2


class Load:
    def __init__(self, tencent: Tencent, first_id: int) -> None:
        self.tencent = tencent
        self.ids = iter(range(first_id, first_id + 10_000_000))
        self.lock = threading.Lock()

    def seal(self, user: str, text: str, kind: str) -> tuple[Sent, str, bytes]:
        with self.lock:
            msg_id = str(next(self.ids))
        query, body = self.tencent.callback(text_message(user, self.tencent.to_user, text, int(msg_id)))
        return Sent(msg_id, kind), "/wechat?" + urlencode(query), body

    def request(self, user: str, text: str, kind: str) -> tuple[Sent, bytes]:
        """The whole HTTP request, built before the clock starts (one connection per request, as Tencent's
        callbacks come; the generator only writes these bytes and reads the answer)."""
        sent, path, body = self.seal(user, text, kind)
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        return sent, head.encode() + body

    def run(self, label: str, server: Server | list[Server], scripts: list[list[tuple[str, str, str]]],
            sample_locks: bool = False) -> Phase:
        """One thread per script (user, text, kind), each message after the previous one's answer; with several
        servers (separate `crmbot run` processes on their own ports) the senders take turns among them."""
        servers = server if isinstance(server, list) else [server]
        sealed = [[self.request(user, text, kind) for user, text, kind in script] for script in scripts]
        barrier = threading.Barrier(len(sealed) + 1)

        def sender(items: list[tuple[Sent, bytes]], port: int) -> None:
            barrier.wait()
            for sent, request in items:
                sent.started_wall = time.time()
                started = time.perf_counter()
                try:
                    sent.status, sent.body = _post(port, request)
                except OSError as exc:
                    sent.status, sent.body = 0, str(exc).encode()
                sent.seconds = time.perf_counter() - started

        threads = [threading.Thread(target=sender, args=(items, servers[n % len(servers)].port))
                   for n, items in enumerate(sealed)]
        for thread in threads:
            thread.start()
        cpu_before, client_before = sum(s.cpu() for s in servers), time.process_time()
        database_before = database_cpu(servers[0].database_url)
        # The lock sampler's queries cost CPU the server would otherwise have: only where locks are the question.
        with LockSampler(servers[0].database_url) if sample_locks else contextlib.nullcontext() as locks:
            barrier.wait()
            machine = MachineTime()
            started = time.perf_counter()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
            machine.stop()
        database_after = database_cpu(servers[0].database_url)
        phase = Phase(label, [s for items in sealed for s, _ in items], wall,
                      sum(s.cpu() for s in servers) - cpu_before, time.process_time() - client_before,
                      sum(cpu - database_before.get(pid, 0.0) for pid, cpu in database_after.items()), load_average())
        phase.machine = machine
        if locks is not None:
            phase.lock_waits = locks.figures
        self.open_replies(phase, servers[0])
        phase.by_worker = processed_by(servers[0], [sent.msg_id for sent in phase.sent])
        return phase

    def open_replies(self, phase: Phase, server: Server) -> None:
        """After the clock: open every passive answer; an answer `success` (window over, reply pushed) counts
        until its inbox row was committed (same machine, same clock)."""
        pushed = [s for s in phase.sent if s.status == 200 and not s.body.lstrip().startswith(b"<xml")]
        done_at = processed_at(server, [s.msg_id for s in pushed]) if pushed else {}
        for sent in phase.sent:
            if sent.status != 200:
                phase.errors.append(f"{sent.msg_id}: HTTP {sent.status} {sent.body[:80]!r}")
                continue
            if sent in pushed:
                finished = done_at.get(sent.msg_id)
                if finished is None:
                    phase.errors.append(f"{sent.msg_id}: answered `success` and not processed")
                else:
                    phase.reply_seconds[sent.msg_id] = max(finished - sent.started_wall, sent.seconds)
                continue
            text = self.tencent.open_reply(sent.body.decode()) or ""
            if INTERNAL_ERROR in text:
                phase.errors.append(f"{sent.msg_id}: {text[:60]}")
            elif sent.kind == "confirm_order" and "SO" not in text:
                phase.errors.append(f"{sent.msg_id}: 确认 without an order number: {text[:60]!r}")
            else:
                phase.reply_seconds[sent.msg_id] = sent.seconds


def processed_at(server: Server, msg_ids: list[str], timeout: float = 60) -> dict[str, float]:
    """When each message's inbox row was committed done, waiting for rows still being processed (a reply
    past WeChat's window is finished and pushed after the HTTP answer)."""
    from sqlalchemy import select

    from crm_store.db import make_engine, session_factory
    from crm_store.models import InboxMessage

    engine = make_engine(server.database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with session_factory(engine)() as session:
                rows = session.execute(select(InboxMessage.message_key, InboxMessage.processed_at)
                                       .where(InboxMessage.channel == "wechat",
                                              InboxMessage.message_key.in_(msg_ids))).all()
            done = {key: at.timestamp() for key, at in rows if at is not None}
            if len(done) == len(msg_ids) or time.monotonic() > deadline:
                return done
            time.sleep(0.2)
    finally:
        engine.dispose()


def processed_by(server: Server, msg_ids: list[str]) -> dict[str, int]:
    """How many of the messages each process handled: the node part of the inbox claim (`host:port:w2/…`)."""
    from collections import Counter

    from sqlalchemy import select

    from crm_store.db import make_engine, session_factory
    from crm_store.models import InboxMessage

    engine = make_engine(server.database_url)
    try:
        with session_factory(engine)() as session:
            claims = session.scalars(select(InboxMessage.claimed_by).where(
                InboxMessage.channel == "wechat", InboxMessage.message_key.in_(msg_ids))).all()
    finally:
        engine.dispose()
    return dict(sorted(Counter((claim or "?").split("/")[0].split(":", 1)[-1] for claim in claims).items()))


def order_scripts(targets: list[tuple[str, str]], rounds: int) -> list[list[tuple[str, str, str]]]:
    return [[item for r in range(rounds) for item in ((user, f"给{customer}下单 服务器{r % 3 + 1}台", "order"),
                                                      (user, "确认", "confirm_order"))]
            for user, customer in targets]


def mix_scripts(targets: list[tuple[str, str]], messages: int) -> list[list[tuple[str, str, str]]]:
    from bench.e2e_bench import MIX

    share = max(1, messages // len(targets))
    return [[(user, MIX[k % len(MIX)].format(c=customer), "mix") for k in range(share)] for user, customer in targets]


# --- order 确认 in one process (DialogEngine.handle, what bot/console.py calls), in either tree -------

CONSOLE_CHILD = r"""
import json, sys, threading, time
from crmbot.config import Config
from crmbot.wiring import build_dialogs, open_database

url, model, targets, rounds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
runtime = open_database(Config.model_validate({"database": {"url": url}, "nlu": {"model_path": model}}))
dialogs = build_dialogs(runtime)
latencies, errors, lock = [], [], threading.Lock()
barrier = threading.Barrier(len(targets) + 1)

def sender(user, customer):
    barrier.wait()
    for r in range(rounds):
        dialogs.handle("console", user, f"给{customer}下单 服务器{r % 3 + 1}台")
        started = time.perf_counter()
        replies = dialogs.handle("console", user, "确认")
        with lock:
            latencies.append(time.perf_counter() - started)
            if not any("SO" in reply.text for reply in replies):
                errors.append(" ".join(reply.text for reply in replies)[:60])

threads = [threading.Thread(target=sender, args=tuple(t)) for t in targets]
for thread in threads:
    thread.start()
cpu = time.process_time()
barrier.wait()
started = time.perf_counter()
for thread in threads:
    thread.join()
print("RESULT " + json.dumps({"latencies": latencies, "wall": time.perf_counter() - started,
                             "cpu": time.process_time() - cpu, "errors": errors}))
runtime.engine.dispose()
"""


def console_orders(label: str, tree: Path, url: str, targets: list[tuple[str, str]], rounds: int) -> str:
    """All senders' 下单 + 确认 as threads of one process running `tree`'s dialogs on `url`."""
    import json

    from bench.e2e_bench import server_environ

    done = subprocess.run([sys.executable, "-c", CONSOLE_CHILD, url, NLU_MODEL_PATH, json.dumps(targets),
                           str(rounds)], cwd=tree, env={**server_environ(), "PYTHONPATH": str(tree)},
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"console orders in {tree} failed:\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    confirms = result["latencies"]
    errors = f"errors={len(result['errors'])}" + (f" e.g. {result['errors'][0]!r}" if result["errors"] else "")
    return (f"{label:<34} 确认 n={len(confirms):<3} p50 {percentile(confirms, 50) * 1000:7.0f} ms  "
            f"p99 {percentile(confirms, 99) * 1000:7.0f} ms  max {max(confirms, default=0) * 1000:7.0f} ms  "
            f"| {result['wall']:5.1f} s wall, process CPU {result['cpu']:5.1f} s  {errors}  "
            f"load average: {load_average()}")


# --- figures ---------------------------------------------------------------------------------------


def lock_text(phase: Phase) -> str:
    samples, waiting, most = phase.lock_waits
    return f"lock waits in {waiting / max(1, samples):4.0%} of {samples} samples (at most {most} waiting)"


def order_line(phase: Phase) -> str:
    confirms = phase.latencies("confirm_order")
    return (f"{phase.label:<34} 确认 n={len(confirms):<3} p50 {percentile(confirms, 50) * 1000:7.0f} ms  "
            f"p99 {percentile(confirms, 99) * 1000:7.0f} ms  max {max(confirms, default=0) * 1000:7.0f} ms  "
            f"| {len(phase.sent)} msgs {phase.wall:5.1f} s wall, server CPU {phase.server_cpu:5.1f} s, "
            f"PostgreSQL CPU {phase.database_cpu:4.1f} s, bench CPU {phase.client_cpu:4.2f} s, {lock_text(phase)}  errors={len(phase.errors)}  load average: {phase.load}")


def mix_line(phase: Phase) -> str:
    latencies = phase.latencies("mix")
    return (f"{phase.label:<34} {phase.rate():6.1f} msg/s  p50 {percentile(latencies, 50) * 1000:6.0f} ms  "
            f"p99 {percentile(latencies, 99) * 1000:6.0f} ms  | {len(phase.sent)} msgs {phase.wall:5.1f} s wall, "
            f"server CPU {phase.server_cpu:5.1f} s ({phase.server_cpu / max(1, len(phase.sent)) * 1000:.1f} ms/msg), "
            f"PostgreSQL CPU {phase.database_cpu:4.1f} s ({phase.database_cpu / max(1, len(phase.sent)) * 1000:.1f} ms/msg), "
            f"bench CPU {phase.client_cpu:4.2f} s  errors={len(phase.errors)}  load average: {phase.load}, "
            f"{phase.machine.text() if phase.machine else ''}"
            f"  processed by: {' '.join(f'{k}={v}' for k, v in phase.by_worker.items())}")


def cost(phase: Phase) -> float:
    """CPU seconds per message: server + PostgreSQL + this generator."""
    return (phase.server_cpu + phase.database_cpu + phase.client_cpu) / max(1, len(phase.sent))


def capacity(one: Phase, two: Phase) -> tuple[float, float]:
    """msg/s that 2 free cores would carry at the CPU each message cost in these runs: everything (server,
    PostgreSQL, this generator) shares the 2 cores, and one worker's Python gets at most one of them. CPU
    seconds leave out the time the hypervisor stole, so this ratio holds however busy the host was."""
    one_worker = min(2 / cost(one), len(one.sent) / max(one.server_cpu, 1e-9))
    return one_worker, 2 / cost(two)


def stolen(phase: Phase) -> str:
    return f"{phase.machine.steal:.0%}" if phase.machine else "?"


def summary(rates: dict[int, list[Phase]]) -> list[str]:
    """Run k with 1 worker and run k with 2 ran back to back: each pair is compared on its own, since the
    host may take a third of the CPU in one minute and none in the next (printed as stolen)."""
    lines = ["throughput --workers 2 / --workers 1, pair by pair (runs back to back; CPU stolen by the host "
             "in each):"]
    ratios, ceilings = [], []
    for k, (one, two) in enumerate(zip(rates[1], rates[2], strict=True), 1):
        one_worker, two_workers = capacity(one, two)
        ratios.append(two.rate() / one.rate())
        ceilings.append(two_workers / one_worker)
        lines.append(f"  pair {k}: {two.rate():6.1f} / {one.rate():6.1f} msg/s = {ratios[-1]:.2f}x  (stolen "
                     f"{stolen(two)} / {stolen(one)});  from CPU time: {two_workers:.0f} / {one_worker:.0f} msg/s "
                     f"= {ceilings[-1]:.2f}x  (CPU per message {cost(two) * 1000:.1f} / {cost(one) * 1000:.1f} ms: "
                     "server + PostgreSQL + generator)")
    best = {w: max(p.rate() for p in phases) for w, phases in rates.items()}
    lines.append(f"median of the pairs: {statistics.median(ratios):.2f}x measured, {statistics.median(ceilings):.2f}x "
                 f"from CPU time;  best of each: {best[2]:.1f} vs {best[1]:.1f} msg/s = {best[2] / best[1]:.2f}x")
    return lines


def show(line: str, phase: Phase) -> None:
    print(line, flush=True)
    for error in phase.errors[:3]:
        print(f"    {error}", flush=True)


def before_tree(commit: str, folder: Path) -> Path:
    """`git archive` of `commit` (no worktree, nothing written into this repository)."""
    target = folder / f"before-{commit}"
    target.mkdir()
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--senders", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=4, help="orders per sender in the 确认 phase")
    ap.add_argument("--messages", type=int, default=320, help="messages per throughput run")
    ap.add_argument("--repeat", type=int, default=3, help="throughput runs per worker count (alternating)")
    ap.add_argument("--before", default=DEFAULT_BEFORE, help="commit with the old order numbering, or 'none'")
    args = ap.parse_args()

    from bench.e2e_bench import prepare
    from bot.fakes import FakeAPI, ServerThread

    ensure_model()
    print(machine_line())
    print(speed_reference())
    print("shared machine: wall figures include waiting for a core; CPU seconds are printed next to them")
    started = time.monotonic()
    aes = new_aes_key()
    load = Load(Tencent(WX_TOKEN, aes, WX_APP), int(time.time()) * 1000)
    with tempfile.TemporaryDirectory(prefix="crmbot-workers-") as tmp, throwaway_pg("crmbot_workers") as url, \
            ServerThread(FakeAPI().app) as fake:
        workdir = Path(tmp)
        prepared = prepare(url, args.senders)
        targets = prepared["wechat"]
        print(f"-- demo data seeded, {args.senders} WeChat senders bound ({time.monotonic() - started:.0f} s)")

        # Untimed, after every start: each process pays its first parses (lazy imports, names fed to jieba) here,
        # and each pooled connection prepares its statements (psycopg does after 5 uses), as in a server that
        # has been up for a while.
        warm_up = mix_scripts(targets, 16 * len(targets))

        def serve(workers: int, tree: Path = REPO) -> Any:
            return crmbot_run(url, workdir, fake.url, aes, workers=workers, tree=tree)

        print(f"-- 1. order 确认, {args.senders} senders at once, {args.rounds} orders each; console = threads of one "
              "process (DialogEngine.handle), wechat = callbacks to `crmbot run`")
        trees = [("this tree", REPO)]
        if args.before != "none":
            trees.insert(0, (f"before ({args.before})", before_tree(args.before, workdir)))
        for name, tree in trees:
            print(console_orders(f"{name}, console", tree, url, prepared["console"], args.rounds), flush=True)
        for name, tree in trees[:-1]:
            with serve(1, tree) as server:
                load.run("warm-up", server, warm_up)
                phase = load.run(f"{name}, wechat, 1 process", server, order_scripts(targets, args.rounds),
                                 sample_locks=True)
                show(order_line(phase), phase)
                # Its way to a second core: another `crmbot run` on its own port (what scale-out did).
                with serve(1, tree) as other:
                    load.run("warm-up", other, warm_up)
                    phase = load.run(f"{name}, wechat, 2 processes", [server, other],
                                     order_scripts(targets, args.rounds), sample_locks=True)
                    show(order_line(phase), phase)
        confirms: dict[int, Phase] = {}
        rates: dict[int, list[Phase]] = {1: [], 2: []}
        for turn in range(args.repeat):
            for workers in (1, 2):
                with serve(workers) as server:
                    load.run("warm-up", server, warm_up)
                    if turn == 0:
                        confirms[workers] = load.run(f"this tree, wechat, {workers} worker(s)", server,
                                                     order_scripts(targets, args.rounds), sample_locks=True)
                        show(order_line(confirms[workers]), confirms[workers])
                    rates[workers].append(load.run(f"mix, {workers} worker(s), run {turn + 1}", server,
                                                   mix_scripts(targets, args.messages)))
        print(f"-- 2. throughput, end-to-end mix, {args.senders} senders, {args.messages} messages a run")
        for workers in (1, 2):
            for phase in rates[workers]:
                show(mix_line(phase), phase)
        for line in summary(rates):
            print(line)
    print(f"done in {time.monotonic() - started:.0f} s; load average now {load_average()}; {speed_reference()}")


if __name__ == "__main__":
    main()
