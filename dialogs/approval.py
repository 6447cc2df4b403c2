"""approve / reject / list_approvals: 同意 SO20261127001, 驳回 1024 价格太低, 海康那单同意, just 同意 when
one order waits; the submitter hears the decision, the next approver gets the order. An order picked from a
list is shown and confirmed before it is decided; 看下SO… / 海康那单的明细 shows an order, never decides it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import object_session

from crm_store.errors import CRMError
from crm_store.models import Order
from crm_store.services import approvals, orders, similar
from crm_store.services.common import name_key
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import (
    APPROVAL_LIST,
    SALES_ROLES,
    STAFF_ROLES,
    Job,
    Slots,
    Turn,
    register,
    remember_list,
    shown_list,
)
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
# Words that decide. An approve/reject message without one (看下SO…, SO…什么情况) only shows the order.
DECIDE_WORDS = re.compile(
    r"不同意|不批|不通过|不行|驳回|拒绝|否决|退回|打回|同意|批准|通过|批了|批吧|准了|可以|没问题|行吧|^行|ok|okay|好的"
    r"|放行|签了|过了吧",
    re.IGNORECASE,
)
# 看下SO… / 那单的明细: the order is asked about, not decided
VIEW_WORDS = re.compile(r"看下|看一下|看看|瞧瞧|明细|详情|详细|内容|什么单|哪些东西|打开|发我|给我看|情况")
PUNCT = " \t,，.。:：;；!！?？、~～-—/"
# A line of that list: 第二个 / 第2单 anywhere, or a number leading the message (1 / 2 驳回 价格太低 / 1同意)
LISTED = re.compile(
    rf"第\s*({ent.LIST_NUM})\s*(?:个|单|张|笔|条|号)?|^\s*({ent.LIST_NUM})\s*(?:号|个|单|张|笔)?(?![\d.万元块台套%折])"
)
REASON_LIMIT = approvals.MAX_REASON


def order_lines_text(order: Order) -> str:
    """The lines as the rep saw them before submitting: the price charged, with the list price, the quoted
    price and the discount next to it where they differ."""
    session = object_session(order)
    products = orders.active_products(session) if session is not None else []
    units = {p.id: p.unit for p in products}
    listed = {p.id: p.unit_price for p in products}
    rows = []
    for n, line in enumerate(order.lines, start=1):
        list_price = listed.get(line.product_id)
        base = line.quoted_price if line.quoted_price is not None else list_price
        discounted = (
            order.discount is not None and base is not None
            and (Decimal(base) * Decimal(str(order.discount))).quantize(Decimal("0.01")) == Decimal(line.unit_price)
            and order.discount < 1
        )
        rows.append(DM.ORDER_LINE.format(
            n=n, product=line.product_name, quantity=line.quantity, unit=units.get(line.product_id) or "",
            unit_price=DM.money(line.unit_price), amount=DM.money(line.amount),
            note=DM.price_note(list_price, line.quoted_price, line.unit_price, order.discount if discounted else None),
        ))
    return "\n".join(rows)


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
    return Reply(text, buttons=buttons, to_staff_id=approver_id, topic=orders.order_topic(order.id),
                 tell_if_unreachable=order.submitter_id)


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


LEAD_VERB = re.compile(
    r"^\s*(?:不同意|不批准|不批|不通过|不行|驳回|拒绝|否决|退回|打回|同意|批准|通过)"
    r"(?:(?:去|掉)?[了吧啊吗呢]?(?:[\s,，.。:：;；!！、]+|$)|[了吧啊]?(?=[^去来掉回的]))"
)
_REJECT_VERB = r"(?:不同意|不批准|不批|不通过|不行|驳回|拒绝|否决|退回|打回)"
_REJECTS = re.compile(_REJECT_VERB)
# …，不批 (set apart) or 价格太低驳回 (a command verb right after); 这个价我们不同意 stays whole
TAIL_VERB = re.compile(
    rf"(?:[\s,，.。;；!！、]+(?:先)?{_REJECT_VERB}|(?<![要想得将把])(?:驳回|拒绝|否决|退回|打回))(?:去|掉)?[了吧啊]?[\s。.!！]*$"
)
# 这几张有一张要驳回 / 我想打回去: only the command, no reason in it
COMMAND_ONLY = re.compile(rf"(?:要|想|得|准备|打算|将|把)(?:它|这张|那张)?(?:先)?{_REJECT_VERB}(?:去|掉)?[了吧啊]?[\s。.!！]*$")
# 这单 / 那张单子 / 海康那单 at the start: which order, not why (客户的单子还没签 is a reason: kept)
ORDER_WORDS = re.compile(r"^\s*(?:[\u4e00-\u9fa5A-Za-z]{0,8}?(?:那|这))\s*(?:一|个|张)?(?:单子|单)(?![价位据号])\s*")
# 比亚迪那单 / 华润的单子: an order named by a customer (the name itself may be a short form)
BY_CUSTOMER = re.compile(r"[\u4e00-\u9fa5A-Za-z]{2,}(?:那|这|的)一?(?:张|个)?单")
# SO…批了吗 / 审到哪了: a question about the approval, not a decision
QUESTION = re.compile(r"(?:批|通过|同意|审|驳回|拒绝|过)[了过]*(?:吗|么|没有|没)\s*[?？]?\s*$|到哪|哪一步|进度")
REASON_LABEL = re.compile(r"^\s*(?:原因|理由)\s*(?:是|为|[:：])\s*")


def listed_order(turn: Turn) -> tuple[int, tuple[int, int]] | None:
    """(order id, span) for 第二个 / 2 / 同意 1 said while the numbered pending list shown last (newer than a
    follow-up list) is fresh; None otherwise, and for a number past the list's end."""
    shown = shown_list(turn, APPROVAL_LIST)
    if not shown:
        return None
    match = LISTED.search(turn.text)
    if match is not None:  # 第二个 / 2号: the whole of it is the reference
        token, span = match.group(1) or match.group(2), match.span()
    else:  # 驳回 2 …: the number only, the verb stays for the reason reader to take off
        match = VERB_REF.match(turn.text)
        if match is None or not re.fullmatch(ent.LIST_NUM, match.group(1)):
            return None
        token, span = match.group(1), match.span(1)
    number = ent.small_number(token)
    return (shown[number - 1], span) if number is not None and 1 <= number <= len(shown) else None


def _reason(turn: Turn, span: tuple[int, int] | None, customer: str | None = None) -> str | None:
    """The rejection reason as written: only the order reference (SO…, 华为那单) and the command word at
    the start (驳回 / 不批) or set apart at the end (…，驳回吧) are taken off; words inside are never cut
    (退回去重新报价 keeps 退回去)."""
    text = turn.text if span is None else turn.text[: span[0]] + " " + turn.text[span[1]:]
    text = re.sub(r"^[#＃\s]+", "", text)
    if COMMAND_ONLY.search(text):
        return None
    verb_taken = False
    for _ in range(2):  # 华为那单 驳回 …  /  驳回 华为那单 …: one command word, the order named around it
        if customer:
            text = re.sub(rf"^\s*{re.escape(customer)}\s*(?:的|那|这)?\s*(?:一?单|张单子?|个单子?|订单)?", "", text)
        text = ORDER_WORDS.sub("", text)
        if not verb_taken:
            text, taken = LEAD_VERB.subn("", text, count=1)
            verb_taken = bool(taken)
    if not verb_taken:  # 价格太低，驳回: the command said last
        text = TAIL_VERB.sub("", text)
    text = REASON_LABEL.sub("", text).strip(PUNCT).strip()
    return text[:REASON_LIMIT + 1] or None


# A clause that only approves (可以 / 同意 / 批了吧 / 没问题), nothing said beside it.
_APPROVE_ONLY = re.compile(
    r"^(?:同意|批准|通过|可以|没问题|行|好的?|ok|okay|批了?|批吧|准了|放行|过了?|这单|那单|这张|那张|单子|谢谢|辛苦了?|[了吧啊呀哈的])+$",
    re.IGNORECASE,
)
_CLAUSES = re.compile(r"[\s,，.。;；!！、]+")


def _approve_note(turn: Turn, span: tuple[int, int] | None, customer: str | None = None) -> str | None:
    """美的这单可以，同意，注意账期 → 注意账期: what an approver says beside the yes, kept with the decision."""
    text = turn.text if span is None else turn.text[: span[0]] + " " + turn.text[span[1]:]
    if customer:
        text = re.sub(rf"{re.escape(customer)}\s*(?:的|那|这)?\s*(?:一?单子?|张单子?|张|个单子?|订单)?", " ", text)
    text = ORDER_WORDS.sub("", text)
    kept = [c for c in _CLAUSES.split(text) if c and not _APPROVE_ONLY.match(c)]
    return "，".join(kept)[:REASON_LIMIT] or None


def _option(order: Order) -> dict[str, Any]:
    return {
        "id": order.id, "name": order.number,
        "detail": DM.APPROVAL_OPTION_DETAIL.format(
            customer=order.customer.name, total=DM.money(order.total), submitter=order.submitter.name
        ),
    }


def submitted_when(turn: Turn, moment: datetime | None) -> str:
    """今天09:30 / 昨天15:10 / 11月25日 15:10, in the configured zone."""
    if moment is None:
        return ""
    local, today = moment.astimezone(turn.tz), turn.now.date()
    if local.date() == today:
        return DM.TODAY_AT.format(time=f"{local:%H:%M}")
    if local.date() == today - timedelta(days=1):
        return DM.YESTERDAY_AT.format(time=f"{local:%H:%M}")
    return DM.DAY_AT.format(month=local.month, day=local.day, time=f"{local:%H:%M}")


def customer_words(turn: Turn) -> str | None:
    """The customer the message names, as written: the NLU's entity, else a short form in the text (海康)."""
    return ent.text_of(turn.parse, "customer")


def orders_of_customer(turn: Turn, candidates: list[Order], written: str | None) -> list[Order] | None:
    """The candidates whose customer the message names (None when it names no customer): by the NLU's name
    (华为 in 华为技术有限公司), else by the longest short form of a candidate's name written in the text (海康).
    Only the candidates' own customers are compared, never the whole customer list."""
    if written:
        named = [o for o in candidates if written in o.customer.name or any(
            written in a.alias or a.alias in written for a in o.customer.aliases)]
        if named:
            return named
    key = name_key(written or turn.text)
    lengths = {o.id: similar.mention_length(o.customer, key) for o in candidates}
    best = max(lengths.values(), default=0)
    if best:
        return [o for o in candidates if lengths[o.id] == best]
    if written or (BY_CUSTOMER.search(turn.text)
                   and similar.customers_mentioned(turn.session, turn.actor, turn.text)):
        return []  # 比亚迪那单同意 with nothing of 比亚迪 waiting: never another customer's order
    return None


def order_detail(turn: Turn, order: Order, *, hint: bool = True) -> str:
    """One order with its lines, discount, who submitted it when, and where its approval stands."""
    step = orders.current_step(order)
    status = DM.ORDER_STATUS.get(order.status, order.status)
    if order.status == "pending" and step is not None and step.approver is not None:
        status += DM.DETAIL_WAITING.format(approver=step.approver.name)
    history = []
    for done in order.steps:
        if done.status in ("approved", "rejected") and done.approver is not None:
            history.append(DM.DETAIL_STEP.format(
                approver=done.approver.name, decision=DM.STEP_DECISION[done.status],
                when=submitted_when(turn, done.decided_at),
                reason=DM.DETAIL_REASON.format(reason=done.reason) if done.reason else "",
            ))
    mine = hint and step is not None and step.approver_id == turn.actor.staff_id
    return DM.ORDER_DETAIL.format(
        number=order.number, status=status, customer=order.customer.name, submitter=order.submitter.name,
        submitted=submitted_when(turn, order.submitted_at or order.created_at), lines=order_lines_text(order),
        total=DM.money(order.total),
        discount=DM.ORDER_DISCOUNT.format(discount=DM.discount_text(order.discount)) if order.discount else "",
        note=DM.DETAIL_NOTE.format(note=order.note) if order.note else "",
        history="".join("\n" + line for line in history),
        hint=DM.DETAIL_DECIDE_HINT.format(number=order.number) if mine else "",
    )


class Decide(Job):
    roles = STAFF_ROLES  # a rep or clerk asking gets 您没有审批权限 from the service, not a generic refusal
    approve: bool = True
    free_text_slots = frozenset({"reason"})

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        if awaiting == "reason":
            slots["reason"] = turn.text.strip()
            return
        if awaiting == "decision":
            if not (_ref(turn)[0] or customer_words(turn)):
                self._confirm_answer(turn, slots)
                return
            slots.clear()  # 同意 SO… / 海康那单同意 instead of 确认: a new request, read afresh
            awaiting = None
        listed = listed_order(turn) if awaiting is None else None
        if listed is not None:  # 第二个驳回 价格太低 / 同意 1, on the pending list just shown
            order_id, span = listed
            slots["order"] = _option(orders.get_order(turn.session, order_id))
            slots["_from_list"] = True  # shown and confirmed before it is decided, like any pick
            if self._only_asks(turn.text[: span[0]] + turn.text[span[1]:]):
                slots["_view"] = True
            self._read_reason(turn, slots, span, None)
            return
        customer = customer_words(turn)
        if customer:  # 华为那单先压着别批: the approver names the order by its customer
            slots["customer_hint"] = customer
        ref, span = _ref(turn)
        if ref:
            slots["ref"] = ref
            slots.pop("order", None)
            slots.pop(PICK, None)
        if awaiting is None and self._only_asks(turn.text.replace(ref or "", "")):
            slots["_view"] = True  # 看下SO… / SO…批了吗 read as approve: show the order, decide nothing
        if awaiting is None:
            self._read_reason(turn, slots, span, customer)

    def _read_reason(self, turn: Turn, slots: Slots, span: tuple[int, int] | None, customer: str | None) -> None:
        """The rejection's reason, or what is said beside a yes; nothing for a look (看下SO…)."""
        if slots.get("_view"):
            return
        reason = _approve_note(turn, span, customer) if self.approve else _reason(turn, span, customer)
        if reason:
            slots["reason"] = reason

    def claims(self, turn: Turn) -> bool:
        """第一个 / 2 驳回 价格太低 / 同意第二个 on the pending list just shown: this decision job's (approve
        for a look or a yes, reject when a reject word is said)."""
        if turn.actor.role not in approvals.APPROVER_ROLES or len(turn.text) > 40 or listed_order(turn) is None:
            return False
        return bool(_REJECTS.search(turn.text)) != self.approve

    def _only_asks(self, text: str) -> bool:
        """No decision word at all, a question (批了吗), or 看下/明细 without a decision verb."""
        if QUESTION.search(text) or (VIEW_WORDS.search(text) and not VERBS.search(text)):
            return True
        return self.approve and not DECIDE_WORDS.search(text)  # 先压着别批 still rejects, as before

    def _confirm_answer(self, turn: Turn, slots: Slots) -> None:
        answer = ent.plain_answer(turn.text)
        own = turn.intent == ("approve" if self.approve else "reject")
        if answer in ent.YES_WORDS or answer in {"确定", "可以", "行"} or own:
            slots["confirmed"] = True
        elif answer in ent.NO_WORDS or answer in {"不", "不用", "先不", "等等", "再想想"} or turn.intent == "deny":
            slots["_declined"] = True

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if turn.actor.role not in approvals.APPROVER_ROLES or slots.get("_view") or slots.get("_declined"):
            return None  # execute answers 您没有审批权限; a view or a "no" ends in precheck
        if not slots.get("ref") and not slots.get("order"):
            waiting = [step.order for step in approvals.pending_for(turn.session, turn.actor)]
            named = orders_of_customer(turn, waiting, slots.get("customer_hint"))
            if named is not None and not named:
                # Not waiting for this person: the customer's one pending order gets the service's own answer
                # (还没轮到您，等陈静审批); otherwise say that nothing of this customer waits for them.
                pending = [o for o in approvals.recent_visible(turn.session, turn.actor) if o.status == "pending"]
                theirs = orders_of_customer(turn, pending, slots.get("customer_hint")) or []
                if len(theirs) == 1:
                    slots["order"] = _option(theirs[0])
                    return None
                hint = slots.get("customer_hint") or ""
                slots["_error"] = DM.NO_PENDING_FOR_CUSTOMER.format(customer=hint) if hint else DM.NO_PENDING_NAMED
                return None
            candidates = named if named is not None else waiting
            if len(candidates) == 1:
                slots["order"] = _option(candidates[0])
            elif len(candidates) > 1:
                slots[PICK] = {"slot": "order", "query": DM.APPROVAL_PICK_QUERY,
                               "options": [_option(order) for order in candidates]}
                slots["_from_list"] = True  # a number picked from a list is confirmed before it is decided
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
        if slots.get("_from_list") and slots.get("order") and not slots.get("confirmed"):
            return "decision"
        return None

    def _order(self, turn: Turn, slots: Slots) -> Order | None:
        if slots.get("order"):
            return orders.get_order(turn.session, slots["order"]["id"])
        if slots.get("ref"):
            return approvals.find_order(turn.session, turn.actor, slots["ref"])
        return None

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        if slot == "decision":
            order = orders.get_order(turn.session, slots["order"]["id"])
            what = DM.WILL_APPROVE if self.approve else DM.WILL_REJECT.format(reason=slots.get("reason", ""))
            return DM.DECIDE_CONFIRM.format(what=what, detail=order_detail(turn, order, hint=False))
        return DM.ASK_REJECT_REASON

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        if slots.get("_error"):
            return [Reply(slots["_error"])]
        if slots.get("_declined"):
            return [Reply(DM.CANCELLED)]
        if slots.get("_view"):
            return show_orders(turn, slots)
        return None

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        ref = slots["order"]["name"] if slots.get("order") else slots.get("ref")
        decision = approvals.decide(
            turn.session, turn.actor, order_ref=ref, approve=self.approve, reason=slots.get("reason"),
            now=turn.now, via_message=turn.actor.via_message,
        )
        order = orders.get_order(turn.session, decision.order.id)
        submitter, customer = order.submitter, order.customer
        total = DM.money(order.total)
        topic = orders.order_topic(order.id)
        notices: list[Reply] = []
        note = DM.APPROVE_NOTE.format(note=decision.step.reason) if decision.approved and decision.step.reason else ""
        if not decision.approved:
            reason = decision.step.reason or ""
            reply = DM.REJECTED.format(number=order.number, reason=reason, submitter=submitter.name)
            notices.append(Reply(DM.NOTICE_REJECTED.format(
                number=order.number, customer=customer.name, total=total, approver=turn.actor.name, reason=reason,
            ), to_staff_id=submitter.id, topic=topic))
        elif decision.next_step is not None:
            following = decision.next_step.approver
            assert following is not None
            reply = DM.APPROVED_NEXT.format(number=order.number, next=following.name) + note
            notices.append(Reply(DM.NOTICE_PASSED.format(
                number=order.number, approver=turn.actor.name, next=following.name,
            ) + note, to_staff_id=submitter.id, topic=topic))
            notices.append(order_notice(order, following.id, previous=turn.actor.name))
        else:
            reply = DM.APPROVED_FINAL.format(
                number=order.number, customer=customer.name, total=total, submitter=submitter.name
            ) + note
            notices.append(Reply(DM.NOTICE_APPROVED.format(
                number=order.number, customer=customer.name, total=total, approver=turn.actor.name,
            ) + note, to_staff_id=submitter.id, topic=topic))
        turn.notices.extend(notices)  # only after the decision is written: a failure notifies nobody
        minutes = turn.config.dialogs.undo_minutes
        if minutes:  # a decision is undone with 撤销 like any write (crm_store.services.approvals.undo_decision)
            reply += DM.SAVED_UNDO_HINT.format(minutes=minutes)
        return [Reply(reply)]


@register
class Approve(Decide):
    name = "approve"
    approve = True


@register
class Reject(Decide):
    name = "reject"
    approve = False


def show_orders(turn: Turn, slots: Slots) -> list[Reply]:
    """看下SO… / 海康那单的明细: the order named by number, else the orders of the named customer that the
    asker may see (the ones waiting for them first)."""
    if slots.get("order"):
        return [Reply(order_detail(turn, orders.get_order(turn.session, slots["order"]["id"])))]
    if slots.get("ref"):
        try:
            order = approvals.visible_order(turn.session, turn.actor, slots["ref"])
        except CRMError as error:
            return [Reply(error.message)]
        return [Reply(order_detail(turn, order))]
    waiting = [step.order for step in approvals.pending_for(turn.session, turn.actor)]
    recent = approvals.recent_visible(turn.session, turn.actor)
    candidates = list({o.id: o for o in [*waiting, *recent]}.values())
    named = orders_of_customer(turn, candidates, slots.get("customer_hint"))
    if named is None:
        return [Reply(DM.ASK_WHICH_ORDER)]
    if not named:
        return [Reply(DM.NO_ORDER_FOR_CUSTOMER.format(customer=slots.get("customer_hint") or ""))]
    pending = [o for o in named if o.status == "pending"]
    shown = (pending or named)[:3]
    return [Reply("\n\n".join(order_detail(turn, order) for order in shown))]


@register
class ListApprovals(Job):
    name = "list_approvals"
    roles = SALES_ROLES

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        ref, _ = _ref(turn)
        if ref and (ent.text_of(turn.parse, "order_id") or ref.upper().startswith("SO") or len(ref) >= 11):
            slots["ref"] = ref
        customer = customer_words(turn)
        if customer:
            slots["customer_hint"] = customer
        elif VIEW_WORDS.search(turn.text) and similar.customers_mentioned(turn.session, turn.actor, turn.text):
            slots["_mentioned"] = True

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        if slots.get("ref") or slots.get("customer_hint") or slots.get("_mentioned"):
            return show_orders(turn, slots)
        parts: list[str] = []
        if turn.actor.role in approvals.APPROVER_ROLES:
            waiting = approvals.pending_for(turn.session, turn.actor)
            if waiting:
                lines = [DM.APPROVALS_HEADER.format(count=len(waiting))]
                lines += [
                    DM.APPROVAL_LINE.format(
                        n=n, number=step.order.number, customer=step.order.customer.name,
                        total=DM.money(step.order.total), submitter=step.order.submitter.name,
                        submitted=submitted_when(turn, step.order.submitted_at),
                        since=_ago(turn.now, step.pending_since),
                    )
                    for n, step in enumerate(waiting, start=1)
                ]
                lines.append(DM.APPROVALS_HINT)
                parts.append("\n".join(lines))
                remember_list(turn, APPROVAL_LIST, [step.order.id for step in waiting])
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


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return ""
    hours = int((now - then).total_seconds() // 3600)
    if hours < 1:
        return DM.WAITED_JUST_NOW
    if hours < 24:
        return DM.WAITED_HOURS.format(hours=hours)
    return DM.WAITED_DAYS.format(days=hours // 24)
