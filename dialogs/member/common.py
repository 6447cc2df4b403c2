"""What the member jobs share: who may do member work, reading member numbers, the member in context."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from crm_store.services import members
from dialogs import entities as ent
from dialogs.base import Turn

MEMBER_STAFF = frozenset({"clerk", "manager", "director", "admin"})
MEMBER_NO_RE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,6}\s?\d{1,12})(?![0-9])")
PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d(?:[\s-]?\d{4}){2})(?!\d)")
# 她 / 他 / 这位 …: the member the clerk just dealt with.
PRONOUN_RE = re.compile(r"[她他]|这位|这个会员|该会员|刚才那位|刚才那个")
CONTEXT = "member_ctx"


def member_no_in(turn: Turn) -> str | None:
    number = members.normalize_member_no(ent.text_of(turn.parse, "member_id"))
    if number:
        return number
    found = MEMBER_NO_RE.search(turn.text)
    return members.normalize_member_no(found.group(1)) if found else None


def phone_in(turn: Turn) -> str | None:
    """A full mobile number in the message, spaces and dashes removed."""
    phone = ent.text_of(turn.parse, "phone")
    if phone is None:
        found = PHONE_RE.search(turn.text)
        phone = found.group(1) if found else None
    return re.sub(r"[\s-]", "", phone) if phone else None


def remember(turn: Turn, member_no: str) -> None:
    """The member the clerk just dealt with, so 积分抵扣 500 or 她还有多少积分 right after needs no number."""
    turn.state[CONTEXT] = {"no": member_no, "at": turn.now.isoformat()}


def names_a_member(turn: Turn) -> bool:
    """段杰海消费了300 / 钟英欣 VIP0050 积分多少: the message says who, so the member in context is not meant."""
    return bool(member_no_in(turn) or phone_in(turn) or ent.text_of(turn.parse, "member")
                or ent.text_of(turn.parse, "contact"))


def recent_member(turn: Turn) -> str | None:
    """The member the clerk just dealt with, unless this message names someone (then never a guess)."""
    context = turn.state.get(CONTEXT)
    if not context or names_a_member(turn):
        return None
    age = turn.now - datetime.fromisoformat(context["at"])
    return context["no"] if timedelta(0) <= age <= timedelta(minutes=turn.config.dialogs.form_timeout_minutes) else None


def mask(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 8 else ""
