"""log_visit: one message such as 今天下午拜访了华为张总，聊了新项目，预计下周三报价 becomes a visit,
a contact, a follow-up reminder and a lifecycle step."""

from __future__ import annotations

from datetime import datetime

from crm_store import services
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Job, Slots, Turn, register
from dialogs.reply import Reply
from dialogs.resolve import PICK, contact_from_message, contact_label, customer_from_message, customer_option
from dialogs.timing import clause_around, moment, past_or_today


@register
class LogVisit(Job):
    name = "log_visit"
    writes = True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        customer_from_message(turn, slots, awaiting)
        if awaiting is None:
            self._two_customers(turn, slots)
        contact_from_message(turn, slots)
        for entity in ent.entities(turn.parse, "time"):
            self._read_time(turn, slots, entity)
        if awaiting is None and "summary" not in slots:
            slots["summary"] = turn.text
            if turn.voice:
                slots["voice"] = True

    def _two_customers(self, turn: Turn, slots: Slots) -> None:
        """见了华为和蔚来的人: one visit record cannot hold two customers, and which one was meant is not
        guessed: the rep picks one (the other is sent on its own). Clauses of their own (上午华为，下午蔚来)
        are two visits already (dialogs.combined)."""
        names = list(dict.fromkeys(e["text"] for e in ent.entities(turn.parse, "customer")))
        if len(names) < 2:
            return
        found: dict[int, object] = {}
        for name in names:
            matches = services.find_customers(turn.session, turn.actor, name)
            if len(matches) == 1:
                found.setdefault(matches[0].id, matches[0])
        if len(found) < 2:
            return
        slots["customer"] = None
        slots[PICK] = {"slot": "customer", "query": "、".join(names), "prompt": DM.VISIT_TWO_CUSTOMERS,
                       "options": [customer_option(c) for c in found.values()]}

    def _read_time(self, turn: Turn, slots: Slots, entity: dict) -> None:
        visited = past_or_today(turn, entity)
        if visited is not None:
            slots["visited_at"] = visited.isoformat()
            return
        followup = moment(turn, entity, turn.config.rules.reminders.default_followup_hour)
        if followup is not None and followup > turn.now:
            slots["followup_at"] = followup.isoformat()
            slots["next_step"] = clause_around(turn.text, entity["start"], entity["end"]) or turn.text

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        return None if slots.get("customer") or slots.get("customer_unknown") else "customer"

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return DM.ASK_VISIT_CUSTOMER

    def summary(self, turn: Turn, slots: Slots) -> str:
        customer = slots["customer"]["name"] if slots.get("customer") else DM.VISIT_NEW_CUSTOMER.format(
            name=slots["customer_unknown"]
        )
        text = DM.VISIT_SUMMARY.format(
            customer=customer,
            contact=contact_label(slots) if slots.get("contact") else "未填",
            when=DM.when(self._visited_at(turn, slots), today=turn.now.date()),
            summary=slots["summary"],
        )
        if slots.get("phone"):
            text += DM.VISIT_PHONE.format(phone=slots["phone"])
        if slots.get("voice"):
            text += DM.VISIT_VOICE
        today = turn.now.date()
        if slots.get("followup_at"):
            followup = datetime.fromisoformat(slots["followup_at"])
            text += DM.VISIT_NEXT.format(next_step=slots["next_step"], followup=DM.when(followup, today=today))
        visited = self._visited_at(turn, slots)
        if visited > turn.now:  # 今天下午 said at 10:50: say so before it is written as done
            text += DM.VISIT_IN_FUTURE.format(
                when=(DM.TODAY if visited.date() == today else DM.when(visited, with_time=False, today=today))
                + f"{visited:%H:%M}"
            )
        return text

    def _visited_at(self, turn: Turn, slots: Slots) -> datetime:
        return datetime.fromisoformat(slots["visited_at"]) if slots.get("visited_at") else turn.now

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        if slots.get("customer"):
            customer = services.get_customer(turn.session, turn.actor, slots["customer"]["id"])
        else:
            customer = services.create_customer(turn.session, turn.actor, slots["customer_unknown"], now=turn.now)
        lifecycle_before = customer.lifecycle
        contacts_before = len(customer.contacts)
        followup = datetime.fromisoformat(slots["followup_at"]) if slots.get("followup_at") else None
        services.log_visit(
            turn.session,
            turn.actor,
            customer.id,
            summary=slots["summary"],
            visited_at=self._visited_at(turn, slots),
            contact_name=slots.get("contact"),
            contact_title=slots.get("contact_title"),
            contact_phone=slots.get("phone"),
            next_step=slots.get("next_step"),
            next_followup_at=followup,
            source="voice" if slots.get("voice") or turn.voice else None,
            now=turn.now,
        )
        lines = [DM.VISIT_SAVED.format(customer=customer.name)]
        turn.session.expire(customer, ["contacts"])
        if len(customer.contacts) > contacts_before:
            lines.append(DM.VISIT_CONTACT_ADDED.format(contact=slots["contact"], customer=customer.name))
        if followup is not None:
            lines.append(DM.VISIT_REMINDER_SET.format(when=DM.when(followup, today=turn.now.date())))
        if customer.lifecycle != lifecycle_before:
            lines.append(
                DM.VISIT_LIFECYCLE.format(
                    before=DM.LIFECYCLE[lifecycle_before], after=DM.LIFECYCLE[customer.lifecycle]
                )
            )
        return [Reply("\n".join(lines))]
