"""The inbox: every verified inbound chat message is a row before the platform gets its answer.

Life of a row: `accept` (INSERT … ON CONFLICT DO NOTHING on the platform's message id: a retry or a second
copy is the same row) → claimed (`processing`, by the receiving process at once or by any worker later)
→ `complete` inside the dialog's own transaction (guarded by the claim, so a message is processed once)
→ `done`. A failure puts the row back with back-off; after `max_attempts` it is `dead` (listed by
`crmbot inbox list --failed`, sent again by `inbox retry ID`). Claims of a process that died are taken
over after `claim_timeout`, or at once by the same node when it starts again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, aliased

from crm_store import messages as SM
from crm_store.models import InboxMessage
from crm_store.services import dead_letters
from crm_store.services.common import Actor, dialect_insert, require_aware, written_in

PUSH = "push"  # the reply travels through the outbox


@dataclass(frozen=True)
class Accepted:
    id: int
    new: bool  # False: this platform message id was already in the inbox (a retry or a copy)
    claimed: bool = False  # born claimed: the receiving process handles it now


def accept(
    session: Session,
    *,
    channel: str,
    message_key: str,
    external_id: str,
    text: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    delivery: str | None = None,
    claimed_by: str | None = None,
) -> Accepted:
    """Record an inbound message once. With `claimed_by` a new row is born claimed by that worker
    (the receiving process handles it at once; if it dies, the claim times out like any other)."""
    require_aware(now)
    table = InboxMessage.__table__
    c = table.c
    plain = {"channel": channel, "message_key": message_key, "external_id": external_id, "text": text,
             "payload": payload, "received_at": now, "delivery": delivery, "next_attempt_at": now}
    if claimed_by:
        # Born claimed unless the same person's earlier message is not done yet (then the workers take it,
        # in their order): decided inside the one INSERT … SELECT, no second statement.
        busy = exists().where(c.channel == channel, c.external_id == external_id, _unfinished(c.status))
        decided = {
            "status": case((busy, "pending"), else_="processing"),
            "attempts": case((busy, 0), else_=1),
            "claimed_by": case((busy, null()), else_=bindparam("claim", claimed_by, type_=c.claimed_by.type)),
            "claimed_at": case((busy, null()), else_=bindparam("claimed_now", now, type_=c.claimed_at.type)),
        }
    else:
        decided = {"status": literal("pending"), "attempts": literal(0), "claimed_by": null(), "claimed_at": null()}
    columns = [*plain, *decided]
    row = select(*(bindparam(f"v_{name}", value, type_=c[name].type) for name, value in plain.items()),
                 *decided.values()).where(true())  # SQLite's INSERT … SELECT … ON CONFLICT needs a WHERE
    stmt = (dialect_insert(session)(table).from_select(columns, row)
            .on_conflict_do_nothing(index_elements=[c.channel, c.message_key])
            .returning(c.id, c.status))
    inserted = session.execute(stmt).first()
    if inserted is not None:
        return Accepted(int(inserted.id), True, inserted.status == "processing")
    existing = session.scalar(select(InboxMessage.id).where(
        InboxMessage.channel == channel, InboxMessage.message_key == message_key))
    assert existing is not None  # the conflicting row is committed (PostgreSQL waited for it)
    return Accepted(int(existing), False)


# Written into the SQL (common.written_in): then ix_inbox_status_next_attempt is sought and the partial
# ix_inbox_sender_unfinished applies, also in a prepared statement's generic plan.
PENDING, PROCESSING = written_in("pending"), written_in("processing")


def _unfinished(status: Any) -> Any:
    return status.in_([PENDING, PROCESSING])


def _due(now: datetime, claim_timeout: timedelta) -> Any:
    return or_(
        and_(InboxMessage.status == PENDING, InboxMessage.next_attempt_at <= now),
        and_(InboxMessage.status == PROCESSING, InboxMessage.claimed_at < now - claim_timeout),
    )


def claim_due(
    session: Session, now: datetime, worker_id: str, limit: int, *, claim_timeout: timedelta
) -> list[InboxMessage]:
    """Atomically take up to `limit` due rows, the oldest unfinished one per sender only, so one person's
    messages are handled in the order they came (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer)."""
    require_aware(now)
    earlier = aliased(InboxMessage)
    busy_or_older = exists().where(
        earlier.channel == InboxMessage.channel,
        earlier.external_id == InboxMessage.external_id,
        earlier.id != InboxMessage.id,
        _unfinished(earlier.status),
        or_(and_(earlier.status == PROCESSING, earlier.claimed_at >= now - claim_timeout),
            earlier.id < InboxMessage.id),
    )
    pick = (select(InboxMessage.id).where(_due(now, claim_timeout), ~busy_or_older)
            .order_by(InboxMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        due_ids = pick.with_for_update(skip_locked=True, of=InboxMessage).cte("due_ids").prefix_with("MATERIALIZED")
    else:
        due_ids = pick.cte("due_ids")
    stmt = (
        update(InboxMessage)
        .where(InboxMessage.id.in_(select(due_ids.c.id)), _due(now, claim_timeout))
        .values(status="processing", claimed_by=worker_id, claimed_at=now, attempts=InboxMessage.attempts + 1)
        .returning(InboxMessage)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return sorted(session.scalars(stmt), key=lambda row: row.id)


def reclaim_own(session: Session, node: str, now: datetime) -> int:
    """At start: rows this node had claimed before it died are due again now (same node id, same port).
    Claims are `<node>/<token>`: a token per claim, so two claims of one row are never confused."""
    prefix = f"{node}/"
    result = session.execute(
        update(InboxMessage)
        .where(InboxMessage.status == PROCESSING,
               func.substr(InboxMessage.claimed_by, 1, len(prefix)) == prefix)
        .values(status="pending", next_attempt_at=now, claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def complete(
    session: Session, message_id: int, worker_id: str, *, replies: list[dict[str, Any]], now: datetime,
    push_if_undecided: bool,
) -> str | None:
    """Mark a claimed row done, inside the transaction that wrote its effects; returns its delivery.

    Raises ClaimLost when this worker no longer holds the claim (it timed out and another worker took the
    row): the caller's transaction must roll back, so the message's effects are written once.
    `push_if_undecided`: nobody waits for a passive answer (a background worker), so the reply is pushed.
    """
    values: dict[str, Any] = {"status": "done", "processed_at": now, "replies": {"replies": replies},
                              "last_error": None}
    if push_if_undecided:
        values["delivery"] = PUSH
    stmt = (
        update(InboxMessage)
        .where(InboxMessage.id == message_id, InboxMessage.status == "processing",
               InboxMessage.claimed_by == worker_id)
        .values(**values)
        .returning(InboxMessage.delivery)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(stmt).first()
    if row is None:
        raise ClaimLost(message_id)
    return row.delivery


class ClaimLost(Exception):
    """Another worker took this inbox row over; whatever this worker did must be rolled back."""


def hand_to_outbox(session: Session, message_id: int) -> bool:
    """The passive window ran out: the reply must be pushed. False when the row is already done (and its
    reply can still go back passively) — the UPDATE waits for a concurrent `complete`, so exactly one of
    the two decides."""
    result = session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == message_id, InboxMessage.status != "done")
        .values(delivery=PUSH)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1


def fail(
    session: Session, message_id: int, worker_id: str, *, error: str, now: datetime, max_attempts: int,
    base_seconds: float, max_seconds: float,
) -> str | None:
    """Processing raised: back off and try again, or give up (`dead`) after max_attempts.
    Returns the new status, or None when the claim was lost meanwhile."""
    row = session.scalar(select(InboxMessage).where(
        InboxMessage.id == message_id, InboxMessage.claimed_by == worker_id, InboxMessage.status == "processing"))
    if row is None:
        return None
    row.last_error = error[:2000]
    row.claimed_by = None
    row.claimed_at = None
    if row.attempts >= max_attempts:
        row.status = "dead"
    else:
        row.status = "pending"
        delay = min(max_seconds, base_seconds * 2 ** max(0, row.attempts - 1))
        row.next_attempt_at = now + timedelta(seconds=delay)
    session.flush()
    return row.status


def prune_done(session: Session, before: datetime) -> int:
    """Delete rows done before `before` (a platform's retry of them comes within hours); returns how many.
    Dead rows stay: they wait for `crmbot inbox retry`."""
    require_aware(before)
    result = session.execute(
        delete(InboxMessage)
        .where(InboxMessage.status == written_in("done"), InboxMessage.processed_at < before)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def get(session: Session, message_id: int) -> InboxMessage | None:
    return session.get(InboxMessage, message_id)


def stored_replies(row: InboxMessage) -> list[dict[str, Any]]:
    return list((row.replies or {}).get("replies", []))


def list_messages(session: Session, *, failed: bool = False, limit: int = 50) -> list[InboxMessage]:
    return dead_letters.list_rows(session, InboxMessage, failed=failed, limit=limit)


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(InboxMessage.status, func.count()).group_by(InboxMessage.status))
    return {status: int(n) for status, n in rows}


def retry(session: Session, actor: Actor | None, message_id: int, *, now: datetime) -> InboxMessage:
    """Process a dead-lettered message again (admins; actor None is the local operator's CLI). Nobody waits
    for a passive answer any more: the reply is pushed."""
    return dead_letters.requeue(session, actor, InboxMessage, message_id, now=now, entity="inbox",
                                texts=(SM.INBOX_ADMIN_ONLY, SM.INBOX_NOT_FOUND, SM.INBOX_NOT_RETRYABLE),
                                delivery=PUSH)


# --- long button payloads (shared by every process) ----------------------------------------------


def remember_button(session: Session, key: str, text: str, now: datetime) -> None:
    from crm_store.models import ButtonPayload

    table = ButtonPayload.__table__
    session.execute(dialect_insert(session)(table).values(key=key, text=text, created_at=now)
                    .on_conflict_do_nothing(index_elements=[table.c.key]))


def recall_button(session: Session, key: str) -> str | None:
    from crm_store.models import ButtonPayload

    return session.scalar(select(ButtonPayload.text).where(ButtonPayload.key == key))
