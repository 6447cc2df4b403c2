"""approve / reject / list_approvals: 同意 SO20261127001, 驳回 1024 价格太低, just 同意 when one
order waits; the submitter hears the decision, the next approver gets the order."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import object_session

from crm_store.errors import CRMError
from crm_store.models import Order
from crm_store.services import approvals, orders
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import SALES_ROLES, STAFF_ROLES, Job, Slots, Turn, register
from dialogs.reply import Button, Reply
from dialogs.resolve import PICK

REF = re.compile(r"(SO\d{8,})|[#＃]\s*(\d{1,12})|(?<![\d.])(\d{3,12})(?![\d.万元块台套个%])", re.IGNORECASE)
VERBS = re.compile(
    r"(不同意|不批准|不批|不通过|不行|驳回|拒绝|否决|退回|打回|同意|批准|通过|批了|可以)[了吧啊]?", re.IGNORECASE
)
# 驳回 4 折扣太大: a short number right after the verb is the order reference
VERB_REF = re.compile(
    r"^\s*(?:不同意|不批准|不批|驳回|拒绝|否决|退回|打回|同意|批准|通过)\s*[#＃]?\s*(\d{1,12})(?![\d.万元块台套个%折])"
)
PUNCT = " \t,，.。:：;；!！?？、~～-—/"
REASON_LIMIT = approvals.MAX_REASON


def order_lines_text(order: Order) -> str:
    session = object_session(order)
    products = orders.active_products(session) if session is not None else []
    units = {p.id: p.unit for p in products}
    listed = {p.id: p.unit_price for p in products}
    return "\n".join(
        DM.ORDER_LINE.format(
            n=n, product=line.product_name, quantity=line.quantity, unit=units.get(line.product_id) or "",
            unit_price=DM.money(line.unit_price), amount=DM.money(line.amount),
            note=DM.price_note(listed.get(line.product_id), None, line.unit_price, None),
        )
        for n, line in enumerate(order.lines, start=1)
    )


def order_notice(order: Order, approver_id: int, previous: str | None = None) -> Reply:
    """The message an approver gets: the order summary plus 批准 / 驳回 buttons that type 同意/驳回 SO…."""
    text = DM.ORDER_NOTICE.format(
        submitter=order.submitter.name, number=order.number, customer=order.customer.name,
        lines=order_lines_text(order), total=DM.money(order.total),
        discount=DM.ORDER_DISCOUNT.format(discount=DM.discount_text(order.discount)) if order.discount else "",
        previous=DM.ORDER_NOTICE_NEXT.format(previous=previous) if previous else "",
    )
    buttons = (
        Button(DM.APPROVE_BUTTON, DM.APPROVE_REPLY_TEXT.format(number=order.number)),
        Button(DM.REJECT_BUTTON, DM.REJECT_REPLY_TEXT.format(number=order.number)),
    )
    return Reply(text, buttons=buttons, to_staff_id=approver_id)


def _ref(turn: Turn) -> tuple[str | None, tuple[int, int] | None]:
    value = ent.text_of(turn.parse, "order_id")
    match = REF.search(turn.text)
    if value:
        value = value.lstrip("#＃").strip()
        start = turn.text.find(value)
        if start > 0 and turn.text[start - 1] in "#＃":
            start -= 1
            value_len = len(value) + 1
        else:
            value_len = len(value)
        span = (start, start + value_len) if start >= 0 else None
        return value, span
    if match:
        return next(g for g in match.groups() if g), match.span()
    short = VERB_REF.match(turn.text)
    if short:
        return short.group(1), short.span(1)
    return None, None


def _reason(turn: Turn, span: tuple[int, int] | None) -> str | None:
    text = turn.text if span is None else turn.text[: span[0]] + " " + turn.text[span[1]:]
    text = re.sub(r"^[#＃\s]+", "", text)
    text = VERBS.sub(" ", text, count=1).strip(PUNCT).strip()
    return text[:REASON_LIMIT + 1] or None


def _option(order: Order) -> dict[str, Any]:
    return {
        "id": order.id, "name": order.number,
        "detail": DM.APPROVAL_OPTION_DETAIL.format(
            customer=order.customer.name, total=DM.money(order.total), submitter=order.submitter.name
        ),
    }


class Decide(Job):
    roles = STAFF_ROLES  # a rep or clerk asking gets 您没有审批权限 from the service, not a generic refusal
    approve: bool = True
    free_text_slots = frozenset({"reason"})

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        if awaiting == "reason":
            slots["reason"] = turn.text.strip()
            return
        customer = ent.text_of(turn.parse, "customer")
        if customer:  # 华为那单先压着别批: the approver names the order by its customer
            slots["customer_hint"] = customer
        ref, span = _ref(turn)
        if ref:
            slots["ref"] = ref
            slots.pop("order", None)
            slots.pop(PICK, None)
        if not self.approve and awaiting is None:
            reason = _reason(turn, span)
            if reason:
                slots["reason"] = reason

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if turn.actor.role not in approvals.APPROVER_ROLES:
            return None  # execute answers 您没有审批权限
        if not slots.get("ref") and not slots.get("order"):
            waiting = approvals.pending_for(turn.session, turn.actor)
            hint = slots.get("customer_hint")
            named = [step for step in waiting if hint and hint in step.order.customer.name]
            waiting = named or waiting
            if len(waiting) == 1:
                slots["order"] = _option(waiting[0].order)
            elif len(waiting) > 1:
                slots[PICK] = {
                    "slot": "order", "query": DM.APPROVAL_PICK_QUERY,
                    "options": [_option(step.order) for step in waiting],
                }
                return None
        if not self.approve and not slots.get("reason") and not slots.get("_error"):
            try:  # no point asking for a reason on an order this person cannot decide
                order = self._order(turn, slots)
                if order is not None:
                    approvals.check_step(turn.session, turn.actor, order)
            except CRMError as error:
                slots["_error"] = error.message
                return None
            return "reason"
        return None

    def _order(self, turn: Turn, slots: Slots) -> Order | None:
        if slots.get("order"):
            return orders.get_order(turn.session, slots["order"]["id"])
        if slots.get("ref"):
            return approvals.find_order(turn.session, turn.actor, slots["ref"])
        return None

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return DM.ASK_REJECT_REASON

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        return [Reply(slots["_error"])] if slots.get("_error") else None

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        ref = slots["order"]["name"] if slots.get("order") else slots.get("ref")
        decision = approvals.decide(
            turn.session, turn.actor, order_ref=ref, approve=self.approve, reason=slots.get("reason"),
            now=turn.now, via_message=turn.actor.via_message,
        )
        order = orders.get_order(turn.session, decision.order.id)
        submitter, customer = order.submitter, order.customer
        total = DM.money(order.total)
        notices: list[Reply] = []
        if not decision.approved:
            reason = decision.step.reason or ""
            reply = DM.REJECTED.format(number=order.number, reason=reason, submitter=submitter.name)
            notices.append(Reply(DM.NOTICE_REJECTED.format(
                number=order.number, customer=customer.name, total=total, approver=turn.actor.name, reason=reason,
            ), to_staff_id=submitter.id))
        elif decision.next_step is not None:
            following = decision.next_step.approver
            assert following is not None
            reply = DM.APPROVED_NEXT.format(number=order.number, next=following.name)
            notices.append(Reply(DM.NOTICE_PASSED.format(
                number=order.number, approver=turn.actor.name, next=following.name,
            ), to_staff_id=submitter.id))
            notices.append(order_notice(order, following.id, previous=turn.actor.name))
        else:
            reply = DM.APPROVED_FINAL.format(
                number=order.number, customer=customer.name, total=total, submitter=submitter.name
            )
            notices.append(Reply(DM.NOTICE_APPROVED.format(
                number=order.number, customer=customer.name, total=total, approver=turn.actor.name,
            ), to_staff_id=submitter.id))
        turn.notices.extend(notices)  # only after the decision is written: a failure notifies nobody
        return [Reply(reply)]


@register
class Approve(Decide):
    name = "approve"
    approve = True


@register
class Reject(Decide):
    name = "reject"
    approve = False


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return ""
    hours = int((now - then).total_seconds() // 3600)
    if hours < 1:
        return "刚刚"
    if hours < 24:
        return f"{hours}小时前"
    return f"{hours // 24}天前"


@register
class ListApprovals(Job):
    name = "list_approvals"
    roles = SALES_ROLES

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        parts: list[str] = []
        if turn.actor.role in approvals.APPROVER_ROLES:
            waiting = approvals.pending_for(turn.session, turn.actor)
            if waiting:
                lines = [DM.APPROVALS_HEADER.format(count=len(waiting))]
                lines += [
                    DM.APPROVAL_LINE.format(
                        n=n, number=step.order.number, customer=step.order.customer.name,
                        total=DM.money(step.order.total), submitter=step.order.submitter.name,
                        since=_ago(turn.now, step.pending_since),
                    )
                    for n, step in enumerate(waiting, start=1)
                ]
                lines.append(DM.APPROVALS_HINT)
                parts.append("\n".join(lines))
            else:
                parts.append(DM.APPROVALS_NONE)
        mine = orders.my_orders(turn.session, turn.actor, limit=turn.config.dialogs.page_size)
        if mine:
            parts.append("\n".join([DM.MY_ORDERS_HEADER, *(self._line(order) for order in mine)]))
        elif not parts:
            parts.append(DM.MY_ORDERS_NONE)
        return [Reply("\n\n".join(parts))]

    def _line(self, order: Order) -> str:
        detail = ""
        step = orders.current_step(order)
        if order.status == "pending" and step is not None and step.approver is not None:
            detail = DM.MY_ORDER_WAITING.format(approver=step.approver.name)
        elif order.status == "rejected":
            rejected = next((s for s in order.steps if s.status == "rejected"), None)
            if rejected is not None and rejected.reason:
                name = rejected.approver.name if rejected.approver else ""
                detail = DM.MY_ORDER_REJECTED.format(approver=name, reason=rejected.reason)
        return DM.MY_ORDER_LINE.format(
            number=order.number, customer=order.customer.name, total=DM.money(order.total),
            status=DM.ORDER_STATUS.get(order.status, order.status), detail=detail,
        )
