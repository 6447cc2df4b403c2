"""add_customer, query_customer and customer_history."""

from __future__ import annotations

import re

from crm_store import services
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Job, Slots, Turn, register
from dialogs.reply import Reply
from dialogs.resolve import (
    PICK,
    contact_from_message,
    contact_label,
    customer_from_message,
    customer_question,
)

# When the tagger misses a brand-new name, take what follows the 'new customer' words.
_NEW_CUSTOMER_NAME = re.compile(
    r"(?:新建|新增|添加|增加|录入|建个|建一个|加个|加一个)(?:一个)?(?:新)?客户(?:档案|资料)?[:：\s，,]*"
    r"(?:叫|是|名叫|名称是|名字是)?[:：\s]*([^\s，,。；;:：]{2,40}?)(?=$|[\s，,。；;]|联系人|电话|手机)"
)


def new_customer_name(text: str) -> str | None:
    match = _NEW_CUSTOMER_NAME.search(text)
    return match.group(1) if match else None


class _NeedsCustomer(Job):
    """A read job about one existing customer."""

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        customer_from_message(turn, slots, awaiting)

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        return None if slots.get("customer") or self._aside(turn, slots) else "customer"

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return customer_question(slots)

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        """美的怎么样了？ / 侯军电话多少 asked while a draft is put aside, about a customer not found or not named:
        say so and go back to the draft, rather than hold it behind 「是哪个客户？」."""
        if not self._aside(turn, slots):
            return None
        unknown = slots.get("customer_unknown")
        return [Reply(DM.LOOKUP_NOT_FOUND.format(name=unknown) if unknown else DM.LOOKUP_NAME_THE_CUSTOMER)]

    @staticmethod
    def _aside(turn: Turn, slots: Slots) -> bool:
        return not slots.get("customer") and PICK not in slots and bool(turn.state.get("parked"))


@register
class AddCustomer(Job):
    name = "add_customer"
    writes = True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        name = ent.text_of(turn.parse, "customer")
        if name is None and awaiting == "name":
            name = turn.text.strip()
        elif name is None and awaiting is None:
            name = new_customer_name(turn.text)
        if name:
            slots["name"] = name
        contact_from_message(turn, slots)

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        return None if slots.get("name") else "name"

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return DM.ASK_NEW_CUSTOMER_NAME

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        existing = services.find_duplicates(turn.session, slots["name"])
        if not existing:
            return None
        first = existing[0]
        return [Reply(DM.CUSTOMER_DUPLICATE.format(name=first.name, owner=first.owner.name))]

    def summary(self, turn: Turn, slots: Slots) -> str:
        return DM.CUSTOMER_SUMMARY.format(
            name=slots["name"],
            contact=DM.CUSTOMER_CONTACT_LINE.format(contact=contact_label(slots)) if slots.get("contact") else "",
            phone=DM.CUSTOMER_PHONE_LINE.format(phone=slots["phone"]) if slots.get("phone") else "",
        ) + (DM.CUSTOMER_INDUSTRY_LINE.format(industry=slots["industry"]) if slots.get("industry") else "") + (
            DM.CUSTOMER_REGION_LINE.format(region=slots["region"]) if slots.get("region") else ""
        )

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        customer = services.create_customer(
            turn.session,
            turn.actor,
            slots["name"],
            contact_name=slots.get("contact"),
            contact_title=slots.get("contact_title"),
            contact_phone=slots.get("phone"),
            industry=slots.get("industry"),
            region=slots.get("region"),
            now=turn.now,
        )
        return [Reply(DM.CUSTOMER_SAVED.format(name=customer.name, owner=customer.owner.name))]


@register
class QueryCustomer(_NeedsCustomer):
    name = "query_customer"
    read_only = True

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        customer = services.get_customer(turn.session, turn.actor, slots["customer"]["id"])
        contacts = [
            DM.CUSTOMER_CONTACT.format(
                name=c.name,
                title=f"（{c.title}）" if c.title else "",
                phone=f" {c.phone}" if c.phone else "",
            )
            for c in customer.contacts
        ] or [DM.CUSTOMER_NO_CONTACTS]
        opportunities = "".join(
            DM.CUSTOMER_OPPORTUNITY.format(title=o.title, stage=DM.STAGE[o.stage], amount=DM.money(o.amount))
            for o in services.open_opportunities(turn.session, turn.actor, customer.id)
        )
        last = customer.last_contact_at
        card = DM.CUSTOMER_CARD.format(
            name=customer.name,
            owner=customer.owner.name,
            lifecycle=DM.LIFECYCLE.get(customer.lifecycle, customer.lifecycle),
            industry=f"　行业：{customer.industry}" if customer.industry else "",
            contacts="\n".join(contacts),
            last_contact=DM.when(last.astimezone(turn.tz), with_time=False, today=turn.now.date()) if last else DM.NEVER,
            opportunities=opportunities,
        )
        return [Reply(card)]


@register
class CustomerHistory(_NeedsCustomer):
    name = "customer_history"
    read_only = True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        if slots.get("_more"):
            return
        super().fill(turn, slots, awaiting)

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        return None if slots.get("_more") else super().missing(turn, slots)

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        if slots.get("_more"):
            cursor = turn.state["more"]
            customer, offset = cursor["customer"], cursor["offset"]
        else:
            customer, offset = slots["customer"], 0
        size = turn.config.dialogs.page_size
        items, total = services.customer_history(
            turn.session, turn.actor, customer["id"], offset=offset, limit=size
        )
        if not items:
            turn.state.pop("more", None)
            return [Reply(DM.NO_MORE_PAGES if offset else DM.HISTORY_EMPTY.format(customer=customer["name"]))]
        end = offset + len(items)
        lines = [DM.HISTORY_HEADER.format(customer=customer["name"], start=offset + 1, end=end, total=total)]
        lines += [f"· {DM.when(item.at.astimezone(turn.tz), with_time=False, today=turn.now.date())} {item.text}" for item in items]
        if end < total:
            turn.state["more"] = {"job": self.name, "customer": customer, "offset": end}
            lines.append(DM.HISTORY_MORE)
        else:
            turn.state.pop("more", None)
        return [Reply("\n".join(lines))]
