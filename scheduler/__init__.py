"""Everything the assistant says without being asked: scheduled jobs and outbox delivery.

- `run_scheduler(runtime, senders, stop_event, *, clock=None)`: blocks until stop_event is set (what
  `crmbot run` calls in a thread), then shuts down cleanly.
- `start_scheduler(runtime, senders, *, clock=None) -> SchedulerService`: non-blocking; `.shutdown()`.

Every process delivers outbox rows (scheduler.notifier.Notifier, atomic claims); only the leader runs
the jobs (APScheduler with its job store in the CRM database; leader = PostgreSQL advisory lock, or the
only process on SQLite). With `scheduler.enabled: false` the process only delivers.

Admin commands (`crmbot scheduler|reminders|outbox`) live in crmbot/cli/scheduler.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scheduler.service import SchedulerService, run_scheduler, start_scheduler

__all__ = ["SchedulerService", "run_scheduler", "start_scheduler"]


def __getattr__(name: str) -> Any:
    """APScheduler loads on first use, so `scheduler.settings` alone stays light (the app config imports it)."""
    if name not in __all__:
        raise AttributeError(f"module 'scheduler' has no attribute {name!r}")
    from scheduler import service

    return getattr(service, name)
