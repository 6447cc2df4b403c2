"""Conversation state and inbound-message dedup: what the dialog engine persists between messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store.models import ConversationState, ProcessedMessage, Staff


def processed_message(session: Session, channel: str, message_key: str) -> ProcessedMessage | None:
    return session.scalar(
        select(ProcessedMessage).where(ProcessedMessage.channel == channel, ProcessedMessage.message_key == message_key)
    )


def mark_processed(session: Session, channel: str, message_key: str, now: datetime) -> ProcessedMessage:
    """Claim an inbound message id. A concurrent claim of the same id fails the unique constraint on flush."""
    mark = ProcessedMessage(channel=channel, message_key=message_key, processed_at=now)
    session.add(mark)
    session.flush()
    return mark


def stored_replies(session: Session, channel: str, message_key: str) -> list[dict[str, Any]]:
    seen = processed_message(session, channel, message_key)
    return list((seen.reply or {}).get("replies", [])) if seen else []


def state_for(session: Session, channel: str, external_id: str, now: datetime) -> ConversationState:
    """The chat identity's state row, created empty on first contact."""
    row = session.scalar(
        select(ConversationState).where(
            ConversationState.channel == channel, ConversationState.external_id == external_id
        )
    )
    if row is None:
        row = ConversationState(channel=channel, external_id=external_id, state={}, updated_at=now)
        session.add(row)
    return row


def skips_confirmation(session: Session, staff_id: int | None) -> bool:
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    return bool(staff is not None and staff.skip_confirm)
