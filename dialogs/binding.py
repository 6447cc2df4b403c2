"""Dialog glue for binding: 「绑定 CODE」/「绑定 VIP0023 1234」 from unknown accounts, 「解绑」 from bound ones."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from crm_store.errors import CRMError
from crm_store.models import Member, Staff
from crm_store.services import binding
from crm_store.services.common import Actor
from dialogs import messages as DM
from dialogs.reply import Reply

_BIND = re.compile(r"^(?:绑定|bind)\s*[:：]?\s*(?P<args>.*)$", re.IGNORECASE | re.DOTALL)
_DIGITS4 = re.compile(r"^\d{4}$")
UNBIND_WORDS = {"解绑", "解除绑定", "取消绑定", "unbind"}
MAX_ARGS_CHARS = 80


def is_unbind(text: str) -> bool:
    return re.sub(r"[\s。.!！]+", "", text).lower() in UNBIND_WORDS


def handle_unknown(
    session: Session, channel: str, external_id: str, text: str, message_id: str | None, now: datetime
) -> list[Reply]:
    """An unbound account: a binding request is tried; anything else gets the binding prompt only."""
    match = _BIND.match(text or "")
    if match is None:
        return [Reply(DM.UNKNOWN_USER)]
    args = match.group("args").split()
    if not args or len(args) > 2 or len(match.group("args")) > MAX_ARGS_CHARS:
        return [Reply(DM.BIND_USAGE)]
    if len(args) == 2 and not _DIGITS4.match(args[1]):
        return [Reply(DM.BIND_USAGE)]
    try:
        if len(args) == 1:
            identity = binding.redeem_code(session, channel, external_id, args[0], now=now, message_id=message_id)
            staff = session.get(Staff, identity.staff_id)
            assert staff is not None
            return [Reply(DM.BIND_STAFF_OK.format(name=staff.name, role=DM.ROLE.get(staff.role, staff.role)))]
        identity = binding.bind_member(
            session, channel, external_id, args[0], args[1], now=now, message_id=message_id
        )
        member = session.get(Member, identity.member_id)
        assert member is not None
        return [Reply(DM.BIND_MEMBER_OK.format(name=member.name))]
    except CRMError as error:
        # Failed attempts are recorded (SecurityEvent) and committed with the message: that is the limit.
        return [Reply(error.message)]


def handle_unbind(
    session: Session, actor: Actor, channel: str, external_id: str, now: datetime
) -> list[Reply]:
    try:
        binding.unbind(session, channel, external_id, actor=actor, now=now)
    except CRMError as error:
        return [Reply(error.message)]
    return [Reply(DM.UNBIND_OK)]
