"""Start and stop the scheduler inside a process: outbox delivery everywhere, jobs on the leader only."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from crm_store.db import transaction
from crm_store.services import scheduler_nodes
from scheduler import jobs
from scheduler.clock import Clock, SystemClock
from scheduler.leader import LeaderLock, lock_for
from scheduler.notifier import Notifier, Sender

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"


def build_apscheduler(runtime: Any) -> BackgroundScheduler:
    config = runtime.config
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=runtime.engine, tablename=JOBSTORE_TABLE)},
        executors={"default": ThreadPoolExecutor(2)},
        # A daily job missed while every process was down still runs once (coalesced) when one comes back.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600},
        timezone=config.tz,
    )


def install_jobs(scheduler: BackgroundScheduler, config: Any) -> None:
    """Add missing jobs; keep existing ones (and their pending run times) unless their trigger changed."""
    for name, trigger in jobs.triggers(config).items():
        existing = scheduler.get_job(name)
        if existing is not None and str(existing.trigger) == str(trigger):
            continue
        scheduler.add_job(jobs.run_job, trigger, args=[name], id=name, name=name, replace_existing=True)


class SchedulerService:
    """Returned by start_scheduler; call shutdown() to stop everything it started."""

    def __init__(
        self, runtime: Any, senders: Mapping[str, Sender], *, clock: Clock | None = None,
        lock: LeaderLock | None = None, node_id: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.config = runtime.config
        self.clock = clock or SystemClock(self.config.tz)
        self.node_id = node_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lock = lock or lock_for(runtime.engine)
        self.notifier = Notifier(runtime.factory, senders, self.config.scheduler, self.config.tz,
                                 clock=self.clock, worker_id=self.node_id)
        self.is_leader = False
        self.apscheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- lifecycle ---

    def start(self) -> SchedulerService:
        jobs.activate(jobs.JobContext(self.config, self.runtime.factory, self.clock))
        self._spawn("outbox-notifier", self.notifier.run, self._stop)
        if self.config.scheduler.enabled:
            self._spawn("scheduler-leader", self._elect_loop)
        return self

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        self.notifier.wake()
        for thread in self._threads:
            thread.join(timeout=30 if wait else 0.1)
        self._step_down()
        self.lock.release()
        try:
            with transaction(self.runtime.factory) as session:
                scheduler_nodes.remove(session, self.node_id)
        except Exception:  # the database may already be gone at shutdown
            log.warning("could not remove scheduler node row", exc_info=True)
        jobs.activate(None)

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- leadership ---

    def _elect_loop(self) -> None:
        interval = self.config.scheduler.leader_retry_seconds
        while not self._stop.is_set():
            try:
                self._elect_round()
            except Exception:
                log.exception("leader election round failed")
            self._stop.wait(interval)

    def _elect_round(self) -> None:
        if self.is_leader and not self.lock.still_held():
            log.warning("lost the scheduler leader lock; stepping down")
            self._step_down()
        elif not self.is_leader and self.lock.try_acquire():
            self._become_leader()
        now = datetime.now(UTC)  # operational heartbeat: real time, whatever clock the jobs use
        with transaction(self.runtime.factory) as session:
            scheduler_nodes.heartbeat(session, self.node_id, hostname=socket.gethostname(), pid=os.getpid(),
                                      is_leader=self.is_leader, now=now)
            scheduler_nodes.prune(session, now, older_than=timedelta(days=1))

    def _become_leader(self) -> None:
        log.info("node %s is the scheduler leader", self.node_id)
        scheduler = build_apscheduler(self.runtime)
        try:
            scheduler.start(paused=True)
            install_jobs(scheduler, self.config)
            scheduler.resume()
        except Exception:
            # Do not sit on the lock without running the jobs: let another process (or the next round) lead.
            if scheduler.running:
                scheduler.shutdown(wait=False)
            self.lock.release()
            raise
        self.apscheduler = scheduler
        self.is_leader = True
        # Catch up at once: reminders due while no process ran are sent now (old ones summarised).
        scheduler.modify_job("due_reminders", next_run_time=datetime.now(self.config.tz))

    def _step_down(self) -> None:
        if self.apscheduler is not None:
            try:
                self.apscheduler.shutdown(wait=False)
            except Exception:
                log.warning("scheduler shutdown failed", exc_info=True)
        self.apscheduler = None
        self.is_leader = False


def start_scheduler(
    runtime: Any, senders: Mapping[str, Sender], *, clock: Clock | None = None
) -> SchedulerService:
    """Start outbox delivery (always) and leader election + jobs (scheduler.enabled); returns the service."""
    return SchedulerService(runtime, senders, clock=clock).start()


def run_scheduler(
    runtime: Any, senders: Mapping[str, Sender], stop_event: threading.Event, *, clock: Clock | None = None
) -> None:
    """Blocking form for `crmbot run`: runs until stop_event is set, then shuts down cleanly."""
    service = start_scheduler(runtime, senders, clock=clock)
    try:
        stop_event.wait()
    finally:
        service.shutdown()
