"""transfer_customers (客户资源转移): 把张伟的客户都转给李娜 / 华为这个客户转给陈静跟进.

Preview (customers, open opportunities, pending reminders) → the engine's confirmation → one transaction;
the receiving person gets a notice with each customer's history so far.
"""

from __future__ import annotations

import re

from crm_store import services
from crm_store.errors import CRMError
from crm_store.services import handover
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import MANAGER_ROLES, Job, Slots, Turn, register
from dialogs.reply import Reply
from dialogs.resolve import customer_from_message

_NAME_NOISE = re.compile(r"^(?:转给|交给|给|转|由)|(?:跟进|负责|来跟|吧|。|！|!)+$")
NAMES_SHOWN = 8


def _staff_slot(turn: Turn, name: str) -> dict[str, object]:
    staff = services.find_staff(turn.session, name)
    return {"id": staff.id, "name": staff.name} if staff else {"id": None, "name": name}


@register
class TransferCustomers(Job):
    name = "transfer_customers"
    roles = MANAGER_ROLES
    writes = True
    undoable = False  # a hand-over is reverted by handing the customers back

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        if awaiting == "target" and not ent.entities(turn.parse, "staff"):
            name = _NAME_NOISE.sub("", turn.text.strip()).strip()
            if name:
                slots["target"] = _staff_slot(turn, name)
        for entity in ent.entities(turn.parse, "staff"):
            name = str(entity.get("value") or entity.get("text") or "").strip()
            if not name:
                continue
            role = entity.get("role") or ("to" if "给" in turn.text[: entity.get("start", 0)] else "from")
            slots["target" if role == "to" else "source"] = _staff_slot(turn, name)
        if awaiting != "target":
            customer_from_message(turn, slots, "customer" if awaiting == "source" else None)
        slots.pop("preview", None)

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if not slots.get("source") and not slots.get("customer") and not slots.get("customer_unknown"):
            return "source"
        if not slots.get("target"):
            return "target"
        return None

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return DM.ASK_HANDOVER_SOURCE if slot == "source" else DM.ASK_HANDOVER_TARGET

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        for key in ("target", "source"):
            staff = slots.get(key)
            if staff and staff["id"] is None:
                names = "、".join(s.name for s in services.list_staff(turn.session) if s.active and s.role != "clerk")
                return [Reply(DM.HANDOVER_STAFF_UNKNOWN.format(name=staff["name"], options=names))]
        if slots.get("customer_unknown"):
            return [Reply(DM.CUSTOMER_NOT_FOUND.format(name=slots["customer_unknown"]))]
        try:
            plan = self._plan(turn, slots)
        except CRMError as error:
            return [Reply(error.message)]
        slots["preview"] = {
            "ids": plan.customer_ids, "names": plan.customer_names, "sources": plan.source_names,
            "target": plan.target_name, "opportunities": len(plan.opportunity_ids),
            "reminders": len(plan.reminder_ids),
        }
        return None

    def _scope(self, slots: Slots) -> dict[str, object]:
        customer = slots.get("customer")
        if customer:
            return {"customer_ids": [customer["id"]]}
        return {"source_id": slots["source"]["id"]}

    def _plan(self, turn: Turn, slots: Slots) -> handover.HandoverPlan:
        return handover.plan_handover(turn.session, turn.actor, target_id=slots["target"]["id"], **self._scope(slots))

    def summary(self, turn: Turn, slots: Slots) -> str:
        preview = slots["preview"]
        names = preview["names"][:NAMES_SHOWN]
        shown = "、".join(names) + ("…" if len(preview["names"]) > NAMES_SHOWN else "")
        return DM.HANDOVER_SUMMARY.format(
            source="、".join(preview["sources"]), target=preview["target"], count=len(preview["ids"]), names=shown,
            opportunities=preview["opportunities"], reminders=preview["reminders"],
        )

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        expected = (slots.get("preview") or {}).get("ids")
        result = handover.transfer_customers(
            turn.session, turn.actor, target_id=slots["target"]["id"], expected_ids=expected, now=turn.now,
            tz=turn.tz, **self._scope(slots),
        )
        plan = result.plan
        if plan.target_id != turn.actor.staff_id:
            turn.notices.append(Reply(result.notice, to_staff_id=plan.target_id))
        return [Reply(DM.HANDOVER_DONE.format(
            count=len(plan.customer_ids), target=plan.target_name, opportunities=len(plan.opportunity_ids),
            reminders=len(plan.reminder_ids),
        ))]
