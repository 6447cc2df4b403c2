"""transfer_customers (客户资源转移): 把张伟的客户都转给李娜 / 华为这个客户转给陈静跟进 /
把张伟的海康和瑞幸转给王强 (a list of customers, joined by 和 、 , …).

Preview (customers, open opportunities, open reminders, shares revoked) → the engine's confirmation → one
transaction; the receiving person gets a notice with each customer's history so far.
"""

from __future__ import annotations

import re

from crm_store import services
from crm_store.errors import CRMError
from crm_store.services import handover, similar
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import MANAGER_ROLES, Job, Slots, Turn, register
from dialogs.reply import Reply
from dialogs.resolve import PICK, customer_from_message, customer_option

_NAME_NOISE = re.compile(r"^(?:转给|交给|给|转|由)|(?:跟进|负责|来跟|吧|。|！|!)+$")
NAMES_SHOWN = 8
# Where the customers end and the receiving person begins: 海康和瑞幸|转给王强.
_VERB = re.compile(r"(?:都|全都|全部|一起|一并|统统)?(?:转交给|移交给|交接给|转给|交给|划给|分给|转到|转交|移交|给)")
_LEAD = re.compile(r"^(?:请|麻烦|帮忙|帮我|你|把|将|从|\s)+")
_OWNER_TAIL = re.compile(r"^(?:(?:手里|手上|名下|那边|那里|负责|跟)?的|那边|那里|那儿)")
_COUNT_TAIL = re.compile(
    r"(?:(?:这|那)?(?:[两俩二三四五六七八九十几]|\d+|些)?(?:个|家)?客户|(?:这|那)(?:[两俩二三四五六七八九十几]|\d+|些)(?:个|家)?"
    r"|(?:[两俩二三四五六七八九十]|\d+)(?:个|家))(?:都|全部|也)?$"
)
_SEPARATORS = re.compile(r"\s*(?:[、,，;；/]|以及|还有|和|及|与|跟|\s)\s*")


def listed_customers(turn: Turn, answer: bool = False) -> tuple[str | None, list[str]]:
    """(the owner named, the customers) of 把张伟的海康和瑞幸转给王强 when two or more customers are named;
    else (None, []). `answer`: the message answers "转移谁的客户？", so all of it may be the list."""
    verb = _VERB.search(turn.text)
    if verb is None and not answer:
        return None, []
    span = _LEAD.sub("", turn.text[: verb.start()] if verb else turn.text).strip()
    owner = None
    tagged = [str(e.get("text") or "") for e in ent.entities(turn.parse, "staff", "from")]
    for name in [n for n in tagged if n] + [s.name for s in services.list_staff(turn.session)]:
        at = span.find(name)
        rest = span[at + len(name):] if at >= 0 else ""
        if at >= 0 and (name in tagged or _OWNER_TAIL.match(rest)):  # 张伟的 / 张伟手上的 / 张伟那里
            owner, span = name, _LEAD.sub("", _OWNER_TAIL.sub("", rest)).strip()
            break
    span = _COUNT_TAIL.sub("", span).strip(" ，,、")
    parts = list(dict.fromkeys(p for p in _SEPARATORS.split(span) if p))
    if len(parts) < 2:
        return None, []
    whole = services.find_customers(turn.session, turn.actor, span)
    if len(whole) == 1 and similar.is_exact(whole[0], span):  # 和府捞面 is one name, not 和 + 府捞面
        return None, []
    # 张伟下个月离职，他手上的客户全部交给李娜 splits too, but names no customer: not a list.
    found = any(services.find_customers(turn.session, turn.actor, p) for p in parts)
    return (owner, parts) if found else (None, [])


def owners_named(turn: Turn) -> list[str]:
    """Staff names written before the verb (把张伟和李娜的客户都转给王强 -> 张伟, 李娜)."""
    verb = _VERB.search(turn.text)
    head = turn.text[: verb.start()] if verb else turn.text
    names = sorted((s.name for s in services.list_staff(turn.session) if s.name in head), key=head.find)
    return [n for n in names if not any(n != other and n in other for other in names)]


def resolve_listed(turn: Turn, slots: Slots, names: list[str]) -> None:
    """slots['customers'] from each name (a unique partial match is fine: the preview shows the full names);
    names that match nothing or several customers are said in slots['customers_problem']."""
    chosen: list[dict[str, object]] = []
    problems: list[str] = []
    for name in names:
        found = services.find_customers(turn.session, turn.actor, name)
        exact = [c for c in found if similar.is_exact(c, name)]
        if len(exact) == 1 or len(found) == 1:
            chosen.append(customer_option((exact or found)[0]))
        elif found:
            problems.append(DM.HANDOVER_AMBIGUOUS.format(name=name, options="、".join(c.name for c in found[:5])))
        else:
            guesses = [s.customer.name for s in similar.similar_customers(turn.session, turn.actor, name)]
            problems.append(DM.HANDOVER_CUSTOMER_UNKNOWN.format(name=name) + (
                DM.HANDOVER_DID_YOU_MEAN.format(options="、".join(guesses)) if guesses else ""))
    for key in ("customer", "customer_unknown", PICK):
        slots.pop(key, None)
    slots["customers"] = list({c["id"]: c for c in chosen}.values())
    slots["customers_problem"] = "\n".join(problems) if problems else None


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
            after_give = "给" in turn.text[: entity.get("start", 0)]
            role = entity.get("role") or ("to" if after_give else "from")
            if awaiting == "source" and not after_give:  # the answer to "转移谁的客户？" names the owner
                role = "from"
            slots["target" if role == "to" else "source"] = _staff_slot(turn, name)
        slots.pop("sources_problem", None)
        owners = owners_named(turn) if awaiting != "target" else []
        if len(owners) > 1:  # one person's customers at a time: never silently drop 张伟 of 张伟和李娜
            slots["sources_problem"] = DM.HANDOVER_ONE_SOURCE.format(names="、".join(owners), first=owners[0])
        if awaiting != "target":
            owner, listed = listed_customers(turn, answer=awaiting == "source")
            if listed:
                resolve_listed(turn, slots, listed)
                if owner and not slots.get("source"):
                    slots["source"] = _staff_slot(turn, owner)
            else:
                before = {k: slots.get(k) for k in ("customer", "customer_unknown", PICK)}
                customer_from_message(turn, slots, "customer" if awaiting == "source" else None)
                if any(slots.get(k) != v for k, v in before.items()):  # one customer named now: not the old list
                    slots.pop("customers", None)
                    slots.pop("customers_problem", None)
        slots.pop("preview", None)

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if not any(slots.get(k) for k in ("source", "customer", "customer_unknown", "customers", "customers_problem")):
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
        if slots.get("customers_problem"):
            return [Reply(slots["customers_problem"] + "\n" + DM.HANDOVER_NOTHING_MOVED)]
        if slots.get("sources_problem") and not slots.get("customers"):
            return [Reply(slots["sources_problem"])]
        try:
            plan = self._plan(turn, slots)
        except CRMError as error:
            return [Reply(error.message)]
        slots["preview"] = {
            "ids": plan.customer_ids, "names": plan.customer_names, "sources": plan.source_names,
            "target": plan.target_name, "opportunities": len(plan.opportunity_ids),
            "reminders": len(plan.reminder_ids), "unshared": plan.unshared_names, "already": plan.already_names,
        }
        return None

    def _scope(self, slots: Slots) -> dict[str, object]:
        """The named customers (checked against the named owner, if any), or all of the owner's."""
        source = slots["source"]["id"] if slots.get("source") else None
        customers = slots.get("customers") or ([slots["customer"]] if slots.get("customer") else [])
        if customers:
            return {"customer_ids": [c["id"] for c in customers], "source_id": source}
        return {"source_id": source}

    def _plan(self, turn: Turn, slots: Slots) -> handover.HandoverPlan:
        return handover.plan_handover(turn.session, turn.actor, target_id=slots["target"]["id"], **self._scope(slots))

    def summary(self, turn: Turn, slots: Slots) -> str:
        preview = slots["preview"]
        names = preview["names"][:NAMES_SHOWN]
        shown = "、".join(names) + ("…" if len(preview["names"]) > NAMES_SHOWN else "")
        sources = "、".join(preview["sources"])
        text = DM.HANDOVER_SUMMARY.format(
            source=sources, target=preview["target"], count=len(preview["ids"]), names=shown,
            opportunities=preview["opportunities"], reminders=preview["reminders"],
        )
        if preview.get("unshared"):
            text += DM.HANDOVER_UNSHARE.format(source=sources, count=len(preview["unshared"]),
                                               names="、".join(preview["unshared"][:NAMES_SHOWN]))
        if preview.get("already"):
            text += DM.HANDOVER_ALREADY.format(target=preview["target"], names="、".join(preview["already"]))
        return text

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        expected = (slots.get("preview") or {}).get("ids")
        result = handover.transfer_customers(
            turn.session, turn.actor, target_id=slots["target"]["id"], expected_ids=expected, now=turn.now,
            tz=turn.tz, **self._scope(slots),
        )
        plan = result.plan
        if plan.target_id != turn.actor.staff_id:
            turn.notices.append(Reply(result.notice, to_staff_id=plan.target_id))
        done = DM.HANDOVER_DONE.format(
            count=len(plan.customer_ids), target=plan.target_name, opportunities=len(plan.opportunity_ids),
            reminders=len(plan.reminder_ids),
        )
        if "customer_ids" not in self._scope(slots):  # all of someone's customers: they may be leaving
            done += DM.HANDOVER_DEACTIVATE_HINT.format(name=slots["source"]["name"])
        return [Reply(done)]
