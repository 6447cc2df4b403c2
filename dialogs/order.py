"""submit_order: 给华为下单，服务器10台，单价2万 becomes a draft (customer, priced lines), shown for
confirmation, then created and submitted in one transaction; the first approver gets a notice."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

from crm_store.errors import CRMError
from crm_store.services import orders
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.approval import order_notice
from dialogs.base import Job, Slots, Turn, register
from dialogs.reply import Reply
from dialogs.resolve import customer_from_message, customer_question

MEASURES = "台套个张盒件箱瓶支份部批吨只把条本袋包桶辆双组片卷罐斤副对顶间年"
UNIT_BEFORE = re.compile(rf"(单价|单台|单套|每[{MEASURES}]|一[{MEASURES}])[是为要卖算:：\s]*$")
UNIT_AFTER = re.compile(rf"^\s*(?:元|块钱|块)?\s*(?:/|每|一)\s*[{MEASURES}]")
TOTAL_BEFORE = re.compile(r"(共|总共|一共|合计|总价|总额|总计|整单|总金额)[是为:：\s]*$")
BARE_INT = re.compile(r"^\D{0,4}?(\d{1,7})\s*(?:台|套|个|把|件|年|份)?\s*$")
LINE = "_line"  # index of the line a quantity/price question is about


def _take_discount(turn: Turn, slots: Slots) -> None:
    """八五折 / 85折 / 85% (a multiplier from the NLU) and 减200 (money off the whole order)."""
    discount = ent.first(turn.parse, "discount")
    if discount is not None and isinstance(discount.get("value"), int | float) and 0 < discount["value"] < 1:
        slots["discount"] = float(discount["value"])
    reduction = ent.first(turn.parse, "reduction")
    amount = ent.as_decimal(reduction.get("value")) if reduction else None
    if amount is not None and amount > 0:
        slots["reduction"] = str(amount)


def _products_in_text(turn: Turn) -> list[dict[str, Any]]:
    """Catalog names or aliases written in the text, as entity-like dicts (when the NLU tagged none)."""
    found: list[dict[str, Any]] = []
    for product in orders.active_products(turn.session):
        for word in sorted([product.name, *(product.aliases or [])], key=len, reverse=True):
            start = turn.text.find(word)
            if start >= 0 and not any(f["start"] <= start < f["end"] for f in found):
                found.append({"entity": "product", "value": word, "start": start, "end": start + len(word)})
                break
    return sorted(found, key=lambda e: e["start"])


# A figure the NLU left untagged in an order (显示器10台 1100, 显示器 10 台): a price, or a quantity before a
# measure word. Never part of a tagged entity, an order number, a date or a percentage.
BARE_NUMBER = re.compile(r"(?<![\d.A-Za-z#＃])(\d{2,9}(?:\.\d{1,2})?)(?![\d.%％A-Za-z万千亿元块折月日号点])")
MEASURE_AFTER = re.compile(rf"^\s*[{MEASURES}]")


def _untagged_numbers(turn: Turn, taken: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for match in BARE_NUMBER.finditer(turn.text):
        if any(e["start"] < match.end() and match.start() < e["end"] for e in taken):
            continue
        kind = "quantity" if MEASURE_AFTER.match(turn.text[match.end():]) else "amount"
        end = match.end() + (len(MEASURE_AFTER.match(turn.text[match.end():])[0]) if kind == "quantity" else 0)
        found.append({"entity": kind, "value": match.group(1), "text": turn.text[match.start():end],
                      "start": match.start(), "end": end})
    return found


def _amount_kind(turn: Turn, entity: dict[str, Any], line: dict[str, Any]) -> str:
    before = turn.text[max(0, entity["start"] - 5): entity["start"]]
    after = turn.text[entity["end"]: entity["end"] + 4]
    if TOTAL_BEFORE.search(before):
        return "total"
    if UNIT_BEFORE.search(before) or UNIT_AFTER.search(after):
        return "unit"
    amount = ent.as_decimal(entity.get("value")) or Decimal(0)
    listed, qty = line.get("list_price"), line.get("quantity")
    if listed and qty and amount > 0:  # closer to the list price or to list price × quantity?
        ratio = float(amount) / float(listed)
        return "unit" if abs(math.log(ratio)) <= abs(math.log(ratio / qty)) else "total"
    return "total" if (qty or 1) > 1 else "unit"


def _per_unit_marker(turn: Turn, entity: dict[str, Any], numbers: list[dict[str, Any]]) -> bool:
    """一台 / 每套 right after a price (2万一台) says "per unit"; it is not a quantity of 1."""
    if entity.get("entity") != "quantity" or turn.text[entity["start"]: entity["start"] + 1] not in ("一", "每"):
        return False
    return any(
        other.get("entity") == "amount" and 0 <= entity["start"] - other["end"] <= 1 for other in numbers
    )


def _line_for(slots: Slots, product: Any) -> dict[str, Any]:
    for line in slots.setdefault("lines", []):
        if line["product"] == product.name:
            return line
    line = {
        "product": product.name, "unit": product.unit or "个", "quantity": None, "unit_price": None,
        "total": None, "list_price": str(product.unit_price) if product.unit_price is not None else None,
    }
    slots["lines"].append(line)
    return line


def _set_quantity(slots: Slots, line: dict[str, Any], value: Any, written: str = "") -> None:
    if ent.is_range(value):  # 两三台: ask for the number, never pick one end
        slots["_vague_quantity"] = written[:20]
        line["quantity"] = None
        return
    slots.pop("_vague_quantity", None)
    qty = ent.as_int(value)
    if qty is None or not 0 < qty <= orders.MAX_QUANTITY:
        slots["_bad_quantity"] = True
        return
    slots.pop("_bad_quantity", None)
    line["quantity"] = qty


def _set_amount(turn: Turn, line: dict[str, Any], entity: dict[str, Any]) -> None:
    if ent.unclear_number(entity):  # 两三万 or words not understood: ask for the figure, never skip it
        line["_vague"] = str(entity.get("text") or "")[:20]
        line["unit_price"] = line["total"] = None
        return
    line.pop("_vague", None)
    amount = ent.as_decimal(entity.get("value"))
    if amount is None or amount <= 0:
        return
    if _amount_kind(turn, entity, line) == "unit":
        line["unit_price"], line["total"] = str(amount), None
    else:
        line["total"], line["unit_price"] = str(amount), None


@register
class SubmitOrder(Job):
    name = "submit_order"
    writes = True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        if awaiting == "discount_on_total" and self._discount_on_total_answer(turn, slots):
            return
        if awaiting == "customer" or not slots.get("customer") or ent.first(turn.parse, "customer"):
            customer_from_message(turn, slots, awaiting)
        _take_discount(turn, slots)
        tagged = ent.entities(turn.parse, "product")
        # Catalog names the NLU missed (门锁 next to a tagged 显示器) are lines too, never dropped.
        products = sorted(tagged + [p for p in _products_in_text(turn)
                                    if not any(t["start"] < p["end"] and p["start"] < t["end"] for t in tagged)],
                          key=lambda e: e["start"])
        if awaiting == "product" and not products:
            product = orders.match_product(turn.session, turn.text)
            if product is None:
                slots["product_unknown"] = turn.text.strip()[:30]
                return
            products = [{"value": product.name, "start": 0, "end": 0}]
        lines: list[tuple[int, dict[str, Any]]] = []
        for entity in products:
            product = orders.match_product(turn.session, str(entity.get("value") or entity.get("text")))
            if product is None:
                slots["product_unknown"] = str(entity.get("text") or entity.get("value"))[:30]
                continue
            slots.pop("product_unknown", None)
            lines.append((entity["start"], _line_for(slots, product)))
        numbers = [e for e in turn.parse.get("entities", []) if e.get("entity") in ("quantity", "amount")]
        if lines:
            numbers += _untagged_numbers(turn, [*turn.parse.get("entities", []), *products])
        numbers = [e for e in numbers if not _per_unit_marker(turn, e, numbers)]
        touched: set[tuple[int, str]] = set()
        for entity in sorted(numbers, key=lambda e: e["start"]):
            line = self._target(slots, lines, entity, awaiting, touched)
            if line is None:
                continue
            touched.add((id(line), "quantity" if entity["entity"] == "quantity" else "price"))
            if entity["entity"] == "quantity":
                _set_quantity(slots, line, entity.get("value"), str(entity.get("text") or ""))
            else:
                _set_amount(turn, line, entity)
        if awaiting == "quantity" and not numbers and slots.get("lines"):
            match = BARE_INT.match(turn.text)
            target = slots["lines"][slots.get(LINE, 0)]
            if match:
                _set_quantity(slots, target, match.group(1))
            else:
                slots["_bad_quantity"] = True

    def _target(
        self, slots: Slots, lines: list[tuple[int, dict[str, Any]]], entity: dict[str, Any], awaiting: str | None,
        touched: set[tuple[int, str]],
    ) -> dict[str, Any] | None:
        """The line a number belongs to: the product before it if that line lacks this kind of number,
        else the product after it; with no product in the message, the line asked about (or the only one).
        A second number of the same kind for a line in one message is ignored, never overwrites."""
        field = "quantity" if entity["entity"] == "quantity" else "price"
        if lines:
            before = [line for start, line in lines if start < entity["start"]]
            after = [line for start, line in lines if start >= entity["start"]]
            if before and not self._has(before[-1], field):
                return before[-1]
            if after and (id(after[0]), field) not in touched:
                return after[0]
            if before and (id(before[-1]), field) not in touched:
                return before[-1]
            return None
        existing = slots.get("lines") or []
        if not existing:
            return None
        if awaiting in ("quantity", "price"):
            return existing[slots.get(LINE, 0)]
        return existing[-1]

    @staticmethod
    def _has(line: dict[str, Any], field: str) -> bool:
        if field == "quantity":
            return line["quantity"] is not None
        return line["unit_price"] is not None or line["total"] is not None

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if not slots.get("customer"):
            return "customer"
        if slots.get("product_unknown") or not slots.get("lines"):
            return "product"
        for index, line in enumerate(slots["lines"]):
            if line["quantity"] is None:
                slots[LINE] = index
                return "quantity"
            if line.get("_vague") or line["list_price"] is None and line["unit_price"] is None and line["total"] is None:
                slots[LINE] = index
                return "price"
        if slots.get("discount") and "discount_on_total" not in slots and self._totals(slots):
            return "discount_on_total"  # 共15万 打八五折: is 15万 before or after the discount? Ask.
        return None

    @staticmethod
    def _totals(slots: Slots) -> list[dict[str, Any]]:
        return [line for line in slots["lines"] if line["total"] is not None]

    def _discount_on_total_answer(self, turn: Turn, slots: Slots) -> bool:
        """是 (the total is already discounted) or 不是 (the discount comes off the total)."""
        answer = ent.plain_answer(turn.text)
        if answer in ent.YES_WORDS:
            slots["discount_on_total"] = "included"
        elif answer in ent.NO_WORDS:
            slots["discount_on_total"] = "applied"
            discount = Decimal(str(slots["discount"]))
            for line in self._totals(slots):
                line["total"] = str((Decimal(line["total"]) * discount).quantize(Decimal("0.01")))
        else:
            return False
        return True

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        if slot == "customer":
            return customer_question(slots, DM.ASK_ORDER_CUSTOMER)
        if slot == "discount_on_total":
            total = sum((Decimal(line["total"]) for line in self._totals(slots)), Decimal(0))
            discount = Decimal(str(slots["discount"]))
            return DM.ORDER_DISCOUNT_ON_TOTAL.format(
                total=DM.money(total), discount=DM.discount_text(float(discount)),
                after=DM.money((total * discount).quantize(Decimal("0.01"))),
            )
        if slot == "product":
            unknown = slots.get("product_unknown")
            if unknown:
                options = "、".join(p.name for p in orders.active_products(turn.session))
                return DM.ORDER_PRODUCT_UNKNOWN.format(name=unknown, options=options)
            return DM.ASK_ORDER_PRODUCT
        line = slots["lines"][slots.get(LINE, 0)]
        if slot == "quantity":
            vague = slots.pop("_vague_quantity", None)
            prefix = DM.ORDER_QUANTITY_BAD if slots.pop("_bad_quantity", False) else ""
            prefix = DM.QUANTITY_IS_RANGE.format(text=vague) if vague else prefix
            return prefix + DM.ASK_ORDER_QUANTITY.format(product=line["product"], unit=line["unit"])
        if line.get("_vague"):
            return DM.AMOUNT_IS_RANGE.format(text=line["_vague"])
        return DM.ASK_ORDER_PRICE.format(product=line["product"])

    # --- preview and execution ---
    def _specs(self, slots: Slots) -> list[orders.LineSpec]:
        return [(line["product"], line["quantity"], line["unit_price"], line["total"]) for line in slots["lines"]]

    def _priced(self, turn: Turn, slots: Slots) -> tuple[list[orders.LineSpec], list[orders.PricedLine]]:
        """Specs as the store will take them: 减200 comes off the last line's total after the discount."""
        specs = self._specs(slots)
        priced = orders.price_lines(turn.session, specs, slots.get("discount"))
        reduction = ent.as_decimal(slots.get("reduction"))
        if reduction:
            last = priced[-1]
            if reduction >= last.amount:
                raise CRMError(DM.ORDER_REDUCTION_TOO_LARGE.format(amount=DM.money(reduction)))
            name, quantity, _, _ = specs[-1]
            specs[-1] = (name, quantity, None, str(last.amount - reduction))
            reduced = orders.price_lines(turn.session, specs, slots.get("discount"))
            priced = [*priced[:-1], replace(reduced[-1], quoted_price=last.quoted_price)]
        return specs, priced

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        try:
            self._preview(turn, slots)
        except CRMError as error:
            return [Reply(error.message)]
        return None

    def _preview(self, turn: Turn, slots: Slots) -> tuple[list[orders.PricedLine], Decimal, float | None, list]:
        _, priced = self._priced(turn, slots)
        total = sum((p.amount for p in priced), Decimal(0))
        # Route on the deeper of the said discount and the real one against list prices (quoted prices count).
        said, real = slots.get("discount"), orders.effective_discount(priced)
        discount = min(said, real) if said and real else said or real
        route = orders.approval_route(
            turn.session, turn.actor.staff_id or 0, total, discount, turn.config.rules.approvals
        )
        return priced, total, discount, route

    def summary(self, turn: Turn, slots: Slots) -> str:
        priced, total, route_discount, route = self._preview(turn, slots)
        discount = slots.get("discount") or route_discount
        lines = "\n".join(
            DM.ORDER_LINE.format(
                n=n, product=p.product.name, quantity=p.quantity, unit=p.product.unit or "个",
                unit_price=DM.money(p.unit_price), amount=DM.money(p.amount),
                note=DM.price_note(p.product.unit_price, p.quoted_price, p.unit_price, slots.get("discount")),
            )
            for n, p in enumerate(priced, start=1)
        )
        reduction = slots.get("reduction")
        return DM.ORDER_SUMMARY.format(
            customer=slots["customer"]["name"], lines=lines, total=DM.money(total),
            discount=(DM.ORDER_DISCOUNT.format(discount=DM.discount_text(discount)) if discount else "")
            + (DM.ORDER_REDUCTION.format(amount=DM.money(reduction)) if reduction else ""),
            route=" → ".join(approver.name for _, approver in route),
        )

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        specs, _ = self._priced(turn, slots)
        order = orders.create_order(
            turn.session, turn.actor, slots["customer"]["id"], specs,
            discount=slots.get("discount"), now=turn.now, tz=turn.tz,
        )
        order = orders.submit_order(turn.session, turn.actor, order.id, turn.config.rules.approvals, now=turn.now)
        order = orders.get_order(turn.session, order.id)
        first = orders.current_step(order)
        assert first is not None and first.approver is not None
        turn.notices.append(order_notice(order, first.approver_id))
        return [Reply(DM.ORDER_SUBMITTED.format(
            number=order.number, total=DM.money(order.total), approver=first.approver.name
        ))]
