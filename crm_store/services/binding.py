"""Binding chat accounts: one-time invite codes for staff, member number + phone digits for members.

Failed attempts are SecurityEvent rows; they count against the chat account (and, for members, the
member number) so guessing is slow. Every bind, unbind and re-bind writes an AuditLog row.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import AlreadyDecided, InvalidInput, NotFound, PermissionDenied, RateLimited
from crm_store.models import (
    BindingCode,
    ChatIdentity,
    ConversationState,
    Member,
    SecurityEvent,
    Staff,
    valid_channel,
)
from crm_store.services import conversations, outbox
from crm_store.services.common import Actor, audit, require_aware
from crm_store.services.staff import staff_for_admin

# No I/L/O/0/1: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = timedelta(days=7)
FAILURE_WINDOW = timedelta(hours=1)
MAX_FAILURES_PER_IDENTITY = 5
# Failures are also recorded per member number (for review), but only the sender's own failures block:
# otherwise strangers guessing a member's digits could lock the real member out of binding.
FAILED_KIND = "bind_failed"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str:
    return re.sub(r"[\s\-_]", "", raw).upper()


def create_invite(
    session: Session, staff_id: int, *, actor: Actor | None, now: datetime, ttl: timedelta = CODE_TTL
) -> BindingCode:
    """A one-time code for this staff member. actor None = the local admin at the command line."""
    require_aware(now)
    staff = staff_for_admin(session, actor, staff_id, denied=SM.BIND_ADMIN_ONLY)
    if not staff.active:
        raise InvalidInput(SM.BIND_STAFF_INACTIVE)
    code = new_code()
    while session.scalar(select(BindingCode.id).where(BindingCode.code == code)) is not None:
        code = new_code()
    row = BindingCode(
        code=code, staff_id=staff.id, created_by_id=actor.staff_id if actor else None,
        created_at=now, expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    # The code itself stays out of the audit trail: whoever reads the log must not be able to use it.
    audit(session, actor, "binding_code.create", "binding_code", row.id,
          after={"staff_id": staff.id, "expires_at": row.expires_at}, now=now)
    return row


def failures(session: Session, subject: str, now: datetime) -> int:
    return session.scalar(
        select(func.count()).select_from(SecurityEvent).where(
            SecurityEvent.kind == FAILED_KIND, SecurityEvent.subject == subject,
            SecurityEvent.at > now - FAILURE_WINDOW,
        )
    ) or 0


def _fail(session: Session, subjects: list[str], detail: str, now: datetime) -> None:
    for subject in subjects:
        session.add(SecurityEvent(kind=FAILED_KIND, subject=subject, detail=detail, at=now))
    session.flush()


def _check_channel(session: Session, channel: str, external_id: str, now: datetime) -> str:
    """The sender's rate-limit subject, after taking its lock and checking its recent failures.

    Count-and-check is atomic per sender: attempts of one chat account take turns (PostgreSQL: a
    transaction-scoped advisory lock on the subject; SQLite: one writer), so 30 guesses sent at once
    are checked against the limit one after another, not all against the same count.
    """
    if not valid_channel(channel):
        raise InvalidInput(SM.IDENTITY_CHANNEL_INVALID)
    subject = f"{channel}:{external_id}"[:200]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:subject, 42))"), {"subject": subject})
    if _bound(session, channel, external_id) is not None:
        raise InvalidInput(SM.BIND_ALREADY)
    if failures(session, subject, now) >= MAX_FAILURES_PER_IDENTITY:
        raise RateLimited(SM.BIND_TOO_MANY)
    return subject


def _bound(session: Session, channel: str, external_id: str) -> ChatIdentity | None:
    return session.scalar(
        select(ChatIdentity).where(ChatIdentity.channel == channel, ChatIdentity.external_id == str(external_id))
    )


def _state(identity: ChatIdentity) -> dict[str, object]:
    return {
        "channel": identity.channel, "external_id": identity.external_id,
        "staff_id": identity.staff_id, "member_id": identity.member_id, "bound_at": identity.bound_at,
    }


def _attach(
    session: Session, actor: Actor, channel: str, external_id: str, *,
    staff_id: int | None, member_id: int | None, now: datetime, display_name: str | None,
) -> ChatIdentity:
    identity = ChatIdentity(
        channel=channel, external_id=str(external_id), staff_id=staff_id, member_id=member_id,
        display_name=display_name, bound_at=now,
    )
    session.add(identity)
    session.flush()
    audit(session, actor, "identity.bind", "chat_identity", identity.id, after=_state(identity), now=now)
    if staff_id is not None:  # what waited for this colleague to have a chat account goes out now
        outbox.release_waiting(session, staff_id, now=now)
    return identity


def redeem_code(
    session: Session, channel: str, external_id: str, code: str, *, now: datetime,
    message_id: str | None = None, display_name: str | None = None,
) -> ChatIdentity:
    """Bind this chat account to the staff member the code was made for; the code works once."""
    require_aware(now)
    subject = _check_channel(session, channel, external_id, now)
    wanted = normalize_code(code)
    row = session.scalar(select(BindingCode).where(BindingCode.code == wanted)) if wanted else None
    if row is None:
        _fail(session, [subject], "unknown code", now)
        raise InvalidInput(SM.BIND_CODE_INVALID)
    if row.used_at is not None:
        _fail(session, [subject], f"used code #{row.id}", now)
        raise AlreadyDecided(SM.BIND_CODE_USED)
    if row.expires_at <= now:
        _fail(session, [subject], f"expired code #{row.id}", now)
        raise InvalidInput(SM.BIND_CODE_EXPIRED)
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise InvalidInput(SM.BIND_STAFF_INACTIVE)
    # Conditional update: two accounts racing with one code, only one wins.
    claimed = session.execute(
        update(BindingCode).where(BindingCode.id == row.id, BindingCode.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if claimed != 1:
        raise AlreadyDecided(SM.BIND_CODE_USED)
    actor = Actor(staff_id=staff.id, member_id=None, role=staff.role, name=staff.name, team=staff.team,
                  store=staff.store, via_channel=channel, via_message=message_id)
    return _attach(session, actor, channel, external_id, staff_id=staff.id, member_id=None, now=now,
                   display_name=display_name)


def bind_member(
    session: Session, channel: str, external_id: str, member_no: str, phone_last4: str, *, now: datetime,
    message_id: str | None = None, display_name: str | None = None,
) -> ChatIdentity:
    """Bind a member by member number + last four phone digits. The error never says which part was wrong."""
    require_aware(now)
    subject = _check_channel(session, channel, external_id, now)
    number = member_no.strip().upper()
    member_subject = f"member:{number}"[:200]
    member = session.scalar(select(Member).where(Member.member_no == number)) if number else None
    expected = (member.phone or "")[-4:] if member is not None else ""
    digits = phone_last4.strip()
    if member is None or len(expected) != 4 or not hmac.compare_digest(expected.encode(), digits.encode()):
        _fail(session, [subject, member_subject], "member mismatch", now)
        raise InvalidInput(SM.BIND_MEMBER_MISMATCH)
    actor = Actor(staff_id=None, member_id=member.id, role="member", name=member.name,
                  via_channel=channel, via_message=message_id)
    return _attach(session, actor, channel, external_id, staff_id=None, member_id=member.id, now=now,
                   display_name=display_name)


def unbind(
    session: Session, channel: str, external_id: str, *, actor: Actor | None, now: datetime
) -> ChatIdentity:
    """Remove a binding (the owner themselves, an admin, or None = the local admin CLI)."""
    require_aware(now)
    identity = _bound(session, channel, external_id)
    if identity is None:
        raise NotFound(SM.BIND_NOT_BOUND)
    own = actor is not None and (
        (actor.staff_id is not None and actor.staff_id == identity.staff_id)
        or (actor.member_id is not None and actor.member_id == identity.member_id)
    )
    if actor is not None and not own and actor.role != "admin":
        raise PermissionDenied(SM.BIND_ADMIN_ONLY)
    _remove(session, identity, actor, now)
    return identity


def unbind_staff(session: Session, staff_id: int, *, actor: Actor | None, now: datetime) -> int:
    """Remove every chat binding of a staff member being deactivated (the caller checked the permission);
    unused invite codes expire with them. Returns how many bindings were removed."""
    require_aware(now)
    identities = list(session.scalars(select(ChatIdentity).where(ChatIdentity.staff_id == staff_id)
                                      .order_by(ChatIdentity.id)))
    for identity in identities:
        _remove(session, identity, actor, now)
    session.execute(update(BindingCode).where(BindingCode.staff_id == staff_id, BindingCode.used_at.is_(None),
                                              BindingCode.expires_at > now).values(expires_at=now))
    return len(identities)


def _remove(session: Session, identity: ChatIdentity, actor: Actor | None, now: datetime) -> None:
    audit(session, actor, "identity.unbind", "chat_identity", identity.id, before=_state(identity), now=now)
    # A half-filled form belongs to the old owner: it must not carry over to whoever binds next.
    session.execute(delete(ConversationState).where(
        ConversationState.channel == identity.channel, ConversationState.external_id == identity.external_id))
    session.delete(identity)
    session.flush()


def processed(session: Session, channel: str, message_key: str) -> bool:
    """Whether an inbound message key was already handled (adapters skip re-sending a double tap)."""
    return conversations.processed_message(session, channel, message_key) is not None
