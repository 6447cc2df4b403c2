"""Everything the assistant says without being asked: scheduled jobs and outbox delivery.

- `run_scheduler(runtime, senders, stop_event, *, clock=None)`: blocks until stop_event is set (what
  `crmbot run` calls in a thread), then shuts down cleanly.
- `start_scheduler(runtime, senders, *, clock=None) -> SchedulerService`: non-blocking; `.shutdown()`.

Every process delivers outbox rows (scheduler.notifier.Notifier, atomic claims); only the leader runs
the jobs (APScheduler with its job store in the CRM database; leader = PostgreSQL advisory lock, or the
only process on SQLite). With `scheduler.enabled: false` the process only delivers.

CLI (mounted in crmbot/cli.py):
    from scheduler.cli import outbox_app, reminders_app, scheduler_app
    app.add_typer(scheduler_app, name="scheduler")
    app.add_typer(reminders_app, name="reminders")
    app.add_typer(outbox_app, name="outbox")
"""

from scheduler.service import SchedulerService, run_scheduler, start_scheduler

__all__ = ["SchedulerService", "run_scheduler", "start_scheduler"]
