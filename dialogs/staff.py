"""deactivate_staff (停用员工账号): 王强离职了，把他的账号停用 / 停用王强.

Preview (chat bindings, shares, open reminders) → the engine's confirmation → one transaction. Refused,
with the number of customers and the hand-over to do, while the person still owns customers.
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

_ANSWER_NOISE = re.compile(r"^(?:停用|禁用|注销|员工|是)|(?:的账号|的帐号|账号|帐号|吧|。|！|!)+$")


def _mentioned(turn: Turn) -> str | None:
    """The staff member named: the NLU's staff entity, else the one staff name (a deactivated one too, so
    停用王强 twice is answered "already off") written in the message."""
    tagged = ent.text_of(turn.parse, "staff")
    if tagged:
        return tagged.strip()
    names = [s.name for s in services.list_staff(turn.session) if s.name in turn.text]
    longest = [n for n in names if not any(n != other and n in other for other in names)]
    return longest[0] if len(longest) == 1 else None


@register
class DeactivateStaff(Job):
    name = "deactivate_staff"
    roles = MANAGER_ROLES
    writes = True
    undoable = False  # an unbound chat account binds again with a new invite; 撤销 cannot restore it

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        name = _mentioned(turn)
        if name is None and awaiting == "staff":
            name = _ANSWER_NOISE.sub("", turn.text.strip()).strip() or None
        if name:
            staff = services.find_staff(turn.session, name)
            slots["staff"] = {"id": staff.id if staff and staff.active else None, "name": name}
        slots.pop("preview", None)

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        return None if slots.get("staff") else "staff"

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return DM.ASK_DEACTIVATE_STAFF

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        staff = slots["staff"]
        if staff["id"] is None:
            inactive = services.find_staff(turn.session, staff["name"])
            if inactive is not None:  # already off: the service says so
                staff["id"] = inactive.id
            else:
                names = "、".join(s.name for s in services.list_staff(turn.session) if s.active)
                return [Reply(DM.DEACTIVATE_STAFF_UNKNOWN.format(name=staff["name"], options=names))]
        try:
            plan = handover.plan_deactivation(turn.session, turn.actor, staff["id"])
        except CRMError as error:
            return [Reply(error.message)]
        slots["preview"] = {"name": plan.name, "role": plan.role, "chats": len(plan.identities),
                            "shares": plan.shares, "reminders": plan.open_reminders}
        return None

    def summary(self, turn: Turn, slots: Slots) -> str:
        preview = slots["preview"]
        return DM.DEACTIVATE_SUMMARY.format(**{**preview, "role": DM.ROLE.get(preview["role"], preview["role"])})

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        plan = handover.deactivate_staff(turn.session, turn.actor, slots["staff"]["id"], turn.now)
        return [Reply(DM.DEACTIVATE_DONE.format(name=plan.name, chats=len(plan.identities)))]
