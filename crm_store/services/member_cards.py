"""办卡 and 续卡 at the counter: a new member (name + phone, optional tier and birthday), a renewal by a period;
both checked in full before the clerk confirms, audited, and undoable."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput, NotFound, PhoneTaken
from crm_store.models import AuditLog, ChatIdentity, Member, OutboxMessage, PointsLedger, Purchase
from crm_store.rules import Rules
from crm_store.services.common import Actor, audit, normalize_phone, parse_date, require_aware
from crm_store.services.members import LOOKUP_ROLES, _local_day, _require_role, fmt_date

MEMBER_NO_PREFIX = "VIP"
DEFAULT_MONTHS = 12  # a new card runs a year unless the clerk says otherwise
MAX_MONTHS = 120
_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # care texts go to a mobile: a landline cannot open a card
_NAME = re.compile(r"^[\u4e00-\u9fa5A-Za-z·\s]{1,20}$")


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the 31st becomes the month's last day when the month is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _next_member_no(session: Session) -> str:
    """VIP + the next number after the highest VIP number in use, at least four digits."""
    highest = session.scalar(
        select(Member.member_no).where(Member.member_no.like(f"{MEMBER_NO_PREFIX}%"))
        .order_by(func.length(Member.member_no).desc(), Member.member_no.desc()).limit(1)
    )
    digits = re.sub(r"\D", "", highest or "")
    return f"{MEMBER_NO_PREFIX}{int(digits or 0) + 1:04d}"


def _months(months: int) -> int:
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(SM.MEMBER_PERIOD_INVALID)
    return months


@dataclass(frozen=True)
class NewMember:
    name: str
    phone: str
    tier: str
    birthday: date | None
    joined_at: date
    expires_at: date
    store: str | None


def check_new_member(
    session: Session, actor: Actor, *, name: str, phone: str, tier: str | None = None,
    birthday: date | None = None, months: int = DEFAULT_MONTHS, rules: Rules, tz: ZoneInfo, now: datetime,
) -> NewMember:
    """Everything 办卡 would write, or the reason it cannot (a phone that is already a member's, a tier that
    does not exist, a birthday in the future); writes nothing."""
    require_aware(now)
    _require_role(actor, LOOKUP_ROLES, SM.NO_PERMISSION_MEMBERS)
    clean = re.sub(r"\s+", "", name or "")
    if not clean or not _NAME.match(clean):
        raise InvalidInput(SM.MEMBER_NAME_INVALID)
    number = normalize_phone(phone)
    if number is None or not _MOBILE.match(number):
        raise InvalidInput(SM.MEMBER_PHONE_MOBILE)
    taken = session.scalar(select(Member).where(Member.phone == number).order_by(Member.id).limit(1))
    if taken is not None:
        raise PhoneTaken(SM.MEMBER_PHONE_TAKEN.format(name=taken.name, member_no=taken.member_no))
    tiers = [t.name for t in rules.points.tiers]
    level = tier or tiers[0]
    if level not in tiers:
        raise InvalidInput(SM.MEMBER_TIER_UNKNOWN.format(tier=level, tiers="、".join(tiers)))
    today = _local_day(now, tz)
    if birthday is not None and not date(1900, 1, 1) <= birthday <= today:
        raise InvalidInput(SM.MEMBER_BIRTHDAY_INVALID)
    return NewMember(clean, number, level, birthday, today, add_months(today, _months(months)), actor.store)


def register_member(
    session: Session, actor: Actor, *, name: str, phone: str, tier: str | None = None,
    birthday: date | None = None, months: int = DEFAULT_MONTHS, rules: Rules, tz: ZoneInfo, now: datetime,
) -> Member:
    """办卡: a new member with the next VIP number (checked again here: the preview may be minutes old)."""
    plan = check_new_member(session, actor, name=name, phone=phone, tier=tier, birthday=birthday, months=months,
                            rules=rules, tz=tz, now=now)
    member = Member(
        member_no=_next_member_no(session), name=plan.name, phone=plan.phone, tier=plan.tier, points=0,
        total_spent=0, joined_at=plan.joined_at, expires_at=plan.expires_at, birthday=plan.birthday,
        store=plan.store, opted_out=False, created_at=now,
    )
    session.add(member)
    session.flush()
    audit(session, actor, "member.create", "member", member.id, after={
        "member_no": member.member_no, "name": member.name, "tier": member.tier, "birthday": member.birthday,
        "expires_at": member.expires_at, "store": member.store,
    }, now=now)
    return member


@dataclass(frozen=True)
class Renewal:
    member: Member
    months: int
    old_expires: date | None
    new_expires: date


def check_renewal(member: Member, months: int, *, tz: ZoneInfo, now: datetime) -> Renewal:
    """续卡 by a period: from the current end date, or from today when the card has already run out."""
    require_aware(now)
    today = _local_day(now, tz)
    start = member.expires_at if member.expires_at and member.expires_at >= today else today
    return Renewal(member, _months(months), member.expires_at, add_months(start, _months(months)))


def renew_member(
    session: Session, actor: Actor, member_id: int, months: int, *, tz: ZoneInfo, now: datetime
) -> Renewal:
    _require_role(actor, LOOKUP_ROLES, SM.NO_PERMISSION_MEMBERS)
    member = session.scalar(select(Member).where(Member.id == member_id).with_for_update())
    if member is None:
        raise NotFound(SM.MEMBER_NOT_FOUND)
    plan = check_renewal(member, months, tz=tz, now=now)
    member.expires_at = plan.new_expires
    session.flush()
    audit(session, actor, "member.renew", "member", member.id, before={"expires_at": plan.old_expires},
          after={"expires_at": plan.new_expires, "months": plan.months}, now=now)
    return plan


# --- undo (crm_store.services.undo: member.create and member.renew) ------------------------------------


def undo_create(session: Session, row: AuditLog, now: datetime) -> str:
    """A card opened by mistake goes away, unless the member has been used since (bought, bound, messaged)."""
    member = session.get(Member, row.entity_id)
    if member is None:
        raise NotFound(SM.NOTHING_TO_UNDO)
    mid = member.id
    in_use = session.scalar(select(
        exists().where(Purchase.member_id == mid) | exists().where(PointsLedger.member_id == mid)
        | exists().where(ChatIdentity.member_id == mid) | exists().where(OutboxMessage.recipient_member_id == mid)
    ))
    if in_use:
        raise InvalidInput(SM.UNDO_MEMBER_IN_USE.format(member_no=member.member_no))
    what = SM.UNDO_WHAT_MEMBER_CREATE.format(name=member.name, member_no=member.member_no)
    session.delete(member)
    session.flush()
    return what


def undo_renew(session: Session, row: AuditLog, now: datetime) -> str:
    member = session.get(Member, row.entity_id)
    after = row.after or {}
    if member is None or member.expires_at != parse_date(after.get("expires_at")):
        raise NotFound(SM.NOTHING_TO_UNDO)
    member.expires_at = parse_date((row.before or {}).get("expires_at"))
    session.flush()
    return SM.UNDO_WHAT_MEMBER_RENEW.format(
        member_no=member.member_no, expires=fmt_date(member.expires_at) or SM.NO_EXPIRY
    )
