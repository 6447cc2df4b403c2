"""Members: clerks look a member up (exact pairs only) and record purchases or redemptions; members ask
their own points and unsubscribe (退订) or re-subscribe (订阅)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

from crm_store.services import members
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import EVERYONE, Job, Slots, Turn, register
from dialogs.reply import Reply

MEMBER_STAFF = frozenset({"clerk", "manager", "director", "admin"})
SUBSCRIBE_WORDS = {"订阅", "重新订阅", "恢复订阅", "继续订阅"}
_MEMBER_NO = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,6}\s?\d{1,12})(?![0-9])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_DIGITS = re.compile(r"(\d{3,})")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_LOOKUP_WORDS = re.compile(
    r"会员卡号|会员编号|会员号|会员卡|顾客|帮我|麻烦|请|查一下|查一查|查查|查询|查下|查看|查|找一下|找|一下|会员|卡号|号码|手机号|手机|电话|姓名|名字|叫|是|的|信息|资料|积分|等级"
)
CONTEXT = "member_ctx"


def _member_no_in(turn: Turn) -> str | None:
    number = members.normalize_member_no(ent.text_of(turn.parse, "member_id"))
    if number:
        return number
    found = _MEMBER_NO.search(turn.text)
    return members.normalize_member_no(found.group(1)) if found else None


def _remember(turn: Turn, member_no: str) -> None:
    """The member the clerk just dealt with, so 积分抵扣 500 right after needs no number."""
    turn.state[CONTEXT] = {"no": member_no, "at": turn.now.isoformat()}


def _recent_member(turn: Turn) -> str | None:
    context = turn.state.get(CONTEXT)
    if not context:
        return None
    age = turn.now - datetime.fromisoformat(context["at"])
    return context["no"] if timedelta(0) <= age <= timedelta(minutes=turn.config.dialogs.form_timeout_minutes) else None


def _name_in(text: str) -> str | None:
    leftover = _PHONE.sub(" ", _MEMBER_NO.sub(" ", text))
    leftover = _LOOKUP_WORDS.sub(" ", leftover)
    leftover = re.sub(r"[\s\W\d_]+", "", leftover)
    return leftover[:50] or None


def _mask(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 8 else ""


@register
class MemberLookup(Job):
    """查会员 王小明 VIP0023 / 查会员 13800138000: exact only; every miss gets the same answer."""

    name = "member_lookup"
    roles = MEMBER_STAFF

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        number = _member_no_in(turn)
        phone = ent.text_of(turn.parse, "phone")
        if phone is None:
            # A partial or malformed number is still a query (and a miss), not a reason to ask again.
            found = _PHONE.search(turn.text) or (None if number else _DIGITS.search(turn.text))
            phone = found.group(1) if found else None
        # The name is read from the words themselves, not only from the NLU: the gazetteer knows member
        # names, and a reply that differed for unknown names would tell a clerk which names exist.
        name = _name_in(turn.text) or ent.text_of(turn.parse, "member")
        for key, value in (("name", name), ("member_no", number), ("phone", phone)):
            if value:
                slots[key] = value

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        return None if any(slots.get(k) for k in ("name", "member_no", "phone")) else "query"

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return DM.ASK_MEMBER_LOOKUP

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        member = members.lookup_member(
            turn.session, turn.actor, name=slots.get("name"), member_no=slots.get("member_no"),
            phone=slots.get("phone"), now=turn.now,
        )
        if member is None:
            return [Reply(DM.MEMBER_NOT_FOUND)]
        _remember(turn, member.member_no)
        phone = _mask(member.phone)
        return [Reply(DM.MEMBER_CARD.format(
            name=member.name, member_no=member.member_no, tier=member.tier, points=member.points,
            expires=members.fmt_date(member.expires_at) or DM.UNSET,
            phone=DM.MEMBER_CARD_PHONE.format(phone=phone) if phone else "",
        ))]


@register
class RecordPurchase(Job):
    """会员VIP0023消费了1288元 / 积分抵扣 500 / 会员VIP0023用500积分抵扣."""

    name = "record_purchase"
    roles = MEMBER_STAFF
    writes = True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        number = _member_no_in(turn)
        if number:
            slots["member_no"] = number
        amount = ent.first(turn.parse, "amount")
        slots.pop("_vague_amount", None)
        if amount is not None and ent.unclear_number(amount):
            slots["_vague_amount"] = str(amount.get("text") or "")[:20]
            slots.pop("amount", None)
            amount = None
        value = ent.as_decimal(amount["value"]) if amount else None
        if value is None and awaiting == "amount" and "_vague_amount" not in slots:
            found = _NUMBER.search(turn.text)
            value = Decimal(found.group(0)) if found else None
        if value is not None:
            slots["amount"] = str(value)
        points = ent.first(turn.parse, "points")
        if points is not None and ent.as_int(points["value"]) is not None:
            slots["redeem"] = ent.as_int(points["value"])
        if "member_no" not in slots and awaiting is None:
            recent = _recent_member(turn)
            if recent:
                slots["member_no"] = recent

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if not slots.get("member_no"):
            return "member_no"
        if "amount" not in slots and "redeem" not in slots or "_vague_amount" in slots:
            return "amount"
        return None

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        if slot == "member_no":
            return DM.ASK_MEMBER_NO
        vague = slots.get("_vague_amount")
        return DM.AMOUNT_IS_RANGE.format(text=vague) if vague else DM.ASK_PURCHASE_AMOUNT

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        if "amount" in slots:
            amount = Decimal(slots["amount"])
            if amount <= 0 or amount > members.MAX_PURCHASE:
                return [Reply(DM.PURCHASE_AMOUNT_INVALID)]
        return None

    def summary(self, turn: Turn, slots: Slots) -> str:
        parts = []
        if "amount" in slots:
            parts.append(DM.PURCHASE_SUMMARY.format(
                member_no=slots["member_no"], amount=DM.money(slots["amount"]),
                store=turn.actor.store or DM.UNSET,
            ))
        if "redeem" in slots:
            parts.append(DM.REDEEM_SUMMARY.format(member_no=slots["member_no"], points=slots["redeem"]))
        return "\n".join(parts)

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        lines = []
        if "amount" in slots:
            result = members.record_purchase(
                turn.session, turn.actor, slots["member_no"], slots["amount"], rules=turn.config.rules, tz=turn.tz, now=turn.now
            )
            line = DM.PURCHASE_SAVED.format(
                member_no=result.member.member_no, amount=DM.money(result.purchase.amount),
                earned=result.earned, points=result.member.points,
            )
            if result.multiplier > 1:
                line += DM.PURCHASE_PROMOTION.format(multiplier=f"{result.multiplier:g}")
            if result.upgraded_to:
                line += DM.PURCHASE_UPGRADED.format(tier=result.upgraded_to)
            lines.append(line)
        if "redeem" in slots:
            redeemed = members.redeem_points(
                turn.session, turn.actor, slots["member_no"], slots["redeem"], rules=turn.config.rules, tz=turn.tz, now=turn.now
            )
            lines.append(DM.REDEEM_SAVED.format(
                member_no=redeemed.member.member_no, used=redeemed.used, yuan=DM.money(redeemed.yuan),
                points=redeemed.member.points,
            ))
        _remember(turn, slots["member_no"])
        return [Reply("\n".join(lines))]


@register
class QueryPoints(Job):
    """A member's own points, tier and next expiry; staff are pointed to the exact look-up."""

    name = "query_points"
    roles = EVERYONE

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        if turn.actor.role != "member":
            return [Reply(DM.POINTS_STAFF_HINT)]
        summary = members.points_summary(turn.session, turn.actor, tz=turn.tz, now=turn.now)
        text = DM.POINTS_SUMMARY.format(name=summary.member.name, points=summary.points, tier=summary.tier)
        if summary.next_expiring_on is not None and summary.next_expiring_points:
            text += DM.POINTS_EXPIRING.format(
                points=summary.next_expiring_points, day=members.fmt_date(summary.next_expiring_on)
            )
        if summary.membership_expires is not None:
            text += DM.POINTS_MEMBERSHIP.format(day=members.fmt_date(summary.membership_expires))
        return [Reply(text)]


@register
class Unsubscribe(Job):
    """退订 stops every care message; the literal 订阅 turns them back on."""

    name = "unsubscribe"
    roles = frozenset({"member"})

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        plain = re.sub(r"[\s。.!！~～,，]+", "", turn.text)
        if plain in SUBSCRIBE_WORDS:
            changed = members.set_opt_out(turn.session, turn.actor, False, now=turn.now)
            return [Reply(DM.SUBSCRIBED if changed else DM.ALREADY_SUBSCRIBED)]
        changed = members.set_opt_out(turn.session, turn.actor, True, now=turn.now)
        return [Reply(DM.UNSUBSCRIBED if changed else DM.ALREADY_UNSUBSCRIBED)]


def member_sales_text(turn: Turn, start: datetime, end: datetime, *, by_clerk: bool = False) -> str:
    """本月各门店会员消费 as text, for the sales_report job: stores (and their clerks) in [start, end)."""
    stores = members.store_sales(turn.session, turn.actor, start, end)
    last_day = (end - timedelta(seconds=1)).astimezone(turn.tz)
    span = {"start": members.fmt_date(start.astimezone(turn.tz).date()), "end": members.fmt_date(last_day.date())}
    if not stores:
        return DM.MEMBER_SALES_NONE.format(**span)
    clerks = members.clerk_sales(turn.session, turn.actor, start, end) if by_clerk else []
    lines = [DM.MEMBER_SALES_HEADER.format(**span)]
    for store in stores:
        lines.append(DM.MEMBER_SALES_STORE.format(
            store=store.store, amount=DM.money(store.amount), purchases=store.purchases, members=store.members
        ))
        lines.extend(
            DM.MEMBER_SALES_CLERK.format(clerk=c.clerk, amount=DM.money(c.amount), purchases=c.purchases)
            for c in clerks if c.store == store.store
        )
    return "\n".join(lines)
