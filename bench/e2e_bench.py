"""End-to-end benchmark: chat message in → reply out, with the real NLU, the real dialogs and the demo data.

    python bench/e2e_bench.py [--messages 120] [--senders 1,4,16] [--backends sqlite,postgresql]
                              [--paths console,telegram,wechat] [--quick]

Paths:
- console:  DialogEngine.handle in this process (what bot/console.py calls), one thread per sender;
- telegram: Telegram-shaped JSON updates with the secret header POSTed to a `crmbot run` process
            (webhook mode); latency = POST until the fake Bot API receives the sendMessage for that chat;
- wechat:   WeChat-encrypted XML callbacks (wechatpy, safe mode) POSTed to the same process;
            latency = until the encrypted passive reply is back.
Each sender is a distinct chat identity bound through crm_store services to a rep of the demo data, and
runs the same mix: visit + confirmation, phone query, reminder + confirmation, history + next page,
today's follow-ups. Figures per configuration: messages/second over the run, p50/p99 latency.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    NLU_MODEL_PATH,
    REPO,
    Tencent,
    free_port,
    load_average,
    machine_line,
    new_aes_key,
    percentile,
    text_message,
    throwaway_pg,
)
from dialogs.messages import INTERNAL_ERROR  # noqa: E402

MIX = [
    "今天下午拜访了{c}，聊了新项目，预计下周三报价",
    "确认",
    "{c}的电话是多少",
    "后天上午10点提醒我给{c}发合同",
    "确认",
    "{c}最近怎么样了",
    "更多",
    "今天该联系谁",
]
REPS = ("张伟", "李娜", "王强")
TG_TOKEN, TG_SECRET = "4242:BENCH", "bench-secret-header"
WX_APP, WX_TOKEN = "wxbench", "benchtoken"


@dataclass
class Result:
    backend: str
    path: str
    senders: int
    messages: int
    seconds: float
    latencies: list[float]
    errors: int

    def line(self) -> str:
        return (f"{self.backend:<10} {self.path:<8} senders={self.senders:<2} messages={self.messages:<4} "
                f"{self.messages / self.seconds:7.1f} msg/s  p50 {percentile(self.latencies, 50) * 1000:7.1f} ms"
                f"  p99 {percentile(self.latencies, 99) * 1000:7.1f} ms  errors={self.errors}"
                f"  load average: {load_average()}")


class ErrorTally(logging.Handler):
    """Dialog failures (logged with a traceback by the engine) become one summary line per config."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.causes: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        cause = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}" if exc else record.getMessage()[:120]
        self.causes[cause] = self.causes.get(cause, 0) + 1

    def flush_summary(self) -> None:
        for cause, count in sorted(self.causes.items(), key=lambda kv: -kv[1]):
            print(f"    {count} × {cause}")
        self.causes.clear()


def server_errors(log: Path) -> list[str]:
    """The exception lines of tracebacks in a `crmbot run` log."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if line.startswith(("sqlalchemy.exc.", "sqlite3.", "psycopg."))]


# --- database and identities ------------------------------------------------------------------


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'e2e.db'}"
    else:
        with throwaway_pg("crmbot_e2e") as url:
            yield url


def prepare(url: str, senders: int) -> dict[str, list[tuple[str, str]]]:
    """Seed the demo data; bind `senders` identities per channel; returns channel -> [(external id, customer)]."""
    from sqlalchemy import select

    from crm_store import services
    from crm_store.db import transaction
    from crm_store.models import Customer, Staff
    from crmbot.config import Config
    from crmbot.wiring import open_database, seed_demo_if_empty

    config = Config.model_validate({"database": {"url": url}})
    runtime = open_database(config)
    now = datetime.now(config.tz)
    try:
        seed_demo_if_empty(runtime, now)
        bound: dict[str, list[tuple[str, str]]] = {}
        with transaction(runtime.factory) as session:
            staff = {s.name: s for s in session.scalars(select(Staff))}
            owned = {}
            for name in REPS:
                rows = session.scalars(select(Customer).where(Customer.owner_id == staff[name].id)
                                       .order_by(Customer.id)).all()
                names = [min([a.alias for a in c.aliases] + [c.name], key=len) for c in rows]
                owned[name] = [n for n in names if not n.startswith("华润")]
            for channel, make_id in (("console", lambda i: f"bench-{i}"), ("telegram", lambda i: str(900000 + i)),
                                     ("wechat", lambda i: f"o-bench-{i}")):
                bound[channel] = []
                for i in range(senders):
                    rep = REPS[i % len(REPS)]
                    external = make_id(i)
                    if services.identity_for(session, channel, external) is None:
                        services.bind_identity(session, channel, external, staff_id=staff[rep].id, now=now)
                    customers = owned[rep]
                    bound[channel].append((external, customers[(i // len(REPS)) % len(customers)]))
        return bound
    finally:
        runtime.engine.dispose()


# --- load driver ---------------------------------------------------------------------------------


def drive(backend: str, path: str, senders: int, messages: int,
          send: Callable[[int, str], None], targets: list[tuple[str, str]],
          after: Callable[[int], None] | None = None) -> Result:
    """`senders` threads, each sending its share of `messages` from MIX in order; send() blocks for the reply."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    share = max(1, messages // senders)

    def worker(index: int) -> None:
        _, customer = targets[index]
        for k in range(share):
            text = MIX[k % len(MIX)].format(c=customer)
            started = time.perf_counter()
            try:
                send(index, text)
            except Exception as exc:  # counted and shown: a benchmark never hides failures
                with lock:
                    errors[0] += 1
                if errors[0] <= 3:
                    print(f"  error ({path}, sender {index}): {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            with lock:
                latencies.append(time.perf_counter() - started)
            if after is not None:
                after(index)  # untimed: e.g. wait for a second reply to the same message

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(senders)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(backend, path, senders, share * senders, time.perf_counter() - started, latencies, errors[0])


def bench_console(url: str, backend: str, targets: list[tuple[str, str]], senders: int, messages: int,
                  dialogs: Any) -> Result:
    def send(index: int, text: str) -> None:
        replies = dialogs.handle("console", targets[index][0], text)
        if not replies:
            raise RuntimeError("no reply")
        if any(r.text == INTERNAL_ERROR for r in replies):
            raise RuntimeError("the dialogs answered INTERNAL_ERROR (see the log for the exception)")

    return drive(backend, "console", senders, messages, send, targets)


class TelegramSink:
    """The fake Bot API, plus a condition variable so a sender wakes the moment its reply arrives."""

    def __init__(self) -> None:
        from bot.fakes import FakeAPI

        self.api = FakeAPI()
        self.cond = threading.Condition()
        self.count: dict[int, int] = {}
        self.failed = 0  # replies that were the dialogs' INTERNAL_ERROR
        inner = self.api.handle

        async def handle(request: Any) -> Any:
            response = await inner(request)
            call = self.api.calls[-1]
            if call.path.endswith("/sendMessage") or call.path.endswith("/sendPhoto"):
                chat = int(call.params.get("chat_id") or 0)
                with self.cond:
                    self.count[chat] = self.count.get(chat, 0) + 1
                    self.failed += call.params.get("text") == INTERNAL_ERROR
                    self.cond.notify_all()
            return response

        self.api.handle = handle  # type: ignore[method-assign]
        from starlette.applications import Starlette
        from starlette.routing import Route

        self.app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])

    def seen(self, chat: int) -> int:
        with self.cond:
            return self.count.get(chat, 0)

    def wait_more(self, chat: int, before: int, timeout: float = 30) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: self.count.get(chat, 0) > before, timeout):
                raise TimeoutError(f"no sendMessage for chat {chat}")

    def settle(self, chat: int, quiet: float = 0.01) -> None:
        """Later replies to the same message land before the next message is sent."""
        while True:
            before = self.seen(chat)
            time.sleep(quiet)
            if self.seen(chat) == before:
                return


def bench_telegram(base: str, sink: TelegramSink, backend: str, targets: list[tuple[str, str]], senders: int,
                   messages: int, ids: Iterator[int]) -> Result:
    clients = [httpx.Client(timeout=30) for _ in range(senders)]
    failed_before = sink.failed

    def send(index: int, text: str) -> None:
        uid = int(targets[index][0])
        before = sink.seen(uid)
        n = next(ids)
        update = {"update_id": n, "message": {"message_id": n, "date": int(time.time()),
                                              "from": {"id": uid, "is_bot": False, "first_name": f"b{uid}"},
                                              "chat": {"id": uid, "type": "private"}, "text": text}}
        response = clients[index].post(f"{base}/telegram/webhook", json=update,
                                       headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
        response.raise_for_status()
        sink.wait_more(uid, before)

    result = drive(backend, "telegram", senders, messages, send, targets,
                   after=lambda i: sink.settle(int(targets[i][0])))
    result.errors += sink.failed - failed_before
    for client in clients:
        client.close()
    return result


def bench_wechat(base: str, tencent: Tencent, backend: str, targets: list[tuple[str, str]], senders: int,
                 messages: int, ids: Iterator[int]) -> Result:
    clients = [httpx.Client(timeout=30) for _ in range(senders)]

    def send(index: int, text: str) -> None:
        query, body = tencent.callback(text_message(targets[index][0], tencent.to_user, text, next(ids)))
        response = clients[index].post(f"{base}/wechat", params=query, content=body,
                                       headers={"content-type": "text/xml"})
        response.raise_for_status()
        answer = tencent.open_reply(response.text)
        if not answer:
            raise RuntimeError("no passive reply (answered `success`)")
        if INTERNAL_ERROR in answer:
            raise RuntimeError("the dialogs answered INTERNAL_ERROR (see the server log)")

    result = drive(backend, "wechat", senders, messages, send, targets)
    for client in clients:
        client.close()
    return result


# --- the crmbot run process ------------------------------------------------------------------------


def server_environ() -> dict[str, str]:
    """The environment for a `crmbot run` process: the benchmarks' own CRMBOT_BENCH_* settings (e.g. the NLU
    model path) are not config keys, and `crmbot run` refuses any CRMBOT_ variable it cannot map."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CRMBOT_BENCH_")}


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> float:
    """Until /healthz is green, the NLU is loaded and every channel has connected (`crmbot run` answers
    webhooks before the NLU is loaded: those messages wait in the inbox). Returns the seconds waited."""
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"crmbot run exited:\n{log.read_text()[-3000:]}")
        try:
            health = httpx.get(f"{base}/healthz", timeout=2)
            state = health.json() if health.status_code == 200 else {}
            channels = state.get("channels") or {}
            if state and state.get("nlu", "ok") == "ok" and "starting" not in dict(channels).values():
                return time.monotonic() - started
        except (httpx.HTTPError, ValueError):
            pass
        if time.monotonic() - started > timeout:
            raise RuntimeError("crmbot run did not come up")
        time.sleep(0.2)


@contextmanager
def crmbot_run(url: str, workdir: Path, fake_url: str, aes: str, model: str,
               outbox_rate: float | None = None) -> Iterator[str]:
    port = free_port()
    scheduler: dict[str, Any] = {"enabled": False}  # outbox delivery only: the benchmark measures replies
    if outbox_rate is not None:  # the per-channel token bucket replies pass through (default 20/s)
        scheduler["default_rate_per_second"] = outbox_rate
    config = {
        "database": {"url": url},
        "nlu": {"model_path": model},
        "server": {"host": "127.0.0.1", "port": port, "token_cache_url": ""},
        "scheduler": scheduler,
        "channels": {
            "telegram": {"enabled": True, "token": TG_TOKEN, "base_url": f"{fake_url}/bot",
                         "base_file_url": f"{fake_url}/file/bot",
                         "webhook_url": "https://bench.example.com/telegram/webhook", "webhook_secret": TG_SECRET},
            "wechat": {"enabled": True, "app_id": WX_APP, "secret": "s", "token": WX_TOKEN, "encoding_aes_key": aes,
                       "api_base_url": f"{fake_url}/cgi-bin/"},
        },
    }
    path = workdir / f"crmbot-{port}.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    log = workdir / "crmbot-run.log"
    env = {**server_environ(), "CRMBOT_CONFIG": str(path), "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "crmbot.cli", "run"], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, log)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def run_backend(backend: str, url: str, workdir: Path, paths: list[str], counts: list[int], messages: int,
                sink: TelegramSink, fake_url: str, ids: Iterator[int], tally: ErrorTally,
                outbox_rate: float | None = None) -> list[Result]:
    """Every path × sender count on one database; prints each figure as it is measured."""
    from crmbot.config import Config
    from crmbot.wiring import build_dialogs, open_database

    targets = prepare(url, max(counts))
    print(f"-- {backend}: demo data seeded, {max(counts)} identities bound per channel")
    results: list[Result] = []
    if "console" in paths:
        runtime = open_database(Config.model_validate({"database": {"url": url},
                                                       "nlu": {"model_path": NLU_MODEL_PATH}}))
        dialogs = build_dialogs(runtime)
        for n in counts:
            results.append(bench_console(url, backend, targets["console"], n, messages, dialogs))
            print(results[-1].line(), flush=True)
            tally.flush_summary()
        runtime.engine.dispose()
    http_paths = [p for p in paths if p in ("telegram", "wechat")]
    if not http_paths:
        return results
    aes = new_aes_key()
    tencent = Tencent(WX_TOKEN, aes, WX_APP)
    log = workdir / "crmbot-run.log"
    with crmbot_run(url, workdir, fake_url, aes, NLU_MODEL_PATH, outbox_rate) as base:
        for path in http_paths:
            for n in counts:
                seen = len(server_errors(log))
                since = datetime.now().astimezone()
                if path == "telegram":
                    result = bench_telegram(base, sink, backend, targets["telegram"], n, messages, ids)
                else:
                    result = bench_wechat(base, tencent, backend, targets["wechat"], n, messages, ids)
                results.append(result)
                print(result.line(), flush=True)
                print(stage_line(url, path, since), flush=True)
                errors = server_errors(log)[seen:]
                for cause in sorted(set(errors)):
                    print(f"    {errors.count(cause)} × {cause[:140]}  (server log)")
    return results


def stage_line(url: str, channel: str, since: datetime) -> str:
    """Where a message's time went inside `crmbot run` (median over this configuration's messages), from the
    inbox and outbox timestamps: received → claimed → processed, and for pushed replies (Telegram, WeChat past
    its window) → outbox claim → sent."""
    from sqlalchemy import select

    from crm_store.db import make_engine, session_factory
    from crm_store.models import InboxMessage, OutboxMessage

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            rows = session.scalars(select(InboxMessage).where(InboxMessage.channel == channel,
                                                              InboxMessage.received_at >= since)).all()
            keys = [f"reply:{channel}:{row.message_key}:0" for row in rows]
            pushed = {o.idempotency_key: o for o in session.scalars(
                select(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys)))} if keys else {}
    finally:
        engine.dispose()
    stages: dict[str, list[float]] = {"received→claimed": [], "claimed→processed": [],
                                      "processed→outbox claimed": [], "outbox claimed→sent": []}

    def add(name: str, start: datetime | None, end: datetime | None) -> None:
        if start is not None and end is not None:
            stages[name].append((end - start).total_seconds())

    for row in rows:
        add("received→claimed", row.received_at, row.claimed_at)
        add("claimed→processed", row.claimed_at, row.processed_at)
        reply = pushed.get(f"reply:{channel}:{row.message_key}:0")
        if reply is not None:
            add("processed→outbox claimed", row.processed_at, reply.claimed_at)
            add("outbox claimed→sent", reply.claimed_at, reply.sent_at)
    parts = [f"{name} {percentile(values, 50) * 1000:.1f}" for name, values in stages.items() if values]
    return f"    stages (p50 ms, {len(rows)} inbox rows, {len(pushed)} pushed): " + ", ".join(parts)


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=160, help="messages per configuration")
    ap.add_argument("--senders", default="1,4,16")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--paths", default="console,telegram,wechat")
    ap.add_argument("--quick", action="store_true", help="32 messages per configuration")
    ap.add_argument("--outbox-rate", type=float, default=None,
                    help="messages/second of the outbox's per-channel token bucket in `crmbot run` (default: the "
                         "product's 20/s); Telegram replies pass through it, so it caps the telegram figure")
    args = ap.parse_args()
    messages = 32 if args.quick else args.messages
    counts = [int(x) for x in args.senders.split(",") if x]
    paths = [p for p in args.paths.split(",") if p]

    from zoneinfo import ZoneInfo

    from bot.fakes import ServerThread
    from crmbot.config import NLUSettings
    from nlu import load_parser

    tally = ErrorTally()
    engine_log = logging.getLogger("dialogs.engine")
    engine_log.addHandler(tally)
    engine_log.propagate = False
    print(machine_line())
    print("shared machine: other processes run at the same time; the load average is printed with each figure")
    load_parser(NLUSettings(model_path=NLU_MODEL_PATH), ZoneInfo("Asia/Shanghai"))  # train once if missing
    ids = itertools.count(int(time.time()) * 1000)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="crmbot-e2e-") as tmp:
        sink = TelegramSink()
        with ServerThread(sink.app) as fake:
            for backend in [b for b in args.backends.split(",") if b]:
                with database(backend, Path(tmp)) as url:
                    results += run_backend(backend, url, Path(tmp), paths, counts, messages, sink, fake.url, ids,
                                           tally, args.outbox_rate)
    print(f"done; load average now {load_average()}")
    sys.exit(1 if any(r.errors for r in results) else 0)


if __name__ == "__main__":
    main()
