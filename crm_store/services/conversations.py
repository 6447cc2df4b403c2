"""Conversation state and inbound-message dedup: what the dialog engine persists between messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_store.models import ConversationState, ProcessedMessage, Staff
from crm_store.services.common import dialect_insert


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
