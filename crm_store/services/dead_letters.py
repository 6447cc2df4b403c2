"""What the inbox and the outbox share as queues: listing rows (newest first, or only the dead ones) and
putting a dead-lettered row back in the queue (admins only, audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store.errors import InvalidInput, NotFound, PermissionDenied
from crm_store.services.common import Actor, audit, require_aware

FAILED_STATUSES = ("dead",)
Row = TypeVar("Row")


def list_rows(session: Session, model: type[Row], *, failed: bool, limit: int) -> list[Row]:
    table: Any = model
    stmt = select(table)
    if failed:
        stmt = stmt.where(table.status.in_(FAILED_STATUSES))
    return list(session.scalars(stmt.order_by(table.id.desc()).limit(limit)))


def requeue(session: Session, actor: Actor | None, model: type[Row], row_id: int, *, now: datetime, entity: str,
            texts: tuple[str, str, str], **reset: Any) -> Row:
    """A dead row back to `pending` with its attempts cleared (plus `reset`); actor None is the local
    operator's CLI. `texts`: the Chinese answers for not-admin, not-found and not-dead."""
    require_aware(now)
    admin_only, not_found, not_retryable = texts
    if actor is not None and actor.role != "admin":
        raise PermissionDenied(admin_only)
    row: Any = session.get(model, row_id, with_for_update=True)
    if row is None:
        raise NotFound(not_found)
    if row.status not in FAILED_STATUSES:
        raise InvalidInput(not_retryable)
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    for name, value in {"status": "pending", "attempts": 0, "next_attempt_at": now, "claimed_by": None,
                        "claimed_at": None, **reset}.items():
        setattr(row, name, value)
    session.flush()
    audit(session, actor, f"{entity}.retry", entity, row.id, before=before,
          after={"status": "pending", "attempts": 0}, now=now)
    return row
