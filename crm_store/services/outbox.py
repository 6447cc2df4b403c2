"""The outbox: every outgoing message is a row first; the scheduler's notifier delivers it once."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput
from crm_store.models import ChatIdentity, Member, OutboxMessage, Staff
from crm_store.services import dead_letters
from crm_store.services.common import Actor, dialect_insert, require_aware, written_in


def claimed_by(session: Session, message_ids: Iterable[int], worker_id: str) -> list[OutboxMessage]:
    """The given rows that are still claimed (`sending`) by this worker, in id order."""
    return list(session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(list(message_ids)), OutboxMessage.status == "sending",
               OutboxMessage.claimed_by == worker_id)
        .order_by(OutboxMessage.id)
    ))


@dataclass(frozen=True)
class Address:
    channel: str
    external_id: str


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    text: str,
    due_at: datetime,
    now: datetime,
    staff_id: int | None = None,
    member_id: int | None = None,
    address: Address | None = None,
    attachment_path: str | None = None,
    payload: dict[str, Any] | None = None,
    claimed_by: str | None = None,
    topic: str | None = None,
) -> OutboxMessage | None:
    """Add a message unless one with the same idempotency key exists; returns the new row or None.

    `topic`: what the message is about ("order:12"): undoing that withdraws it while unsent (`withdraw`).
    `claimed_by`: the row is born claimed by that outbox worker, which sends it right after the commit (a
    chat reply); if that worker dies first, the claim times out and any notifier sends it.

    The recipient is a staff member or a member (reached on their newest bound chat account), or a
    chat account itself (`address`: a reply to whoever wrote, bound or not).
    The unique key makes a second enqueue of the same reminder a no-op, also across processes: one
    INSERT … ON CONFLICT DO NOTHING (a concurrent insert of the same key waits, then does nothing).
    """
    require_aware(due_at)
    if [staff_id, member_id, address].count(None) != 2:
        raise InvalidInput(SM.OUTBOX_ONE_RECIPIENT)
    values = {
        "idempotency_key": key, "kind": kind, "recipient_staff_id": staff_id, "recipient_member_id": member_id,
        "channel": address.channel if address else None, "external_id": address.external_id if address else None,
        "text": text, "attachment_path": attachment_path, "payload": payload, "due_at": due_at,
        "next_attempt_at": due_at, "created_at": now, "status": "sending" if claimed_by else "pending",
        "attempts": 1 if claimed_by else 0, "claimed_by": claimed_by, "claimed_at": now if claimed_by else None,
        "topic": topic,
    }
    stmt = (dialect_insert(session)(OutboxMessage).values(**values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(OutboxMessage))
    return session.scalars(stmt).first()


# --- bulk enqueue (daily scans over many members) -----------------------------------------------


def enqueue_many(session: Session, rows: Iterable[dict[str, Any]], *, now: datetime) -> int:
    """Insert many messages at once, skipping keys that exist (ON CONFLICT DO NOTHING); returns rows added.

    Each row: key, kind, text, due_at, and staff_id or member_id (optionally payload, attachment_path, topic).
    """
    values = []
    for row in rows:
        require_aware(row["due_at"])
        if (row.get("staff_id") is None) == (row.get("member_id") is None):
            raise InvalidInput(SM.OUTBOX_ONE_RECIPIENT)
        values.append(
            {
                "idempotency_key": row["key"],
                "kind": row["kind"],
                "recipient_staff_id": row.get("staff_id"),
                "recipient_member_id": row.get("member_id"),
                "text": row["text"],
                "attachment_path": row.get("attachment_path"),
                "payload": row.get("payload"),
                "topic": row.get("topic"),
                "due_at": row["due_at"],
                "next_attempt_at": row["due_at"],
                "status": "pending",
                "attempts": 0,
                "created_at": now,
            }
        )
    if not values:
        return 0
    insert = dialect_insert(session)
    added = 0
    for start in range(0, len(values), 5000):
        chunk = values[start : start + 5000]
        stmt = insert(OutboxMessage).on_conflict_do_nothing(index_elements=["idempotency_key"])
        result = session.execute(stmt.returning(OutboxMessage.id), chunk)
        added += len(result.all())
    return added


# --- delivery: claim, resolve, record the outcome -----------------------------------------------


def claim_due(
    session: Session, now: datetime, worker_id: str, limit: int, *, claim_timeout: timedelta = timedelta(minutes=5)
) -> list[OutboxMessage]:
    """Atomically take up to `limit` due messages for this worker (status -> sending, attempts + 1).

    Due: pending with next_attempt_at <= now, or a claim older than claim_timeout (the worker died between
    claim and send). PostgreSQL: FOR UPDATE SKIP LOCKED so concurrent workers never take the same row;
    SQLite: one UPDATE ... RETURNING, which holds the database write lock for its duration.
    The caller commits right away so the claim is visible before anything is sent.
    """
    require_aware(now)
    due = or_(
        and_(OutboxMessage.status == written_in("pending"), OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == written_in("sending"), OutboxMessage.claimed_at < now - claim_timeout),
    )
    pick = select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # A materialized CTE locks exactly the picked rows once (a plain IN-subquery may be re-run by the planner).
        due_ids = pick.with_for_update(skip_locked=True).cte("due_ids").prefix_with("MATERIALIZED")
    else:
        due_ids = pick.cte("due_ids")
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(select(due_ids.c.id)))
        .values(status="sending", claimed_by=worker_id, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    rows = list(session.scalars(stmt))
    rows.sort(key=lambda r: (r.next_attempt_at, r.id))
    return rows


def recipient_address(
    session: Session, *, staff_id: int | None, member_id: int | None, channels: Collection[str]
) -> Address | None:
    """The recipient's newest bound chat account on a channel we can send through."""
    if not channels:
        return None
    owner = ChatIdentity.staff_id == staff_id if staff_id is not None else ChatIdentity.member_id == member_id
    row = session.execute(
        select(ChatIdentity.channel, ChatIdentity.external_id)
        .where(owner, ChatIdentity.channel.in_(list(channels)))
        .order_by(ChatIdentity.bound_at.desc(), ChatIdentity.id.desc())
        .limit(1)
    ).first()
    return Address(row.channel, row.external_id) if row else None


def recipient_addresses(
    session: Session, messages: Iterable[OutboxMessage], channels: Collection[str]
) -> dict[int, Address]:
    """recipient_address for a whole batch in one query: message id -> newest usable chat account."""
    messages = list(messages)
    found = {m.id: Address(m.channel, m.external_id) for m in messages
             if m.external_id is not None and m.channel in channels}
    staff_ids = {m.recipient_staff_id for m in messages if m.recipient_staff_id is not None}
    member_ids = {m.recipient_member_id for m in messages if m.recipient_member_id is not None}
    if not channels or not (staff_ids or member_ids):
        return found
    owners = []
    if staff_ids:
        owners.append(ChatIdentity.staff_id.in_(staff_ids))
    if member_ids:
        owners.append(ChatIdentity.member_id.in_(member_ids))
    rows = session.execute(
        select(ChatIdentity.staff_id, ChatIdentity.member_id, ChatIdentity.channel, ChatIdentity.external_id)
        .where(or_(*owners), ChatIdentity.channel.in_(list(channels)))
        .order_by(ChatIdentity.bound_at, ChatIdentity.id)
    )
    newest: dict[tuple[str, int], Address] = {}
    for row in rows:  # ascending, so the newest binding wins
        if row.staff_id is not None:
            newest[("staff", row.staff_id)] = Address(row.channel, row.external_id)
        if row.member_id is not None:
            newest[("member", row.member_id)] = Address(row.channel, row.external_id)
    for m in messages:
        if m.external_id is not None:
            continue
        key = ("staff", m.recipient_staff_id) if m.recipient_staff_id is not None else ("member", m.recipient_member_id)
        if key in newest:
            found[m.id] = newest[key]  # type: ignore[index]
    return found


def opted_out_members(session: Session, member_ids: Iterable[int]) -> set[int]:
    ids = set(member_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Member.id).where(Member.id.in_(ids), Member.opted_out.is_(True))))


def member_opted_out(session: Session, member_id: int) -> bool:
    return bool(session.scalar(select(Member.opted_out).where(Member.id == member_id)))


def _finish(session: Session, message_id: int, worker_id: str, **values: Any) -> bool:
    """Record an outcome only if this worker still holds the claim (a reclaimed row is someone else's)."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending", OutboxMessage.claimed_by == worker_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def mark_sent(session: Session, message_id: int, worker_id: str, *, channel: str, now: datetime) -> bool:
    return _finish(session, message_id, worker_id, status="sent", channel=channel, sent_at=now, last_error=None)


def mark_skipped(session: Session, message_id: int, worker_id: str, *, reason: str, now: datetime) -> bool:
    return _finish(session, message_id, worker_id, status="skipped", last_error=reason, sent_at=None)


def mark_dead(session: Session, message_id: int, worker_id: str, *, error: str, now: datetime) -> bool:
    return _finish(session, message_id, worker_id, status="dead", last_error=error[:2000])


def defer(session: Session, message_id: int, worker_id: str, *, until: datetime) -> bool:
    """Put a claimed message back for later without counting the attempt (quiet hours)."""
    return _finish(
        session, message_id, worker_id,
        status="pending", next_attempt_at=until, attempts=OutboxMessage.attempts - 1, claimed_by=None, claimed_at=None,
    )


# --- staff without a chat account: hold, tell whoever is waiting on them, send when they bind ------


def hold_for_binding(session: Session, message: OutboxMessage, worker_id: str, *, now: datetime) -> bool:
    """A staff recipient has no chat account we can send through: keep the message `waiting` (sent when they
    bind, see release_waiting) instead of giving up, and tell the person the payload names in
    `unreachable_tell` (the submitter of an order waiting for this approver) once."""
    held = _finish(session, message.id, worker_id, status="waiting", last_error=SM.OUTBOX_NO_CHANNEL,
                   claimed_by=None, claimed_at=None, attempts=OutboxMessage.attempts - 1)
    tell = (message.payload or {}).get("unreachable_tell")
    if held and isinstance(tell, int) and tell != message.recipient_staff_id:
        recipient = session.get(Staff, message.recipient_staff_id)
        enqueue(
            session, key=f"unreachable:{message.id}", kind="notice", staff_id=tell, due_at=now, now=now,
            text=SM.OUTBOX_UNREACHABLE.format(name=recipient.name if recipient else "", what=_headline(message.text)),
            topic=message.topic,
        )
    return held


def _headline(text: str) -> str:
    return text.strip().splitlines()[0][:60] if text.strip() else ""


def release_waiting(session: Session, staff_id: int, *, now: datetime) -> int:
    """A staff member just bound a chat account: what waited for them goes out at the next delivery."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.recipient_staff_id == staff_id, OutboxMessage.status == "waiting")
        .values(status="pending", next_attempt_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# --- withdrawing what an undone change announced ------------------------------------------------


def withdraw(
    session: Session, topic: str, *, now: datetime, since: datetime | None = None, keep_for: int | None = None
) -> list[OutboxMessage]:
    """Messages about `topic` (created at or after `since`; not those for staff `keep_for`) that were not sent
    yet are withdrawn; returns the ones that already went out (or may be going out right now), so the caller
    can tell their readers."""
    require_aware(now)
    conditions = [OutboxMessage.topic == topic, OutboxMessage.status.in_(("pending", "waiting", "sending", "sent"))]
    if since is not None:
        conditions.append(OutboxMessage.created_at >= since)
    if keep_for is not None:
        conditions.append(or_(OutboxMessage.recipient_staff_id.is_(None), OutboxMessage.recipient_staff_id != keep_for))
    rows = list(session.scalars(
        select(OutboxMessage)
        .where(*conditions)
        .order_by(OutboxMessage.id)
        .with_for_update()
    ))
    delivered = []
    for row in rows:
        if row.status in ("sending", "sent"):  # a claimed row may be in the channel's hands already
            delivered.append(row)
        if row.status != "sent":
            row.status, row.claimed_by, row.claimed_at, row.last_error = "withdrawn", None, None, None
    session.flush()
    return delivered


def backoff(attempts: int, base_seconds: int, max_seconds: int) -> timedelta:
    """Exponential back-off after the n-th failed attempt: base, 2*base, 4*base ... capped."""
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def mark_failed(
    session: Session,
    message: OutboxMessage,
    worker_id: str,
    *,
    error: str,
    now: datetime,
    max_attempts: int,
    base_seconds: int = 60,
    max_seconds: int = 3600,
) -> str:
    """A send failed: retry later with back-off, or give up (dead) after max_attempts; returns the new status."""
    if message.attempts >= max_attempts:
        mark_dead(session, message.id, worker_id, error=error, now=now)
        return "dead"
    _finish(
        session, message.id, worker_id,
        status="pending", last_error=error[:2000], claimed_by=None, claimed_at=None,
        next_attempt_at=now + backoff(message.attempts, base_seconds, max_seconds),
    )
    return "pending"


def expire_stale_claims(session: Session, now: datetime, *, claim_timeout: timedelta, max_attempts: int) -> int:
    """Claims abandoned again and again (a message that crashes its worker) are given up, not retried forever."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == written_in("sending"),
            OutboxMessage.claimed_at < now - claim_timeout,
            OutboxMessage.attempts >= max_attempts,
        )
        .values(status="dead", last_error=SM.OUTBOX_CLAIM_EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# --- admin: list and retry ----------------------------------------------------------------------


def list_messages(session: Session, *, failed: bool = False, limit: int = 50) -> list[OutboxMessage]:
    return dead_letters.list_rows(session, OutboxMessage, failed=failed, limit=limit)


def retry(session: Session, actor: Actor | None, message_id: int, *, now: datetime) -> OutboxMessage:
    """Send a dead-lettered message again (admins; actor None is the local operator's CLI)."""
    return dead_letters.requeue(session, actor, OutboxMessage, message_id, now=now, entity="outbox",
                                texts=(SM.OUTBOX_ADMIN_ONLY, SM.OUTBOX_NOT_FOUND, SM.OUTBOX_NOT_RETRYABLE))
