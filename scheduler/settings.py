"""What the scheduler reads from the configuration.

`SchedulerSettings` is the `scheduler:` section of config.yml; `SchedulerConfig` is the view the jobs are
given (the application config satisfies it), so the scheduler never imports the application config.
"""

from __future__ import annotations

from datetime import time
from typing import Protocol

from pydantic import Field

from crm_store.rules import RulesConfig, Section


class SchedulerSettings(Section):
    enabled: bool = True
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    max_attempts: int = Field(5, ge=1)
    missed_grace_minutes: int = Field(120, ge=0)
    # --- scheduler/outbox (issue 8) ---
    # Times of day (configured timezone) of the daily jobs; the weekly report runs on Monday.
    # Member care runs at rules.care.send_hour.
    digest_time: time = time(8, 30)
    dormant_time: time = time(9, 0)
    weekly_report_time: time = time(8, 30)
    # Handled inbound messages (inbox rows done, processed-message marks) are kept this long, then deleted
    # at housekeeping_time: platforms retry within hours, and the table must not grow for ever.
    housekeeping_time: time = time(3, 30)
    keep_handled_days: int = Field(30, ge=1)
    reminder_scan_seconds: int = Field(60, ge=1)
    escalation_scan_minutes: int = Field(15, ge=1)
    # Outbox delivery: polling, batch size, back-off (base * 2^(attempt-1), capped) and stale-claim timeout.
    poll_seconds: float = Field(2.0, gt=0)
    batch_size: int = Field(50, ge=1)
    retry_base_seconds: int = Field(60, ge=1)
    retry_max_seconds: int = Field(3600, ge=1)
    claim_timeout_seconds: int = Field(300, ge=10)
    # Token bucket per channel (messages/second); channels not listed use default_rate_per_second.
    default_rate_per_second: float = Field(20.0, gt=0)
    rate_per_second: dict[str, float] = Field(default_factory=dict)
    # Followers try to become leader this often (PostgreSQL advisory lock).
    leader_retry_seconds: float = Field(5.0, gt=0)


class SchedulerConfig(RulesConfig, Protocol):
    """The settings this package reads: its own section plus the business rules, timezone and chart folder."""

    @property
    def scheduler(self) -> SchedulerSettings: ...
