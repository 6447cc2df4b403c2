"""update_opportunity: 长城汽车的项目到商务谈判了 金额六十万 → stage, amount, probability, expected close."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from crm_store import services
from crm_store.models import STAGE_PROBABILITY, STAGES
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Job, Slots, Turn, register
from dialogs.reply import Reply
from dialogs.resolve import PICK, customer_from_message, customer_question

CHANGE_SLOTS = ("stage", "amount", "probability", "close")
# 新开了个项目 / 又有个新商机: a deal of its own, never an update of the open one (更新商机 is an update).
_NEW_DEAL = re.compile(r"(?<![更最重创刷])新(?:开了?|立了?|起了?|接了?|来了?)?(?:一?个)?(?:\S{0,6}?)(?:项目|商机|单子)|又有(?:一?个)?\S{0,6}?(?:项目|商机)")
# 基本签了 / 快成了 / 应该能拿下: close to won, not won (the rep would say 签了 / 赢单了).
_HEDGE = re.compile(r"(?:基本上?|差不多|快要?|马上(?:就)?要?|应该(?:能|会)?|估计|大概率?|有望|即将|八九不离十)[^，,。；;]{0,3}$")
_BARE_NUMBER = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,2})?)\s*(?:元|块)?\s*$")


@register
class UpdateOpportunity(Job):
    name = "update_opportunity"
    writes = True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        customer_from_message(turn, slots, awaiting)
        stage = ent.text_of(turn.parse, "stage")
        if stage == "won" and self._hedged(turn):
            stage = "negotiation"
        if stage in STAGES:
            slots["stage"] = stage
        if awaiting is None:
            product = ent.text_of(turn.parse, "product")
            if product:
                slots["_product"] = product
            if _NEW_DEAL.search(turn.text):
                slots["_new_deal"] = True
        amount = ent.first(turn.parse, "amount")
        if amount and ent.unclear_number(amount):
            slots["_vague_amount"] = str(amount.get("text") or "")[:20]
        elif amount and ent.as_decimal(amount["value"]) is not None:
            slots["amount"] = str(ent.as_decimal(amount["value"]))
            slots.pop("_vague_amount", None)
        elif awaiting == "amount" and _BARE_NUMBER.match(turn.text):
            slots["amount"] = _BARE_NUMBER.match(turn.text)[1]
            slots.pop("_vague_amount", None)
        probability = ent.first(turn.parse, "probability")
        if probability and ent.as_int(probability["value"]) is not None:
            slots["probability"] = max(0, min(100, ent.as_int(probability["value"]) or 0))
        time = ent.first(turn.parse, "time")
        if time:
            # A span (下个月, 年底前) closes at its end.
            value = time["value"]["to"] if isinstance(time["value"], dict) else time["value"]
            close = ent.as_datetime(value, turn.tz)
            if close is not None:
                slots["close"] = close.date().isoformat()

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if not slots.get("customer"):
            return "customer"
        if "opportunity" not in slots:
            self._choose_opportunity(turn, slots)
            if PICK in slots:
                return None
        if slots.get("_vague_amount"):
            return "amount"
        if not any(key in slots for key in CHANGE_SLOTS):
            return "change"
        return None

    @staticmethod
    def _hedged(turn: Turn) -> bool:
        entity = ent.first(turn.parse, "stage")
        return entity is not None and _HEDGE.search(turn.text[: int(entity.get("start", 0))]) is not None

    def _choose_opportunity(self, turn: Turn, slots: Slots) -> None:
        open_ones = services.open_opportunities(turn.session, turn.actor, slots["customer"]["id"])
        product = slots.get("_product")
        if product:  # 服务器项目基本签了: the deal about that product, else a new one, never another deal
            known = services.find_product(turn.session, product)
            named = [o for o in open_ones if product in o.title or (known is not None and o.product_id == known.id)]
            if not named:
                slots["opportunity"] = {"id": None, "name": None, "new": True, "title": product + DM.PROJECT}
                return
            open_ones = named
        elif slots.get("_new_deal"):
            slots["opportunity"] = {"id": None, "name": None, "new": True}
            return
        if len(open_ones) <= 1:
            slots["opportunity"] = (
                {"id": open_ones[0].id, "name": open_ones[0].title} if open_ones else {"id": None, "name": None}
            )
            return
        slots[PICK] = {
            "slot": "opportunity",
            "query": slots["customer"]["name"] + "的商机",
            "options": [
                {"id": o.id, "name": o.title, "detail": f"{DM.STAGE[o.stage]} {DM.money(o.amount)}"}
                for o in open_ones
            ],
        }

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        if slot == "customer":
            return customer_question(slots)
        if slot == "amount":
            return DM.AMOUNT_IS_RANGE.format(text=slots["_vague_amount"])
        return DM.ASK_OPPORTUNITY_CHANGE

    def summary(self, turn: Turn, slots: Slots) -> str:
        current = self._current(turn, slots)
        chosen = slots["opportunity"]
        title = chosen["name"] or ((chosen.get("title") or slots["customer"]["name"] + DM.PROJECT) + DM.OPPORTUNITY_NEW)
        changes = ""
        if "stage" in slots:
            changes += DM.OPPORTUNITY_CHANGE.format(
                label=DM.LABEL_STAGE,
                before=DM.STAGE.get(current.stage, "无") if current else "无",
                after=DM.STAGE[slots["stage"]],
            )
        if "amount" in slots:
            changes += DM.OPPORTUNITY_CHANGE.format(
                label=DM.LABEL_AMOUNT,
                before=DM.money(current.amount) if current else "无",
                after=DM.money(Decimal(slots["amount"])),
            )
        probability = slots.get("probability")
        if probability is None and "stage" in slots:
            probability = STAGE_PROBABILITY[slots["stage"]]
        if probability is not None:
            changes += DM.OPPORTUNITY_CHANGE.format(
                label=DM.LABEL_PROBABILITY,
                before=f"{current.probability}%" if current else "无",
                after=f"{probability}%",
            )
        if "close" in slots:
            before = current.expected_close if current else None
            changes += DM.OPPORTUNITY_CHANGE.format(
                label=DM.LABEL_CLOSE,
                before=DM.day(before, today=turn.now.date()) if before else "未定",
                after=DM.day(date.fromisoformat(slots["close"]), today=turn.now.date()),
            )
        return DM.OPPORTUNITY_SUMMARY.format(customer=slots["customer"]["name"], title=title, changes=changes)

    def _current(self, turn: Turn, slots: Slots):  # type: ignore[no-untyped-def]
        opportunity_id = slots["opportunity"]["id"]
        if opportunity_id is None:
            return None
        return next(
            (o for o in services.open_opportunities(turn.session, turn.actor, slots["customer"]["id"])
             if o.id == opportunity_id),
            None,
        )

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        opportunity = services.update_opportunity(
            turn.session,
            turn.actor,
            slots["customer"]["id"],
            opportunity_id=slots["opportunity"]["id"],
            create=bool(slots["opportunity"].get("new")),
            title=slots["opportunity"].get("title"),
            product_name=slots.get("_product"),
            stage=slots.get("stage"),
            amount=Decimal(slots["amount"]) if "amount" in slots else None,
            probability=slots.get("probability"),
            expected_close=date.fromisoformat(slots["close"]) if "close" in slots else None,
            now=turn.now,
        )
        text = DM.OPPORTUNITY_SAVED.format(
            customer=slots["customer"]["name"],
            stage=DM.STAGE[opportunity.stage],
            amount=DM.money(opportunity.amount),
            probability=opportunity.probability,
        )
        if opportunity.stage == "won":
            text = DM.OPPORTUNITY_WON.format(customer=slots["customer"]["name"]) + text
        return [Reply(text)]

