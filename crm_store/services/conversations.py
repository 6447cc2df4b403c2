"""Conversation state and inbound-message dedup: what the dialog engine persists between messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.orm import Session, aliased

from crm_store.models import ChatIdentity, ConversationState, Member, NameChange, ProcessedMessage, Staff
from crm_store.services.common import dialect_insert, keep_loaded, require_aware


def processed_message(session: Session, channel: str, message_key: str) -> ProcessedMessage | None:
    return session.scalar(
        select(ProcessedMessage).where(ProcessedMessage.channel == channel, ProcessedMessage.message_key == message_key)
    )


def claim_message(session: Session, channel: str, message_key: str, now: datetime) -> int | None:
    """Claim an inbound message id for this transaction; None when it was already processed.

    INSERT … ON CONFLICT DO NOTHING: a concurrent claim of the same id waits for the other transaction and
    then finds its row. Only this unique key means "duplicate"; no other integrity error is read as one.
    """
    table = ProcessedMessage.__table__
    stmt = (dialect_insert(session)(table)
            .values(channel=channel, message_key=message_key, processed_at=now)
            .on_conflict_do_nothing(index_elements=[table.c.channel, table.c.message_key])
            .returning(table.c.id))
    return session.execute(stmt).scalar()


def store_replies(session: Session, mark_id: int, replies: list[dict[str, Any]]) -> None:
    session.execute(update(ProcessedMessage).where(ProcessedMessage.id == mark_id)
                    .values(reply={"replies": replies}).execution_options(synchronize_session=False))


def stored_replies(session: Session, channel: str, message_key: str) -> list[dict[str, Any]]:
    seen = processed_message(session, channel, message_key)
    return list((seen.reply or {}).get("replies", [])) if seen else []


def state_for(session: Session, channel: str, external_id: str, now: datetime) -> ConversationState:
    """The chat identity's state row, created empty on first contact, locked for this transaction.

    Read FOR UPDATE, so two messages of one person processed at once take turns instead of overwriting each
    other's state (SQLite: one writer anyway). On first contact the row is created race-free
    (INSERT … ON CONFLICT DO NOTHING) and read again: one statement in the usual case, three on the first.
    """
    stmt = select(ConversationState).where(
        ConversationState.channel == channel, ConversationState.external_id == external_id
    ).with_for_update().execution_options(populate_existing=True)
    row = session.scalar(stmt)
    if row is not None:
        return row
    table = ConversationState.__table__
    session.execute(
        dialect_insert(session)(table)
        .values(channel=channel, external_id=external_id, state={}, updated_at=now)
        .on_conflict_do_nothing(index_elements=[table.c.channel, table.c.external_id])
    )
    row = session.scalar(stmt)
    assert row is not None
    return row


def skips_confirmation(session: Session, staff_id: int | None) -> bool:
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    return bool(staff is not None and staff.skip_confirm)


# --- the lean message path (issue 16) ----------------------------------------------------------------

_MANAGER = aliased(Staff, name="manager")
# Identity, its staff member (or member's name), the conversation state (locked), the stored answer to this
# message id if it was processed before, and whether the names feed has rows above the caller's mark: one
# statement, built once, bound parameters only. The state row's lock serializes one person's messages.
_TURN_CONTEXT = (
    select(
        ChatIdentity.member_id, Member.name.label("member_name"),
        ConversationState.id.label("state_id"), ConversationState.state,
        ProcessedMessage.id.label("processed_id"), ProcessedMessage.reply.label("processed_reply"),
        select(func.count()).select_from(NameChange).where(NameChange.id > bindparam("names_after"))
        .scalar_subquery().label("names_unseen"),
        # The staff row and their manager (the first approver of their orders) come back as ORM rows, so
        # `session.get(Staff, id)`, `customer.owner` and `staff.manager` for them cost no statement.
        Staff, _MANAGER,
    )
    .select_from(ChatIdentity)
    .join(ConversationState, and_(ConversationState.channel == ChatIdentity.channel,
                                  ConversationState.external_id == ChatIdentity.external_id))
    .outerjoin(Staff, Staff.id == ChatIdentity.staff_id)
    .outerjoin(_MANAGER, _MANAGER.id == Staff.manager_id)
    .outerjoin(Member, Member.id == ChatIdentity.member_id)
    .outerjoin(ProcessedMessage, and_(ProcessedMessage.channel == ChatIdentity.channel,
                                      ProcessedMessage.message_key == bindparam("message_key")))
    .where(ChatIdentity.channel == bindparam("channel"), ChatIdentity.external_id == bindparam("external_id"))
    .with_for_update(of=ConversationState)
)
_SAVE_STATE = (
    update(ConversationState).where(ConversationState.id == bindparam("state_id"))
    .values(state=bindparam("state"), updated_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def _save_turn_pg() -> Any:
    from sqlalchemy.dialects.postgresql import insert

    table = ProcessedMessage.__table__
    # PostgreSQL runs a data-modifying WITH exactly once, read or not.
    saved = _SAVE_STATE.cte("saved_state")
    mark = (insert(table)
            .from_select(["channel", "message_key", "processed_at", "reply"],
                         select(bindparam("mark_channel", type_=table.c.channel.type),
                                bindparam("mark_key", type_=table.c.message_key.type),
                                bindparam("now", type_=table.c.processed_at.type),
                                bindparam("mark_reply", type_=table.c.reply.type)))
            .on_conflict_do_nothing(index_elements=[table.c.channel, table.c.message_key])
            .returning(table.c.id))
    return mark.add_cte(saved)


_SAVE_TURN_PG = _save_turn_pg()


@dataclass
class TurnContext:
    """What the engine needs before parsing, read in one statement (see `turn_context`)."""

    staff: Staff | None  # persistent in the session (no second SELECT for it), None for a member
    member_id: int | None
    member_name: str | None
    state_id: int
    state: dict[str, Any]
    stored_replies: list[dict[str, Any]] | None  # this message id was processed before: its answer
    names_unseen: int


def turn_context(
    session: Session, channel: str, external_id: str, message_key: str | None, names_after: int
) -> TurnContext | None:
    """The bound chat identity with its state row (locked), or None when the identity is unknown or has no
    state row yet (first contact: the caller takes the long way, `identity_for` + `state_for`)."""
    row = session.execute(_TURN_CONTEXT, {"channel": channel, "external_id": str(external_id),
                                          "message_key": message_key, "names_after": names_after}).first()
    if row is None:
        return None
    staff, manager = row.Staff, row.manager
    keep_loaded(session, staff, manager)
    stored = None
    if row.processed_id is not None:
        stored = list((row.processed_reply or {}).get("replies", []))
    return TurnContext(staff, row.member_id, row.member_name, row.state_id, dict(row.state or {}), stored,
                       int(row.names_unseen or 0))


def save_state(session: Session, state_id: int, state: dict[str, Any], now: datetime) -> None:
    session.execute(_SAVE_STATE, {"state_id": state_id, "state": state, "now": now})


def save_turn(
    session: Session, state_id: int, state: dict[str, Any], now: datetime, channel: str,
    message_key: str | None, replies: list[dict[str, Any]],
) -> bool:
    """The end of a message: its conversation state and, with a message id, the processed mark with its
    answer. PostgreSQL: one statement (the UPDATE in a WITH clause). False when a concurrent copy of the
    message committed its mark first (the caller rolls back)."""
    if message_key is None:
        save_state(session, state_id, state, now)
        return True
    if session.get_bind().dialect.name != "postgresql":  # SQLite has no data-modifying WITH
        save_state(session, state_id, state, now)
        return record_message(session, channel, message_key, now, replies)
    # (no parameter named like a column: an UPDATE would take it as one more SET)
    params = {"state_id": state_id, "state": state, "now": now, "mark_channel": channel, "mark_key": message_key,
              "mark_reply": {"replies": replies}}
    return session.execute(_SAVE_TURN_PG, params).scalar() is not None


def prune_marks(session: Session, before: datetime) -> int:
    """Delete processed-message marks older than `before` (a platform's retry of them comes within hours)."""
    require_aware(before)
    result = session.execute(delete(ProcessedMessage).where(ProcessedMessage.processed_at < before)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def record_message(
    session: Session, channel: str, message_key: str, now: datetime, replies: list[dict[str, Any]]
) -> bool:
    """Mark an inbound message id processed, with its answer: one INSERT … ON CONFLICT DO NOTHING at the end
    of the message's transaction. False when a concurrent copy got there first (the caller rolls back and
    answers with the stored reply)."""
    table = ProcessedMessage.__table__
    stmt = (dialect_insert(session)(table)
            .values(channel=channel, message_key=message_key, processed_at=now, reply={"replies": replies})
            .on_conflict_do_nothing(index_elements=[table.c.channel, table.c.message_key])
            .returning(table.c.id))
    return session.execute(stmt).scalar() is not None
