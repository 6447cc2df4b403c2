"""`crmbot run --workers N`: N processes serving one port (pre-fork), so more than one core does the work.

The parent checks the configuration, binds the port and migrates the database once, then forks the workers
before it has started any thread or kept any database connection. Each worker is a whole `crmbot run` on the inherited socket
(webhooks, inbox workers, outbox, a scheduler candidate); the kernel gives each new connection to the
worker that accepts it first. The database makes this safe: a platform message (MsgId, update id) is one
inbox row, inbox and outbox rows are claimed with FOR UPDATE SKIP LOCKED and a token per claim, and the
scheduled jobs run only on the process holding the leader lock (scheduler/leader.py). Each worker has its
own stable node id (`host:port:wN`): a worker that dies is started again under the same id and takes back
at once the messages it had not finished.

PostgreSQL only. On SQLite more than one worker is refused: SQLite has one writer, so the workers would
only queue behind each other, and every process would count as the scheduler leader (reminders twice).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from types import FrameType
from typing import Any

from bot import messages as BM
from crmbot.config import Config, ConfigError

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 1.0
QUICK_EXIT_SECONDS = 15.0  # a worker dying sooner than this after its start counts towards giving up
MAX_QUICK_EXITS = 3
STOP_TIMEOUT_SECONDS = 60  # graceful stop of every worker (requests in flight, inbox), then SIGKILL


def worker_problems(config: Config, workers: int) -> list[str]:
    """Why this configuration cannot run `workers` processes (empty for one)."""
    if workers <= 1:
        return []
    problems = []
    if config.database.url.startswith("sqlite"):
        problems.append(BM.RUN_WORKERS_SQLITE.format(workers=workers))
    if any(settings.enabled and settings.single_receiver() for _, settings in config.channels):
        problems.append(BM.RUN_WORKERS_TELEGRAM_POLLING.format(workers=workers))
    return problems


def worker_node_id(port: int, index: int) -> str:
    """The inbox node id of worker `index`: the same after a restart, so it takes back its own claims."""
    return f"{socket.gethostname()}:{port}:w{index + 1}"


@dataclass
class Child:
    index: int
    started: float
    quick_exits: int = 0


class Supervisor:
    """Forks the workers, starts a dead one again (same index), and stops them all on SIGTERM/SIGINT."""

    def __init__(self, config: Config, sock: socket.socket, workers: int, announce: Any = print) -> None:
        self.config = config
        self.sock = sock
        self.workers = workers
        self.announce = announce
        self.children: dict[int, Child] = {}
        self.stopping = False
        self.pid = os.getpid()

    def run(self) -> int:
        """Serve until stopped; the exit code: 0 after a stop, 1 when a worker kept crashing."""
        handlers = {sig: signal.signal(sig, self._on_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        handlers[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._on_stop_timeout)
        try:
            for index in range(self.workers):
                self._spawn(Child(index, time.monotonic()))
            host, port = self.sock.getsockname()[:2]
            self.announce(BM.RUN_WORKERS_STARTED.format(workers=self.workers, host=host, port=port,
                                                        pids="、".join(map(str, self.children))))
            return self._watch()
        finally:
            signal.alarm(0)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    def _spawn(self, child: Child) -> None:
        child.started = time.monotonic()
        sys.stdout.flush()  # else each worker would print the supervisor's buffered lines again
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the supervisor's code
            code = 1
            try:
                code = serve_worker(self.config, self.sock, child.index, self.workers)
            except BaseException:  # noqa: BLE001 - shown, then the supervisor decides about a restart
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = child

    def _watch(self) -> int:
        code = 0
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            child = self.children.pop(pid, None)
            if child is None or self.stopping:
                continue
            quick = time.monotonic() - child.started < QUICK_EXIT_SECONDS
            child.quick_exits = child.quick_exits + 1 if quick else 0
            if child.quick_exits >= MAX_QUICK_EXITS:
                self.announce(BM.RUN_WORKER_CRASHING.format(number=child.index + 1, times=child.quick_exits))
                self._stop_all()
                code = 1
                continue
            self.announce(BM.RUN_WORKER_DIED.format(number=child.index + 1, pid=pid, status=_describe(status),
                                                    delay=RESTART_DELAY_SECONDS))
            time.sleep(RESTART_DELAY_SECONDS)
            if not self.stopping:
                self._spawn(child)
        return code

    def _on_stop(self, _signum: int, _frame: FrameType | None) -> None:
        if os.getpid() == self.pid:  # a worker between fork and its own handlers: not the supervisor's job
            self._stop_all()

    def _stop_all(self) -> None:
        if not self.stopping:
            self.stopping = True
            signal.alarm(STOP_TIMEOUT_SECONDS)
        for pid in list(self.children):
            _signal(pid, signal.SIGTERM)

    def _on_stop_timeout(self, _signum: int, _frame: FrameType | None) -> None:
        for pid in list(self.children):
            log.warning("worker %s did not stop within %s s: killed", pid, STOP_TIMEOUT_SECONDS)
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name
    return f"exit {os.waitstatus_to_exitcode(status)}"


def serve_worker(config: Config, sock: socket.socket, index: int, workers: int) -> int:
    """One worker, in the forked child: a whole `crmbot run` on the shared socket."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)  # until uvicorn installs its own: a stop now just ends this worker
    from crmbot.serve import build_server

    prefix = BM.RUN_WORKER_PREFIX.format(number=index + 1)
    served = build_server(config, sock=sock, announce=lambda line: print(prefix + line, flush=True),
                          node_id=worker_node_id(int(sock.getsockname()[1]), index))
    served.state["worker"] = f"{index + 1}/{workers}"
    served.server.run(sockets=[sock])
    return 0


def serve_workers(config: Config, workers: int, announce: Any = print) -> int:
    """Check, bind, fork `workers` workers and supervise them until stopped; the exit code."""
    from crmbot.serve import bind_configured, startup_problems

    problems = worker_problems(config, workers) + startup_problems(config)
    if problems:
        raise ConfigError("无法启动 / cannot start: " + "; ".join(problems))
    if not config.server.token_cache_url and any(
        settings.enabled and settings.fetches_access_tokens for _, settings in config.channels
    ):
        announce(BM.RUN_WORKERS_TOKEN_CACHE.format(workers=workers))
    sock = bind_configured(config)
    try:
        from crmbot.wiring import open_database

        # Migrate once, here: workers migrating a new database at the same moment collide on CREATE TABLE.
        # Disposed before forking, so no worker inherits a connection.
        open_database(config).engine.dispose()
        return Supervisor(config, sock, workers, announce).run()
    finally:
        sock.close()
