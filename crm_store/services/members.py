"""Members (会员): exact look-ups by store staff, purchases and points, self-service, care texts, statistics.

Points rules: every change of a member's points is a PointsLedger row and Member.points is kept equal to
the sum of the member's ledger deltas. Earned points form lots that expire at the end of year
Y + expire_after_years; redemptions and expiries consume lots first-in-first-out by expiry date.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, delete, extract, func, or_, select, true
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput, NotFound, PermissionDenied, RateLimited
from crm_store.models import AuditLog, Member, OutboxMessage, PointsLedger, Purchase, SecurityEvent, Staff
from crm_store.rules import CareRules, PointsRules, Rules, TierRule
from crm_store.services import outbox
from crm_store.services.common import Actor, audit, money_value, normalize_phone, require_aware, to_decimal

LOOKUP_ROLES = ("clerk", "manager", "director", "admin")
STATS_ROLES = ("manager", "director", "admin")

LOOKUP_FAILED = "member_lookup_failed"
LOOKUP_LOCKED = "member_lookup_locked"
FAILURE_LIMIT = 5
FAILURE_WINDOW = timedelta(minutes=10)
LOCK_DURATION = timedelta(minutes=10)

MAX_PURCHASE = Decimal(1_000_000)
MAX_POINTS = 10**9
_MEMBER_NO = re.compile(r"^[A-Z]{0,6}\d{1,12}$")


# --- small helpers -------------------------------------------------------------------------------


def normalize_member_no(raw: str | None) -> str | None:
    """VIP0023 as the store writes it: no spaces or leading #, upper case; None if it cannot be one."""
    if raw is None:
        return None
    value = re.sub(r"\s+", "", str(raw)).lstrip("#").upper()
    return value if _MEMBER_NO.match(value) else None


def _require_role(actor: Actor, roles: tuple[str, ...], message: str) -> int:
    if actor.staff_id is None or actor.role not in roles:
        raise PermissionDenied(message)
    return actor.staff_id


def _local_day(now: datetime, tz: ZoneInfo | None) -> date:
    return (now.astimezone(tz) if tz is not None else now).date()


def _member_state(member: Member) -> dict[str, Any]:
    return {"points": member.points, "total_spent": member.total_spent, "tier": member.tier}


def _locked_member(session: Session, member_id: int) -> Member:
    member = session.scalar(select(Member).where(Member.id == member_id).with_for_update())
    if member is None:
        raise NotFound(SM.MEMBER_NOT_FOUND)
    return member


def _member_by_no(session: Session, member_no: str) -> Member:
    number = normalize_member_no(member_no)
    member_id = session.scalar(select(Member.id).where(Member.member_no == number)) if number else None
    if member_id is None:
        raise NotFound(SM.MEMBER_NOT_FOUND)
    return _locked_member(session, member_id)


def fmt_date(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def fmt_yuan(amount: Decimal | int | float) -> str:
    return f"{Decimal(str(amount)):,.2f}".rstrip("0").rstrip(".") + "元"


# --- exact look-up by store staff ----------------------------------------------------------------


def _subject(actor: Actor) -> str:
    return f"staff:{actor.staff_id}"


def _last_lock(session: Session, subject: str) -> datetime | None:
    return session.scalar(
        select(func.max(SecurityEvent.at)).where(SecurityEvent.kind == LOOKUP_LOCKED, SecurityEvent.subject == subject)
    )


def _check_rate(session: Session, subject: str, now: datetime) -> None:
    lock = _last_lock(session, subject)
    if lock is not None and now - lock < LOCK_DURATION:
        minutes = max(1, math.ceil((lock + LOCK_DURATION - now).total_seconds() / 60))
        raise RateLimited(SM.MEMBER_LOOKUP_LIMITED.format(minutes=minutes))


def _record_failure(session: Session, subject: str, detail: str, now: datetime) -> None:
    session.add(SecurityEvent(kind=LOOKUP_FAILED, subject=subject, detail=detail[:1000], at=now))
    session.flush()
    since = now - FAILURE_WINDOW
    lock = _last_lock(session, subject)
    if lock is not None and lock > since:
        since = lock
    failures = session.scalar(
        select(func.count()).where(
            SecurityEvent.kind == LOOKUP_FAILED, SecurityEvent.subject == subject, SecurityEvent.at > since
        )
    ) or 0
    if failures >= FAILURE_LIMIT:
        session.add(SecurityEvent(kind=LOOKUP_LOCKED, subject=subject, detail=f"{failures} failures", at=now))
        session.flush()


def _exact_match(session: Session, name: str | None, member_no: str | None, phone: str | None) -> Member | None:
    if phone:
        try:
            number = normalize_phone(phone)
        except InvalidInput:
            return None
        found = list(session.scalars(select(Member).where(Member.phone == number).limit(2)))
        # A phone shared by several members identifies nobody: clerks never get a list.
        return found[0] if len(found) == 1 else None
    number = normalize_member_no(member_no)
    clean_name = (name or "").strip()
    if not number or not clean_name:
        return None
    return session.scalar(select(Member).where(Member.member_no == number, Member.name == clean_name))


def lookup_member(
    session: Session,
    actor: Actor,
    *,
    name: str | None = None,
    member_no: str | None = None,
    phone: str | None = None,
    now: datetime,
) -> Member | None:
    """The member matching exactly name + member number, or exactly one phone; None otherwise.

    A miss returns None whatever the reason (unknown name, wrong pair, partial query), is logged as a
    SecurityEvent, and FAILURE_LIMIT misses within FAILURE_WINDOW lock the staff member out for
    LOCK_DURATION (RateLimited). The caller must keep the transaction: the failure rows are the point.
    """
    require_aware(now)
    _require_role(actor, LOOKUP_ROLES, SM.NO_PERMISSION_MEMBERS)
    subject = _subject(actor)
    _check_rate(session, subject, now)
    member = _exact_match(session, name, member_no, phone)
    if member is None:
        detail = f"name={(name or '')[:50]!r} member_no={(member_no or '')[:40]!r} phone={(phone or '')[:20]!r}"
        _record_failure(session, subject, detail, now)
        return None
    audit(session, actor, "member.lookup", "member", member.id, now=now)
    return member


# --- points arithmetic ---------------------------------------------------------------------------


def tier_for_spent(rules: PointsRules, spent: Decimal) -> TierRule:
    eligible = [t for t in rules.tiers if spent >= t.min_spent]
    return eligible[-1] if eligible else rules.tiers[0]


def _tier_rank(rules: PointsRules, name: str) -> int:
    for rank, tier in enumerate(rules.tiers):
        if tier.name == name:
            return rank
    return -1


def current_tier(rules: PointsRules, member: Member) -> TierRule:
    """The higher of the stored tier and the tier the member's spending reaches (tiers only go up)."""
    by_spent = tier_for_spent(rules, member.total_spent or Decimal(0))
    stored = _tier_rank(rules, member.tier)
    return rules.tiers[stored] if stored > rules.tiers.index(by_spent) else by_spent


def promotion_multiplier(rules: PointsRules, day: date, store: str | None) -> Decimal:
    """Overlapping promotions do not stack: the largest multiplier applies."""
    best = Decimal(1)
    for promo in rules.promotions:
        if promo.start <= day <= promo.end and (not promo.stores or store in promo.stores):
            best = max(best, Decimal(str(promo.multiplier)))
    return best


def points_for(rules: PointsRules, amount: Decimal, tier: TierRule, day: date, store: str | None) -> int:
    raw = Decimal(amount) * Decimal(str(tier.points_per_yuan)) * promotion_multiplier(rules, day, store)
    rounding = ROUND_FLOOR if rules.rounding == "floor" else ROUND_HALF_UP
    return int(raw.to_integral_value(rounding=rounding))


def expiry_for(rules: PointsRules, earned_on: date) -> date:
    return date(earned_on.year + rules.expire_after_years, 12, 31)


def ledger_balance(session: Session, member_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(PointsLedger.delta), 0)).where(
        PointsLedger.member_id == member_id
    )) or 0)


def remaining_lots(session: Session, member_id: int) -> list[tuple[date | None, int]]:
    """Earned lots still unused, oldest expiry first (None = never expires): FIFO over all debits."""
    rows = session.execute(
        select(PointsLedger.expires_on, PointsLedger.delta)
        .where(PointsLedger.member_id == member_id, PointsLedger.delta > 0)
        .order_by(PointsLedger.expires_on.is_(None), PointsLedger.expires_on, PointsLedger.id)
    ).all()
    debits = -int(session.scalar(select(func.coalesce(func.sum(PointsLedger.delta), 0)).where(
        PointsLedger.member_id == member_id, PointsLedger.delta < 0
    )) or 0)
    lots: list[tuple[date | None, int]] = []
    for expires_on, delta in rows:
        used = min(debits, delta)
        debits -= used
        if delta - used > 0:
            lots.append((expires_on, delta - used))
    return lots


# --- purchases, redemption, expiry ---------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseResult:
    purchase: Purchase
    member: Member
    earned: int
    multiplier: Decimal
    upgraded_to: str | None  # the new tier when this purchase raised it


@dataclass(frozen=True)
class RedeemResult:
    member: Member
    used: int
    yuan: Decimal
    ledger: PointsLedger


def record_purchase(
    session: Session, actor: Actor, member_no: str, amount: Any, *, rules: Rules, tz: ZoneInfo, now: datetime,
    redeemed: RedeemResult | None = None,
) -> PurchaseResult:
    """A purchase at the actor's store: points by tier rate × promotion, ledger row, tier upgrade, care message.

    `redeemed`: the points spent on this purchase (redeem_points just before); 撤销 takes both back."""
    require_aware(now)
    clerk_id = _require_role(actor, LOOKUP_ROLES, SM.NO_PERMISSION_MEMBERS)
    value = to_decimal(amount) if not isinstance(amount, bool) else None
    if value is None or value <= 0 or value > MAX_PURCHASE:
        raise InvalidInput(SM.PURCHASE_AMOUNT_INVALID)
    member = _member_by_no(session, member_no)
    care = rules.care
    rules = rules.points
    before = _member_state(member)
    day = _local_day(now, tz)
    tier = current_tier(rules, member)
    multiplier = promotion_multiplier(rules, day, actor.store)
    earned = points_for(rules, value, tier, day, actor.store)
    purchase = Purchase(
        member_id=member.id, clerk_id=clerk_id, store=actor.store, amount=value, points_earned=earned,
        purchased_at=now,
    )
    session.add(purchase)
    session.flush()
    if earned:
        session.add(PointsLedger(
            member_id=member.id, delta=earned, reason="earn", purchase_id=purchase.id,
            expires_on=expiry_for(rules, day), created_at=now,
        ))
    member.points += earned
    member.total_spent = (member.total_spent or Decimal(0)) + value
    new_tier = current_tier(rules, member)
    upgraded = new_tier.name if _tier_rank(rules, new_tier.name) > _tier_rank(rules, member.tier) else None
    member.tier = new_tier.name
    session.flush()
    audit(
        session, actor, "purchase.create", "purchase", purchase.id, before=before,
        after={**_member_state(member), "member_id": member.id, "amount": value, "earned": earned,
               "store": actor.store, "redeem_ledger_id": redeemed.ledger.id if redeemed else None},
        now=now,
    )
    if not member.opted_out:
        text = render_care(care, "purchase", member, amount=value, earned=earned)
        if upgraded:
            text += render_care(care, "tier_upgrade", member)
        outbox.enqueue(
            session, key=f"purchase:{purchase.id}", kind="member_care", text=text, due_at=now, now=now,
            member_id=member.id,
        )
    return PurchaseResult(purchase, member, earned, multiplier, upgraded)


def redeem_points(
    session: Session, actor: Actor, member_no: str, points: Any, *, rules: Rules, tz: ZoneInfo, now: datetime
) -> RedeemResult:
    """积分抵扣: spend points at the counter; never more than the (unexpired) balance."""
    require_aware(now)
    _require_role(actor, LOOKUP_ROLES, SM.NO_PERMISSION_MEMBERS)
    if isinstance(points, bool) or not isinstance(points, int | str | Decimal):
        raise InvalidInput(SM.REDEEM_POINTS_INVALID)
    try:
        wanted = int(str(points).strip())
    except ValueError as exc:
        raise InvalidInput(SM.REDEEM_POINTS_INVALID) from exc
    if wanted <= 0 or wanted > MAX_POINTS:
        raise InvalidInput(SM.REDEEM_POINTS_INVALID)
    member = _member_by_no(session, member_no)
    # Points past their expiry date are gone even if the nightly job has not run yet.
    _expire(session, _local_day(now, tz), now, member_id=member.id)
    if wanted > member.points:
        raise InvalidInput(SM.REDEEM_OVER_BALANCE.format(points=member.points, wanted=wanted))
    before = _member_state(member)
    row = PointsLedger(member_id=member.id, delta=-wanted, reason="redeem", created_at=now)
    session.add(row)
    member.points -= wanted
    session.flush()
    yuan = (Decimal(wanted) * rules.points.yuan_per_point_redeemed).quantize(Decimal("0.01"))
    audit(
        session, actor, "points.redeem", "points_ledger", row.id, before=before,
        after={**_member_state(member), "member_id": member.id, "used": wanted, "yuan": yuan}, now=now,
    )
    if not member.opted_out:
        outbox.enqueue(
            session, key=f"redeem:{row.id}", kind="member_care",
            text=render_care(rules.care, "redeem", member, used=wanted, yuan=yuan), due_at=now, now=now,
            member_id=member.id,
        )
    return RedeemResult(member, wanted, yuan, row)


def available_points(session: Session, member: Member, today: date) -> int:
    """The balance once lots dated before `today` are expired: what redeem_points allows; writes nothing."""
    due = and_(PointsLedger.delta > 0, PointsLedger.expires_on.is_not(None), PointsLedger.expires_on < today)
    earned_due, debits = session.execute(
        select(
            func.coalesce(func.sum(case((due, PointsLedger.delta), else_=0)), 0),
            func.coalesce(func.sum(case((PointsLedger.delta < 0, -PointsLedger.delta), else_=0)), 0),
        ).where(PointsLedger.member_id == member.id)
    ).one()
    return member.points - max(0, int(earned_due) - int(debits))


class PointsRefused(InvalidInput):
    """The points asked for cannot be spent (more than the balance or the purchase); the rest may stand."""


@dataclass(frozen=True)
class CounterPreview:
    """What a purchase / redemption at the counter would do, shown before 确认."""

    member_no: str
    name: str
    available: int  # usable points now (before this purchase)
    earned: int  # points the purchase would earn
    multiplier: Decimal
    redeem: int  # points to spend (0 = none)
    redeem_yuan: Decimal


def counter_member(session: Session, actor: Actor, member_no: str, *, now: datetime) -> Member:
    """The member a clerk names by number at the counter. An unknown number is a failed look-up like any
    other (it counts towards the lock-out), so the counter cannot be used to browse names."""
    require_aware(now)
    _require_role(actor, LOOKUP_ROLES, SM.NO_PERMISSION_MEMBERS)
    subject = _subject(actor)
    _check_rate(session, subject, now)
    number = normalize_member_no(member_no)
    member = session.scalar(select(Member).where(Member.member_no == number)) if number else None
    if member is None:
        _record_failure(session, subject, f"counter member_no={(member_no or '')[:40]!r}", now)
        raise NotFound(SM.COUNTER_MEMBER_UNKNOWN.format(member_no=(member_no or "")[:40]))
    return member


def preview_counter(
    session: Session, actor: Actor, member_no: str, *, amount: Any, redeem: int | None, redeem_all: bool = False,
    rules: Rules, tz: ZoneInfo, now: datetime,
) -> CounterPreview:
    """Check a purchase and/or redemption before it is confirmed: the member exists, the points to spend are
    within the usable balance (points earned by this purchase cannot pay for it), the points it earns."""
    member = counter_member(session, actor, member_no, now=now)
    day = _local_day(now, tz)
    available = available_points(session, member, day)
    wanted = available if redeem_all else (redeem or 0)
    if redeem_all and available <= 0:
        raise PointsRefused(SM.REDEEM_NOTHING.format(name=member.name, member_no=member.member_no))
    if wanted < 0 or wanted > MAX_POINTS:
        raise InvalidInput(SM.REDEEM_POINTS_INVALID)
    if wanted > available:
        raise PointsRefused(SM.REDEEM_OVER_BALANCE_MEMBER.format(
            name=member.name, member_no=member.member_no, points=available, wanted=wanted,
        ))
    earned, multiplier = 0, Decimal(1)
    rate = rules.points.yuan_per_point_redeemed
    if amount is not None:
        value = to_decimal(amount)
        if value is None or value <= 0 or value > MAX_PURCHASE:
            raise InvalidInput(SM.PURCHASE_AMOUNT_INVALID)
        earned = points_for(rules.points, value, current_tier(rules.points, member), day, actor.store)
        multiplier = promotion_multiplier(rules.points, day, actor.store)
        # Points pay for at most the purchase: 积分全用了 on a small purchase spends what it is worth.
        covers = int((value / rate).to_integral_value(rounding=ROUND_FLOOR)) if rate > 0 else wanted
        if redeem_all:
            wanted = min(wanted, covers)
        elif wanted > covers:
            raise PointsRefused(SM.REDEEM_OVER_PURCHASE.format(
                points=wanted, yuan=fmt_yuan(Decimal(wanted) * rate), amount=fmt_yuan(value),
            ))
    yuan = (Decimal(wanted) * rate).quantize(Decimal("0.01"))
    return CounterPreview(member.member_no, member.name, available, earned, multiplier, wanted, yuan)


def _expire(session: Session, today: date, now: datetime, member_id: int | None = None) -> int:
    """Write an 'expire' row for each member whose lots dated before `today` are not yet used up."""
    due = and_(PointsLedger.delta > 0, PointsLedger.expires_on.is_not(None), PointsLedger.expires_on < today)
    earned_due = func.sum(case((due, PointsLedger.delta), else_=0))
    debits = func.sum(case((PointsLedger.delta < 0, -PointsLedger.delta), else_=0))
    last_lot = func.max(case((due, PointsLedger.expires_on), else_=None))
    stmt = (
        select(PointsLedger.member_id, earned_due, debits, last_lot)
        .group_by(PointsLedger.member_id)
        .having(earned_due > debits)
        .order_by(PointsLedger.member_id)
    )
    if member_id is not None:
        stmt = stmt.where(PointsLedger.member_id == member_id)
    written = 0
    for mid, earned, spent, lot_day in session.execute(stmt).all():
        amount = int(earned) - int(spent)
        member = _locked_member(session, mid)
        before = _member_state(member)
        row = PointsLedger(member_id=mid, delta=-amount, reason="expire", expires_on=lot_day, created_at=now)
        session.add(row)
        member.points -= amount
        session.flush()
        audit(session, None, "points.expire", "points_ledger", row.id, before=before,
              after={**_member_state(member), "member_id": mid, "expired": amount}, now=now)
        written += 1
    return written


def expire_points(session: Session, now: datetime, *, tz: ZoneInfo | None = None) -> int:
    """Expire earned points whose expiry date has passed (FIFO); returns the number of ledger rows written.

    Idempotent: a second run the same day writes nothing. `today` is the local date of `now` in the
    given timezone (or `now`'s own timezone when none is given).
    """
    require_aware(now)
    return _expire(session, _local_day(now, tz), now)


# --- member self-service -------------------------------------------------------------------------


@dataclass(frozen=True)
class PointsSummary:
    member: Member
    points: int
    tier: str
    next_expiring_points: int
    next_expiring_on: date | None
    membership_expires: date | None


def _own_member(session: Session, actor: Actor) -> Member:
    if actor.role != "member" or actor.member_id is None:
        raise PermissionDenied(SM.MEMBER_SELF_ONLY)
    return _locked_member(session, actor.member_id)


def points_summary(session: Session, actor: Actor, *, tz: ZoneInfo, now: datetime) -> PointsSummary:
    """The member's own points, tier and the next expiry; only ever the actor's own record."""
    require_aware(now)
    return _summary(session, _own_member(session, actor), tz, now)


def member_points_for_staff(
    session: Session, actor: Actor, member_no: str, *, tz: ZoneInfo, now: datetime
) -> PointsSummary:
    """她还有多少积分 right after a look-up: the member the clerk is dealing with (the dialog passes only that
    member's number, never one typed in the question)."""
    require_aware(now)
    _require_role(actor, LOOKUP_ROLES, SM.NO_PERMISSION_MEMBERS)
    summary = _summary(session, _member_by_no(session, member_no), tz, now)
    audit(session, actor, "member.lookup", "member", summary.member.id, now=now)
    return summary


def _summary(session: Session, member: Member, tz: ZoneInfo, now: datetime) -> PointsSummary:
    _expire(session, _local_day(now, tz), now, member_id=member.id)
    lots = [lot for lot in remaining_lots(session, member.id) if lot[0] is not None]
    first_day = lots[0][0] if lots else None
    expiring = sum(points for day, points in lots if day == first_day)
    return PointsSummary(member, member.points, member.tier, expiring, first_day, member.expires_at)


def set_opt_out(session: Session, actor: Actor, opted_out: bool, *, now: datetime) -> bool:
    """退订 / 订阅 for the member's own care messages; returns False when nothing changed."""
    require_aware(now)
    member = _own_member(session, actor)
    if member.opted_out == opted_out:
        return False
    member.opted_out = opted_out
    session.flush()
    audit(session, actor, "member.opt_out" if opted_out else "member.opt_in", "member", member.id,
          before={"opted_out": not opted_out}, after={"opted_out": opted_out}, now=now)
    return True


# --- care texts and what the scheduler asks --------------------------------------------------------


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render_care(care: CareRules, kind: str, member: Member, **figures: Any) -> str:
    """A care template (rules.care.templates[kind]) filled with the member's name and figures.

    Figures: amount/yuan (yuan), earned/used/expiring_points (ints), points_expire_on (date), days (int).
    """
    template = care.templates.get(kind)
    if template is None:
        raise InvalidInput(SM.CARE_KIND_UNKNOWN.format(kind=kind))
    values = _Blank(
        name=member.name, member_no=member.member_no, tier=member.tier, points=member.points,
        expires=fmt_date(member.expires_at),
    )
    for key, value in figures.items():
        if isinstance(value, Decimal):
            value = fmt_yuan(value)
        elif isinstance(value, date):
            value = fmt_date(value)
        values[key] = value
    return template.format_map(values)


def _opt_filter(include_opted_out: bool) -> Any:
    return true() if include_opted_out else Member.opted_out.is_(False)


def members_expiring_on(session: Session, day: date, *, include_opted_out: bool = False) -> list[Member]:
    """Members whose membership ends on `day` (the scheduler asks for today + 30/7/1)."""
    return list(session.scalars(
        select(Member).where(Member.expires_at == day, _opt_filter(include_opted_out)).order_by(Member.id)
    ))


def members_with_birthday(session: Session, day: date, *, include_opted_out: bool = False) -> list[Member]:
    """Birthdays on `day`'s month and day; 29 February birthdays are celebrated on 28 February in other years."""
    same_day = and_(extract("month", Member.birthday) == day.month, extract("day", Member.birthday) == day.day)
    condition = same_day
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        condition = or_(same_day, and_(extract("month", Member.birthday) == 2, extract("day", Member.birthday) == 29))
    return list(session.scalars(
        select(Member).where(Member.birthday.is_not(None), condition, _opt_filter(include_opted_out))
        .order_by(Member.id)
    ))


@dataclass(frozen=True)
class ExpiringPoints:
    member: Member
    points: int  # unused points in lots expiring on or before the day asked
    expires_on: date  # the earliest of those lots' expiry dates


def points_expiring_before(
    session: Session, day: date, *, include_opted_out: bool = False
) -> list[ExpiringPoints]:
    """Members with unused points whose expiry date is on or before `day` (run expire_points first)."""
    due = and_(PointsLedger.delta > 0, PointsLedger.expires_on.is_not(None), PointsLedger.expires_on <= day)
    earned_due = func.sum(case((due, PointsLedger.delta), else_=0))
    debits = func.sum(case((PointsLedger.delta < 0, -PointsLedger.delta), else_=0))
    candidates = session.scalars(
        select(PointsLedger.member_id).group_by(PointsLedger.member_id).having(earned_due > debits)
        .order_by(PointsLedger.member_id)
    ).all()
    found: list[ExpiringPoints] = []
    for member_id in candidates:
        member = session.get(Member, member_id)
        if member is None or (member.opted_out and not include_opted_out):
            continue
        lots = [(d, p) for d, p in remaining_lots(session, member_id) if d is not None and d <= day]
        if lots:
            found.append(ExpiringPoints(member, sum(p for _, p in lots), lots[0][0]))  # type: ignore[arg-type]
    return found


# --- statistics for managers ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoreSales:
    store: str
    purchases: int
    amount: Decimal
    members: int
    points: int


@dataclass(frozen=True)
class ClerkSales:
    clerk_id: int | None
    clerk: str
    store: str
    purchases: int
    amount: Decimal


def _span(actor: Actor, start: datetime, end: datetime) -> None:
    require_aware(start)
    require_aware(end)
    _require_role(actor, STATS_ROLES, SM.NO_PERMISSION_MEMBER_STATS)
    if end <= start:
        raise InvalidInput(SM.SPAN_INVALID)


def store_sales(session: Session, actor: Actor, start: datetime, end: datetime) -> list[StoreSales]:
    """Member purchases per store in [start, end), largest first."""
    _span(actor, start, end)
    rows = session.execute(
        select(
            Purchase.store, func.count(Purchase.id), func.sum(Purchase.amount),
            func.count(func.distinct(Purchase.member_id)), func.sum(Purchase.points_earned),
        )
        .where(Purchase.purchased_at >= start, Purchase.purchased_at < end)
        .group_by(Purchase.store)
    ).all()
    result = [
        StoreSales(store or SM.NO_STORE, int(count), money_value(amount), int(members), int(points or 0))
        for store, count, amount, members, points in rows
    ]
    return sorted(result, key=lambda s: (-s.amount, s.store))


def clerk_sales(
    session: Session, actor: Actor, start: datetime, end: datetime, *, store: str | None = None
) -> list[ClerkSales]:
    """Member purchases per clerk (who recorded them) in [start, end), optionally for one store."""
    _span(actor, start, end)
    stmt = (
        select(Purchase.clerk_id, Staff.name, Purchase.store, func.count(Purchase.id), func.sum(Purchase.amount))
        .outerjoin(Staff, Staff.id == Purchase.clerk_id)
        .where(Purchase.purchased_at >= start, Purchase.purchased_at < end)
        .group_by(Purchase.clerk_id, Staff.name, Purchase.store)
    )
    if store is not None:
        stmt = stmt.where(Purchase.store == store)
    result = [
        ClerkSales(clerk_id, name or SM.NO_CLERK, shop or SM.NO_STORE, int(count), money_value(amount))
        for clerk_id, name, shop, count, amount in session.execute(stmt).all()
    ]
    return sorted(result, key=lambda c: (-c.amount, c.store, c.clerk))


# --- undo (for crm_store.services.undo: actions purchase.create and points.redeem) -----------------


def _drop_pending_care(session: Session, key: str) -> None:
    session.execute(delete(OutboxMessage).where(
        OutboxMessage.idempotency_key == key, OutboxMessage.status == "pending"
    ))


def undo_purchase(session: Session, row: AuditLog, now: datetime) -> str:
    """Take back a purchase recorded by mistake: purchase, its points, the tier it gave, the unsent care text."""
    purchase = session.get(Purchase, row.entity_id)
    if purchase is None:
        raise NotFound(SM.NOTHING_TO_UNDO)
    member = _locked_member(session, purchase.member_id)
    if member.points < purchase.points_earned:
        raise InvalidInput(SM.UNDO_POINTS_USED)
    session.execute(delete(PointsLedger).where(PointsLedger.purchase_id == purchase.id))
    member.points -= purchase.points_earned
    member.total_spent = (member.total_spent or Decimal(0)) - purchase.amount
    before, after = row.before or {}, row.after or {}
    if member.tier == after.get("tier") and before.get("tier"):
        member.tier = before["tier"]
    _drop_pending_care(session, f"purchase:{purchase.id}")
    what = SM.UNDO_WHAT_PURCHASE.format(member_no=member.member_no, amount=fmt_yuan(purchase.amount))
    redemption = session.get(PointsLedger, after["redeem_ledger_id"]) if after.get("redeem_ledger_id") else None
    if redemption is not None and redemption.reason == "redeem":
        member.points -= redemption.delta
        _drop_pending_care(session, f"redeem:{redemption.id}")
        what += SM.UNDO_WHAT_PURCHASE_REDEEM.format(points=-redemption.delta)
        session.delete(redemption)
    session.delete(purchase)
    session.flush()
    return what


def undo_redeem(session: Session, row: AuditLog, now: datetime) -> str:
    ledger = session.get(PointsLedger, row.entity_id)
    if ledger is None or ledger.reason != "redeem":
        raise NotFound(SM.NOTHING_TO_UNDO)
    member = _locked_member(session, ledger.member_id)
    member.points -= ledger.delta
    _drop_pending_care(session, f"redeem:{ledger.id}")
    what = SM.UNDO_WHAT_REDEEM.format(member_no=member.member_no, points=-ledger.delta)
    session.delete(ledger)
    session.flush()
    return what
