"""会员消费 and 积分抵扣 at the counter: 会员VIP0023消费了1288元，积分抵了1000 / 用了500积分 / 积分全用了.

Points spent in a purchase message are never dropped: they are applied (checked against the usable balance
in the preview, before 确认) or refused with the reason; points the clerk clearly meant to spend but whose
number cannot be read are asked for."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_store.errors import CRMError
from crm_store.services import members
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Job, Slots, Turn, register
from dialogs.member.common import MEMBER_STAFF, member_no_in, recent_member, remember
from dialogs.reply import Reply

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# The clerk spends points: 积分抵了 / 积分抵扣 / 用了500积分 / 扣2000分 / 全部积分.
SPEND_CUE = re.compile(
    r"积分\s*(?:抵|扣|用|兑|换|全|都)|(?:抵|扣|用|兑|换|花|使用)[^，,。；;]{0,6}?(?:积分|\d\s*分(?!钟))|(?:全部|所有)的?积分"
)
# Every point the member has: 积分全用了 / 全部积分抵扣 / 积分都抵了.
SPEND_ALL = re.compile(r"积分\s*(?:全部?|都)(?:用|抵|扣|兑)|(?:全部|所有)的?积分|积分\s*(?:用完|用光)")
# 积分抵了10元: a sum of money right after a points cue is what the points are worth, not the purchase.
_YUAN_OF_POINTS = re.compile(r"(?:积分|\d\s*分)[^，,。；;\d]{0,3}抵(?:扣|现|掉)?了?\s*$")
# 送200积分 / 获得300积分 / 返积分: points the member gets, never a redemption.
_EARN_CUE = re.compile(r"送|赠|奖励|获得|得到|返|加了?\s*\d")
# 不用积分了 / 不抵了, answering how many points to spend.
_NO_SPEND = re.compile(r"不(?:用|抵|扣|要)|没有|算了")
# 积分不用了 / 不用积分: said at any point of the draft, the points come out of it.
_DROP_SPEND = re.compile(r"不(?:用|抵|扣)了?积分|积分[^，,。；;\d]{0,3}不(?:用|抵|扣)")
# 买了个吹风机299: a bare number right after the product bought is its price (no unit: 2瓶 / 500分 are not).
_PRICE_AFTER_PRODUCT = re.compile(
    r"\s*[:：]?\s*(\d+(?:\.\d+)?)(?![\d.]|\s*(?:个|件|瓶|台|支|盒|袋|份|双|套|张|次|条|包|箱|积分|分))"
)
# 买了 / 消费 / 刷卡: something was bought; without a sum the purchase is asked for, never dropped.
_PURCHASE_CUE = re.compile(r"买|购|消费|刷卡|刷了|结账|付了|付款")
# 退货200块 / 退了一件 / 退款: money going back to the member, never a purchase that earns points.
_RETURN = re.compile(r"退货|退款|退钱|退了|退掉|退回|退单|退一件|退个")
# 积分抵了1000 with plain digits, when the NLU gave no points entity.
_POINTS_DIGITS = re.compile(r"积分\s*(?:抵扣|抵现|抵掉|抵|扣除|扣掉|扣|用掉|用|兑换)?\s*了?\s*(\d+)(?![\d.元块钱])")


def _split_amounts(turn: Turn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The message's money amounts: (purchase amounts, amounts that say what points are worth)."""
    purchase, of_points = [], []
    for amount in ent.entities(turn.parse, "amount"):
        before = turn.text[max(0, int(amount.get("start", 0)) - 12): int(amount.get("start", 0))]
        (of_points if _YUAN_OF_POINTS.search(before) else purchase).append(amount)
    return purchase, of_points


def _read_spend(turn: Turn, slots: Slots, of_points: list[dict[str, Any]], answering: bool) -> None:
    """Points to spend: a number of points, their worth in yuan, or all of them; unclear means ask."""
    spend_cue = SPEND_CUE.search(turn.text) is not None
    if _DROP_SPEND.search(turn.text) or answering and _NO_SPEND.search(turn.text):
        _set_spend(slots)
        return
    points = ent.first(turn.parse, "points")
    if points is not None and not spend_cue and not answering and _EARN_CUE.search(turn.text):
        points = None  # 送了200积分 / 获得300积分: points given, not spent
    value = ent.as_int(points["value"]) if points is not None and not ent.unclear_number(points) else None
    if value is None and (spend_cue or answering):
        found = _POINTS_DIGITS.search(turn.text) or (_NUMBER.fullmatch(ent.plain_answer(turn.text)) if answering else None)
        value = int(Decimal(found.group(1) if found.lastindex else found.group(0))) if found else None
    if value is not None:
        _set_spend(slots, redeem=value)
        if of_points and ent.as_decimal(of_points[0]["value"]) is not None:  # 500积分抵了50块: both said
            slots["redeem_said_yuan"] = str(ent.as_decimal(of_points[0]["value"]))
    elif SPEND_ALL.search(turn.text):
        _set_spend(slots, redeem_all=True)
    elif of_points and ent.as_decimal(of_points[0]["value"]) is not None:
        _set_spend(slots, redeem_yuan=str(ent.as_decimal(of_points[0]["value"])))
    elif spend_cue or answering:
        _set_spend(slots, unclear=True)


def _set_spend(slots: Slots, *, redeem: int | None = None, redeem_all: bool = False,
               redeem_yuan: str | None = None, unclear: bool = False) -> None:
    for key in ("redeem", "redeem_all", "redeem_yuan", "redeem_said_yuan", "_redeem_unclear"):
        slots.pop(key, None)
    if redeem is not None:
        slots["redeem"] = redeem
    if redeem_all:
        slots["redeem_all"] = True
    if redeem_yuan is not None:
        slots["redeem_yuan"] = redeem_yuan
    if unclear:
        slots["_redeem_unclear"] = True


def _refuse_points(slots: Slots, reason: str) -> str:
    """Points that cannot be spent as said: drop them from the draft and ask again, saying why."""
    _set_spend(slots, unclear=True)
    slots["_redeem_refused"] = reason
    return "redeem"


def _price_after_product(turn: Turn) -> Decimal | None:
    """买了个吹风机299: the price written right after the product (the NLU tags no amount without 元)."""
    for product in ent.entities(turn.parse, "product"):
        found = _PRICE_AFTER_PRODUCT.match(turn.text, int(product.get("end", 0)))
        if found:
            return Decimal(found.group(1))
    return None


def _points_for_yuan(yuan: str, turn: Turn) -> int | None:
    """积分抵了10元 → the points worth 10元 at the configured rate; None if it is not a whole number of points."""
    rate = turn.config.rules.points.yuan_per_point_redeemed
    try:
        points = Decimal(yuan) / rate
    except (InvalidOperation, ZeroDivisionError):
        return None
    return int(points) if points == points.to_integral_value() and points > 0 else None


@register
class RecordPurchase(Job):
    """会员VIP0023消费了1288元 / 积分抵扣 500 / 会员VIP0023用500积分抵扣 / 消费688，积分抵了1000."""

    name = "record_purchase"
    roles = MEMBER_STAFF
    writes = True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        purchase_amounts, of_points = _split_amounts(turn)
        if awaiting == "redeem":
            if not purchase_amounts and not member_no_in(turn):
                # The answer to 要用多少积分抵扣: a number here is points, not money.
                _read_spend(turn, slots, of_points, answering=True)
                return
            slots.clear()  # a whole new purchase message replaces the draft
            awaiting = None
        if awaiting is None and _RETURN.search(turn.text):
            slots["_stop"] = DM.PURCHASE_RETURN_NOT_HERE
            return
        number = member_no_in(turn)
        if number:
            slots["member_no"] = number
        amount = purchase_amounts[0] if purchase_amounts else None
        slots.pop("_vague_amount", None)
        if amount is not None and ent.unclear_number(amount):
            slots["_vague_amount"] = str(amount.get("text") or "")[:20]
            slots.pop("amount", None)
            amount = None
        value = ent.as_decimal(amount["value"]) if amount else None
        if value is None and amount is None and awaiting is None:
            value = _price_after_product(turn)
        if value is None and awaiting is None and _PURCHASE_CUE.search(turn.text):
            slots["_bought"] = True  # 买了个外套，积分抵了500: the purchase is asked for, not dropped
        if value is None and awaiting == "amount" and "_vague_amount" not in slots:
            found = _NUMBER.search(turn.text)
            value = Decimal(found.group(0)) if found else None
        if value is not None:
            slots["amount"] = str(value)
        if awaiting != "amount":
            _read_spend(turn, slots, of_points, answering=False)
        if "member_no" not in slots and awaiting is None:
            recent = recent_member(turn)
            if recent:
                slots["member_no"] = recent

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if "_stop" in slots:
            return None
        if not slots.get("member_no"):
            return "member_no"
        if slots.get("_redeem_unclear"):
            return "redeem"
        spends = any(k in slots for k in ("redeem", "redeem_all", "redeem_yuan"))
        if "amount" not in slots and (not spends or slots.get("_bought")) or "_vague_amount" in slots:
            return "amount"
        return self._preview(turn, slots)

    def _preview(self, turn: Turn, slots: Slots) -> str | None:
        """Check the purchase and the points now, before 确认. Points that cannot be spent are asked again with
        the reason (the rest of the message stands); anything else wrong ends the draft in precheck."""
        slots.pop("_preview", None)
        if "amount" in slots and not 0 < Decimal(slots["amount"]) <= members.MAX_PURCHASE:
            slots["_stop"] = DM.PURCHASE_AMOUNT_INVALID
            return None
        redeem = slots.get("redeem")
        if "redeem_yuan" in slots:
            redeem = _points_for_yuan(slots["redeem_yuan"], turn)
            if redeem is None:
                return _refuse_points(slots, DM.REDEEM_YUAN_UNCLEAR.format(yuan=DM.money(slots["redeem_yuan"])))
        if redeem is not None and redeem <= 0:
            return _refuse_points(slots, DM.REDEEM_POINTS_NOT_POSITIVE)
        said_yuan = slots.get("redeem_said_yuan")
        if redeem is not None and said_yuan is not None:
            worth = Decimal(redeem) * turn.config.rules.points.yuan_per_point_redeemed
            if worth != Decimal(said_yuan):  # 500积分抵了50块 where 500 points are worth 5元: ask, never pick one
                return _refuse_points(slots, DM.REDEEM_WORTH_DIFFERS.format(
                    points=redeem, worth=DM.money(worth), said=DM.money(said_yuan)))
        try:
            preview = members.preview_counter(
                turn.session, turn.actor, slots["member_no"], amount=slots.get("amount"), redeem=redeem,
                redeem_all=bool(slots.get("redeem_all")), rules=turn.config.rules, tz=turn.tz, now=turn.now,
            )
        except members.PointsRefused as refused:  # more than the balance or the purchase: say why, ask again
            return _refuse_points(slots, refused.message)
        except CRMError as error:  # an unknown member number, a clerk locked out of look-ups
            slots["_stop"] = error.message
            return None
        remember(turn, slots["member_no"])  # the member the clerk now works on, even if this draft is dropped
        slots["_preview"] = {
            "name": preview.name, "available": preview.available, "earned": preview.earned,
            "multiplier": f"{preview.multiplier:g}", "redeem": preview.redeem, "yuan": str(preview.redeem_yuan),
        }
        return None

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        if slot == "member_no":
            return DM.ASK_MEMBER_NO
        if slot == "redeem":
            refused = slots.pop("_redeem_refused", None)
            return f"{refused}\n{DM.ASK_REDEEM_POINTS}" if refused else DM.ASK_REDEEM_POINTS
        vague = slots.get("_vague_amount")
        return DM.AMOUNT_IS_RANGE.format(text=vague) if vague else DM.ASK_PURCHASE_AMOUNT

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        stop = slots.pop("_stop", None)
        return [Reply(stop)] if stop else None

    def summary(self, turn: Turn, slots: Slots) -> str:
        preview = slots["_preview"]
        who = DM.COUNTER_WHO.format(name=preview["name"], member_no=slots["member_no"])
        parts = []
        if "amount" in slots:
            promotion = DM.PURCHASE_PROMOTION.format(multiplier=preview["multiplier"]) if Decimal(
                preview["multiplier"]) > 1 else ""
            parts.append(DM.PURCHASE_PREVIEW.format(
                who=who, amount=DM.money(slots["amount"]), store=turn.actor.store or DM.UNSET,
                earned=preview["earned"], promotion=promotion,
            ))
        if preview["redeem"]:
            parts.append(DM.REDEEM_PREVIEW.format(
                who=who, points=preview["redeem"], yuan=DM.money(preview["yuan"]), available=preview["available"],
                left=preview["available"] - preview["redeem"],
            ))
        return "\n".join(parts)

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        lines = []
        points = slots["_preview"]["redeem"]
        redeemed = None
        if points:  # spent first: points this purchase earns cannot pay for it (as the preview said)
            redeemed = members.redeem_points(
                turn.session, turn.actor, slots["member_no"], points, rules=turn.config.rules, tz=turn.tz, now=turn.now
            )
            lines.append(DM.REDEEM_SAVED.format(
                member_no=redeemed.member.member_no, used=redeemed.used, yuan=DM.money(redeemed.yuan),
                points=redeemed.member.points,
            ))
        if "amount" in slots:
            result = members.record_purchase(
                turn.session, turn.actor, slots["member_no"], slots["amount"], rules=turn.config.rules, tz=turn.tz,
                now=turn.now, redeemed=redeemed,
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
        remember(turn, slots["member_no"])
        return [Reply("\n".join(lines))]
