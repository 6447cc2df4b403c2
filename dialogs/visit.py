"""log_visit: one message such as 今天下午拜访了华为张总，聊了新项目，预计下周三报价 becomes a visit,
a contact, a follow-up reminder and a lifecycle step."""

from __future__ import annotations

import re
from datetime import datetime

from crm_store import services
from crm_store.models import Reminder
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Job, Slots, Turn, register
from dialogs.reminder import reminder_label
from dialogs.reply import Reply
from dialogs.resolve import PICK, contact_from_message, contact_label, customer_from_message, customer_option
from dialogs.timing import clause_around, is_plan_span, past_or_today, plan_moment

# 约了 / 准备去 / 再去一趟: a meeting arranged; 见了 / 聊了 / 刚: one that took place.
_PLAN_CUE = re.compile(r"约了|约好|约在|预约|约的|准备|打算|计划|要去|会去|得去|再去|将去|去一趟|过去一趟")
_DONE_CUE = re.compile(r"见了|见过|拜访了|拜访过|聊了|聊过|谈了|谈过|去了|到了|碰了|吃了|签了|送了|交流了|开了|刚|已经")


def is_plan(turn: Turn) -> bool:
    """明儿上午约了蔚来的于总 / 下礼拜二再去一趟美的: the message opens with a meeting on a later day, and
    says of nothing that it happened. That is a plan to be reminded of, never a visit written as done now."""
    later = [t for t in ent.entities(turn.parse, "time") if (v := ent.as_datetime(t.get("value"), turn.tz))
             and v.date() > turn.now.date()]
    if not later or _DONE_CUE.search(turn.text):
        return False
    if any(past_or_today(turn, t) is not None and not is_plan_span(turn, t) for t in ent.entities(turn.parse, "time")):
        return False
    first = clause_around(turn.text, later[0]["start"], later[0]["end"])
    return turn.text.startswith(first) and _PLAN_CUE.search(first) is not None


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
        visited = None if is_plan_span(turn, entity) else past_or_today(turn, entity)
        if visited is not None:
            slots["visited_at"] = visited.isoformat()
            return
        followup = plan_moment(turn, entity, turn.config.rules.reminders.default_followup_hour)
        if followup is not None and followup > turn.now:
            slots["followup_at"] = followup.isoformat()
            slots["next_step"] = clause_around(turn.text, entity["start"], entity["end"]) or turn.text

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        return None if slots.get("customer") or slots.get("customer_unknown") else "customer"

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return DM.ASK_VISIT_CUSTOMER

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        """A name the rep cannot see but that exists is a colleague's customer: say so, never offer to create it."""
        if slots.get("customer") or not slots.get("customer_unknown"):
            return None
        existing = services.find_duplicates(turn.session, slots["customer_unknown"])
        return [Reply(DM.VISIT_COLLEAGUE_CUSTOMER.format(name=existing[0].name))] if existing else None

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
            text += DM.VISIT_NEXT.format(next_step=slots.get("next_step") or DM.NEXT_STEP_DEFAULT, followup=DM.when(followup, today=today))
        elif slots.get("next_step"):
            text += DM.VISIT_NEXT_STEP.format(next_step=slots["next_step"])
        answered = self._answered(turn, slots)
        if answered is not None:
            text += DM.VISIT_CLOSES_REMINDER.format(reminder=reminder_label(turn, answered))
        visited = self._visited_at(turn, slots)
        if visited > turn.now:  # 今天下午 said at 10:50: say so before it is written as done
            text += DM.VISIT_IN_FUTURE.format(
                when=(DM.TODAY if visited.date() == today else DM.when(visited, with_time=False, today=today))
                + f"{visited:%H:%M}"
            )
        return text

    def _answered(self, turn: Turn, slots: Slots) -> Reminder | None:
        """The follow-up reminder this visit answers (it is marked done with the visit), if any."""
        if not slots.get("customer"):
            return None
        return services.reminder_answered_by_visit(
            turn.session, turn.actor, slots["customer"]["id"], self._visited_at(turn, slots)
        )

    def _visited_at(self, turn: Turn, slots: Slots) -> datetime:
        return datetime.fromisoformat(slots["visited_at"]) if slots.get("visited_at") else turn.now

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        if slots.get("customer"):
            customer = services.get_customer(turn.session, turn.actor, slots["customer"]["id"])
        else:
            customer = services.create_customer(turn.session, turn.actor, slots["customer_unknown"], now=turn.now)
        lifecycle_before = customer.lifecycle
        # Only a named contact can be new (no need to read the list otherwise).
        contacts_before = {c.id for c in customer.contacts} if slots.get("contact") else set()
        followup = datetime.fromisoformat(slots["followup_at"]) if slots.get("followup_at") else None
        answered = self._answered(turn, slots)
        answered_label = reminder_label(turn, answered) if answered is not None else None
        visit = services.log_visit(
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
            answered=answered,
        )
        lines = [DM.VISIT_SAVED.format(customer=customer.name)]
        if visit.contact_id is not None and visit.contact_id not in contacts_before:
            lines.append(DM.VISIT_CONTACT_ADDED.format(contact=slots["contact"], customer=customer.name))
        if answered_label is not None:
            lines.append(DM.VISIT_REMINDER_CLOSED.format(reminder=answered_label))
        if followup is not None:
            lines.append(DM.VISIT_REMINDER_SET.format(when=DM.when(followup, today=turn.now.date())))
        if customer.lifecycle != lifecycle_before:
            lines.append(
                DM.VISIT_LIFECYCLE.format(
                    before=DM.LIFECYCLE[lifecycle_before], after=DM.LIFECYCLE[customer.lifecycle]
                )
            )
        return [Reply("\n".join(lines))]
