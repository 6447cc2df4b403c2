"""`crmbot run`: every enabled channel, the inbox workers, the outbox and the scheduler, in one process
(`--workers N`: N such processes on one port, see crmbot.prefork).

Start-up order is chosen so a restart fits inside Tencent's retries (~15 s): the port is bound first (a
port in use is one clear line, never "已启动" and then a crash), the database is opened, the webhooks
answer at once (each verified message is committed to the inbox), and the NLU model loads in the
background; messages that arrive meanwhile wait in the inbox. The model is never trained here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn

from bot import messages as BM
from crmbot.config import Config, ConfigError

log = logging.getLogger(__name__)


def channel_problems(config: Config) -> list[str]:
    """What an enabled channel cannot start without (the same list for `run` and `config-check`)."""
    problems: list[str] = []
    for name, settings in config.channels:
        if settings.enabled:
            problems += settings.problems(name)
    return problems


def model_problem(config: Config) -> str | None:
    """Why the local NLU model cannot serve (missing, unreadable, built from other data or library versions),
    read from its header only; `crmbot run` never trains, it says to run `crmbot nlu train`."""
    if config.nlu.backend != "local":
        return None
    from nlu import messages as NM
    from nlu.data_io import data_hash
    from nlu.model import ModelUnreadable, model_key, read_header, stale_reason

    path = Path(config.nlu.model_path)  # absolute once loaded (taken from the config file's folder)
    if not path.is_file():
        return f"{NM.MODEL_MISSING.format(path=path)}。{NM.RUN_TRAIN}"
    data_dir = config.nlu.data_dir or None
    try:
        reason = stale_reason(read_header(path).get("key", {}), model_key(data_hash(data_dir)))
    except (OSError, ModelUnreadable) as exc:
        return f"{NM.MODEL_UNREADABLE.format(path=path, detail=exc)}。{NM.RUN_TRAIN}"
    return f"{NM.MODEL_STALE.format(path=path, reason=reason)}。{NM.RUN_TRAIN}" if reason else None


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown; we finish with exit code 0 instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket before anything else; raises OSError (port in use, no permission)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets' connections; without it every HTTP
    # answer waited ~40 ms for the client's delayed ACK (Nagle), on every webhook.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_configured(config: Config) -> socket.socket:
    """The configured port, bound; one clear line (ConfigError) when it is taken or not allowed."""
    try:
        return bind(config.server.host, config.server.port)
    except OSError as exc:
        raise ConfigError(BM.RUN_PORT_IN_USE.format(host=config.server.host, port=config.server.port,
                                                    reason=exc.strerror or exc)) from exc


def startup_problems(config: Config, *, check_model: bool = True) -> list[str]:
    """What `crmbot run` refuses to start with: an enabled channel's missing settings, an unusable model."""
    problems = channel_problems(config)
    missing_model = model_problem(config) if check_model else None
    if missing_model:
        problems.append(missing_model)
    return problems


@dataclass
class Served:
    server: uvicorn.Server
    sock: socket.socket
    channels: list[str]
    app: Any = None
    state: dict[str, str] = field(default_factory=dict)
    intake: Any = None
    scheduler: Any = None
    runtime: Any = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])


def build_server(
    config: Config, *, sock: socket.socket | None = None, announce: Callable[[str], None] = print,
    node_id: str | None = None, dialogs: Any = None, clock: Callable[[], datetime] | None = None,
) -> Served:
    """Everything `crmbot run` starts, wired but not yet running (tests and benchmarks drive it too)."""
    from bot.channels import discover
    from bot.console import ConsoleSender
    from bot.http import build_app
    from bot.intake import Intake
    from crmbot.wiring import build_dialogs, open_database
    from scheduler.clock import CallableClock
    from scheduler.service import SchedulerService

    problems = startup_problems(config, check_model=dialogs is None)
    if problems:
        raise ConfigError("无法启动 / cannot start: " + "; ".join(problems))
    if sock is None:
        sock = bind_configured(config)
    port = sock.getsockname()[1]
    runtime = open_database(config)
    clock = clock or (lambda: datetime.now(config.tz))
    # Stable across restarts of this node: a restarted process takes back its own unfinished messages.
    node = node_id or f"{socket.gethostname()}:{port}"
    # One clock for the inbox and the notifier: outbox rows born claimed carry the inbox's time, and the
    # notifier must not read them as stale claims (it would send them a second time).
    scheduler = SchedulerService(runtime, {}, node_id=f"{node}:{threading.get_native_id()}", clock=CallableClock(clock))
    intake = Intake(runtime.factory, worker_id=node, settings=config.inbox, clock=clock,
                    wake_outbox=scheduler.notifier.wake, deliver=scheduler.notifier.deliver_claimed,
                    outbox_worker=scheduler.notifier.worker_id)
    registry = discover()
    channels = {
        name: registry[name](settings, intake, max_body_bytes=config.server.max_body_bytes,
                             token_cache_url=config.server.token_cache_url)
        for name, settings in config.channels if settings.enabled
    }
    intake.attach(channels)
    scheduler.notifier.senders.update({"console": ConsoleSender(), **channels})
    scheduler.notifier.add_buckets({name: c.rate_per_second for name, c in channels.items() if c.rate_per_second})
    state = {"nlu": "loading"}

    def load_dialogs() -> None:
        try:
            intake.set_dialogs(dialogs or build_dialogs(runtime, clock=clock, train_if_missing=False))
            state["nlu"] = "ok"
            from nlu.timeparse import warm_up

            warm_up()  # jionlp loads on the first time expression otherwise: pay it now, not in a reply
        except Exception as exc:  # the inbox keeps the messages; a restart after the fix processes them
            state["nlu"] = f"failed: {type(exc).__name__}"
            log.exception("NLU load failed")
            announce(BM.RUN_NLU_FAILED.format(reason=f"{type(exc).__name__}: {exc}"))

    def health() -> dict[str, str]:
        checks = {"database": "ok"}
        try:
            with runtime.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # report, never raise: this is what monitoring reads
            checks["database"] = f"error: {type(exc).__name__}"
        if state["nlu"].startswith("failed"):  # messages are kept, but nothing is being answered
            checks["nlu"] = state["nlu"]
        return checks

    async def start_background() -> None:
        scheduler.start()
        intake.start()
        # After the server is taking requests: unpickling the model holds the GIL in long stretches, and
        # the webhooks (and /healthz) must answer first.
        # Just after the server takes requests: unpickling the model holds the GIL in long stretches, and
        # the webhooks (and /healthz) should answer first.
        asyncio.get_running_loop().call_later(
            0.3, lambda: threading.Thread(target=load_dialogs, name="nlu-load", daemon=True).start())
        announce(BM.RUN_STARTED.format(host=config.server.host, port=port, channels="、".join(channels) or "-"))
        if not channels:
            announce(BM.RUN_NO_CHANNEL)

    async def stop_background() -> None:
        await asyncio.to_thread(intake.stop)
        await intake.drain()
        await asyncio.to_thread(scheduler.shutdown)
        runtime.engine.dispose()

    app = build_app(channels.values(), health=health, info=lambda: dict(state),
                    on_startup=[start_background], on_shutdown=[stop_background], announce=announce)
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=True))
    return Served(server, sock, list(channels), app, state, intake, scheduler, runtime)


def run(config: Config, workers: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT (uvicorn stops accepting, finishes requests in flight, then the shutdown
    hooks stop the workers and the scheduler). More than one worker: crmbot.prefork, one process each."""
    from crmbot.logging_setup import install_redaction

    workers = workers or config.server.workers
    install_redaction(config)  # no phone number or secret in any log line
    process = " [%(process)d]" if workers > 1 else ""  # which worker wrote the line
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s{process} %(name)s: %(message)s")
    for chatty in ("alembic", "httpx"):  # per-request and per-plugin lines: not what an operator reads
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if workers > 1:
        from crmbot.prefork import serve_workers

        code = serve_workers(config, workers)
        print(BM.RUN_STOPPED)
        if code:
            raise SystemExit(code)
        return
    served = build_server(config)
    served.server.run(sockets=[served.sock])
    print(BM.RUN_STOPPED)
