"""Scheduled care messages for members: membership expiry (30/7/1 days before), birthday, points expiry.

Who is due comes from crm_store.services.members (members issue) and the wording from its render_care
(templates in rules.care.templates). Messages are inserted in bulk with ON CONFLICT DO NOTHING on the
idempotency key, so a rerun the same day adds nothing. Opted-out members are not queued (and the notifier
skips anyone who opts out after queueing).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crm_store.rules import Rules
from crm_store.services import members, outbox
from crm_store.services.common import require_aware


def expiry_care(session: Session, now: datetime, *, rules: Rules, tz: ZoneInfo) -> int:
    """Members whose membership ends in exactly n days, for each n in rules.reminders.member_expiry_days_before.

    Key expiry:member {id}:{expires}:{n}d.
    """
    require_aware(now)
    today = now.astimezone(tz).date()
    rows: list[dict[str, Any]] = []
    for n in sorted(set(rules.reminders.member_expiry_days_before)):
        day = today + timedelta(days=n)
        for member in members.members_expiring_on(session, day):
            rows.append({
                "key": f"expiry:member {member.id}:{day.isoformat()}:{n}d", "kind": "care_expiry",
                "text": members.render_care(rules.care, "membership_expiry", member, days=n),
                "due_at": now, "member_id": member.id, "payload": {"days_before": n, "expires_at": day.isoformat()},
            })
    return outbox.enqueue_many(session, rows, now=now)


def birthday_care(session: Session, now: datetime, *, rules: Rules, tz: ZoneInfo) -> int:
    """Members whose birthday is today (local; 29 Feb on 28 Feb in common years); key birthday:member {id}:{year}."""
    require_aware(now)
    if not rules.care.birthday:
        return 0
    today = now.astimezone(tz).date()
    rows = [
        {
            "key": f"birthday:member {m.id}:{today.year}", "kind": "care_birthday",
            "text": members.render_care(rules.care, "birthday", m), "due_at": now, "member_id": m.id,
        }
        for m in members.members_with_birthday(session, today)
    ]
    return outbox.enqueue_many(session, rows, now=now)


def points_expiry_care(session: Session, now: datetime, *, rules: Rules, tz: ZoneInfo) -> int:
    """Members with unused points expiring within the largest of rules.care.points_expiry_days_before.

    One message per member, lot date and threshold: the threshold is the smallest n the lot is within, so a
    member first seen 5 days before gets the 7-day message only, never 30 and 7 on the same day.
    Key points:member {id}:{expires_on}:{n}d. Run members.expire_points first (the job does).
    """
    require_aware(now)
    thresholds = sorted(set(rules.care.points_expiry_days_before))
    if not thresholds:
        return 0
    today = now.astimezone(tz).date()
    rows = []
    for due in members.points_expiring_before(session, today + timedelta(days=thresholds[-1])):
        remaining = (due.expires_on - today).days
        n = next(t for t in thresholds if remaining <= t)
        rows.append({
            "key": f"points:member {due.member.id}:{due.expires_on.isoformat()}:{n}d", "kind": "care_points",
            "text": members.render_care(rules.care, "points_expiry", due.member, expiring_points=due.points,
                                        points_expire_on=due.expires_on),
            "due_at": now, "member_id": due.member.id,
            "payload": {"points": due.points, "expires_on": due.expires_on.isoformat(), "days_before": n},
        })
    return outbox.enqueue_many(session, rows, now=now)
