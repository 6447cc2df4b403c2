"""Staff look-ups and chat identity bindings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput, NotFound, PermissionDenied
from crm_store.models import ChatIdentity, Member, Staff, valid_channel
from crm_store.services import outbox
from crm_store.services.common import Actor, audit, require_aware


def find_staff(session: Session, name: str) -> Staff | None:
    """Exact name, active or not."""
    return session.scalar(select(Staff).where(Staff.name == name.strip()))


def list_staff(session: Session, role: str | None = None) -> list[Staff]:
    stmt = select(Staff).order_by(Staff.id)
    if role is not None:
        stmt = stmt.where(Staff.role == role)
    return list(session.scalars(stmt))


def identity_for(session: Session, channel: str, external_id: str) -> ChatIdentity | None:
    return session.scalar(
        select(ChatIdentity).where(ChatIdentity.channel == channel, ChatIdentity.external_id == str(external_id))
    )


def _identity_state(identity: ChatIdentity) -> dict[str, object]:
    return {
        "channel": identity.channel,
        "external_id": identity.external_id,
        "staff_id": identity.staff_id,
        "member_id": identity.member_id,
        "bound_at": identity.bound_at,
    }


def bind_identity(
    session: Session,
    channel: str,
    external_id: str,
    *,
    staff_id: int | None = None,
    member_id: int | None = None,
    actor: Actor | None = None,
    now: datetime,
    display_name: str | None = None,
) -> ChatIdentity:
    """Bind a chat account to a staff member or a member. actor None = the system (binding code flow)."""
    require_aware(now)
    if (staff_id is None) == (member_id is None):
        raise InvalidInput(SM.IDENTITY_TARGET_REQUIRED)
    if not valid_channel(channel):
        raise InvalidInput(SM.IDENTITY_CHANNEL_INVALID)
    if actor is not None and actor.role != "admin":
        binding_self = (staff_id is not None and staff_id == actor.staff_id) or (
            member_id is not None and member_id == actor.member_id
        )
        if not binding_self:
            raise PermissionDenied(SM.NO_PERMISSION_BIND)
    if staff_id is not None and session.get(Staff, staff_id) is None:
        raise NotFound(SM.STAFF_NOT_FOUND)
    if member_id is not None and session.get(Member, member_id) is None:
        raise NotFound(SM.MEMBER_NOT_FOUND)
    identity = identity_for(session, channel, external_id)
    if identity is None:
        identity = ChatIdentity(
            channel=channel,
            external_id=str(external_id),
            staff_id=staff_id,
            member_id=member_id,
            display_name=display_name,
            bound_at=now,
        )
        session.add(identity)
        session.flush()
        audit(session, actor, "identity.bind", "chat_identity", identity.id, after=_identity_state(identity), now=now)
        _release(session, identity, now)
        return identity
    before = _identity_state(identity)
    identity.staff_id = staff_id
    identity.member_id = member_id
    identity.bound_at = now
    if display_name is not None:
        identity.display_name = display_name
    session.flush()
    audit(
        session, actor, "identity.rebind", "chat_identity", identity.id,
        before=before, after=_identity_state(identity), now=now,
    )
    _release(session, identity, now)
    return identity


def _release(session: Session, identity: ChatIdentity, now: datetime) -> None:
    """Messages that waited for this colleague to have a chat account go out now."""
    if identity.staff_id is not None:
        outbox.release_waiting(session, identity.staff_id, now=now)
