"""Several jobs in one report (issue 17): 上午见了华润医药刘总…进入商务谈判，预计80万…提醒我周二下午准备.

The NLU gives a combined intent (log_visit+update_opportunity+set_reminder) and its parts, each with its own
text and entities. Every part is run by its own job (fill / missing / question / summary / execute), so a
visit in a report is written exactly as a visit on its own. This job only adds what a report needs:
- the customer named once (in the visit) is the customer of the other parts;
- one numbered summary, one 确认 for all parts, one transaction (the engine's savepoint around execute)
  and one undo step (services.group_writes);
- a question for a part asks only what that part lacks, and says which part it is about;
- corrections address a part: ②金额改成85万, 提醒不要了, 第1条时间是昨天下午.
A clause the NLU read as another job (a look-up said on the way) is not dropped: it is answered after
the save when it only reads, or named so the rep can send it on its own.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

from crm_store import services
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import REGISTRY, SALES_ROLES, Job, Slots, Turn, register
from dialogs.reply import Reply
from dialogs.resolve import PICK, apply_pick, pick_prompt
from dialogs.visit import is_plan

NAME = "combined"
# The jobs a report may combine; anything else in the message is answered or named separately.
PART_JOBS = ("log_visit", "add_customer", "update_opportunity", "submit_order", "set_reminder")
# Parts that take the customer named in the report's visit (or new customer) when they name none.
FOLLOWS_CUSTOMER = ("update_opportunity", "submit_order", "set_reminder")
# Parts run after the save without a confirmation: they only read.
READ_ONLY = ("query_customer", "customer_history", "list_followups", "sales_report", "list_approvals")
CIRCLED = "①②③④⑤⑥⑦⑧⑨"

_NUMBER_REF = re.compile(r"第\s*([1-9一二三四五六七八九])\s*[条项个部]|([①-⑨])|^\s*([1-9])\s*[.、．:：]")
_CN_DIGIT = {c: i for i, c in enumerate("一二三四五六七八九", start=1)}
_JOB_WORDS = {
    "log_visit": re.compile(r"拜访|见面|visit"),
    "add_customer": re.compile(r"新客户|建档|客户资料"),
    "update_opportunity": re.compile(r"商机|项目|金额|阶段|赢率|赢单率|概率|把握|预算|预计"),
    "submit_order": re.compile(r"订单|下单|数量|单价"),
    "set_reminder": re.compile(r"提醒|闹钟"),
}
_DROP = re.compile(r"不要了|不用了|不要|删掉|删了|删除|去掉|拿掉|不记了|不设了|不用记|取消")
# Which part a correction without a number or a job word is about, by what it says.
_ENTITY_JOB = {"amount": "update_opportunity", "stage": "update_opportunity", "probability": "update_opportunity",
               "quantity": "submit_order", "product": "submit_order", "contact": "log_visit", "phone": "log_visit"}


def is_combined_parse(parse: ent.Parse) -> bool:
    """A parse the NLU split into several jobs of a report."""
    parts = parse.get("parts") or []
    return len(parts) > 1 and any(p.get("intent") in PART_JOBS for p in parts)


def _rebased(parse: ent.Parse, part: dict[str, Any], full_text: str) -> tuple[str, ent.Parse]:
    """The part as a message of its own: its clauses joined, entity offsets moved into that text."""
    spans = [tuple(s) for s in part.get("spans") or [[part["start"], part["end"]]]]
    pieces, offsets, pos = [], [], 0
    for start, end in spans:
        offsets.append((start, end, pos))
        pieces.append(full_text[start:end])
        pos += end - start + 1
    text = "，".join(pieces)
    entities = []
    for e in part.get("entities", []):
        for start, end, at in offsets:
            if start <= e["start"] and e["end"] <= end:
                entities.append({**e, "start": e["start"] - start + at, "end": e["end"] - start + at})
                break
    confidence = ent.confidence(parse)
    return text, {"text": text, "intent": {"name": part["intent"], "confidence": confidence},
                  "entities": entities}


def _deadlines_as_days(parse: ent.Parse, turn: Turn) -> None:
    """下周三前把合同发过去 in a visit report is the visit's next step, due that day: a span from today to a
    later day becomes that day (else it would read as 'today', the visit's own time)."""
    for e in ent.entities(parse, "time"):
        span = ent.span_of(e.get("value"), turn.tz) if isinstance(e.get("value"), dict) else None
        if span and span[0].date() <= turn.now.date() < span[1].date():
            e["value"] = span[1].replace(hour=0, minute=0, second=0).isoformat()
            e["additional_info"] = {"grain": "day", "type": "point"}


def _circled(number: int) -> str:
    return CIRCLED[number] if number < len(CIRCLED) else f"({number + 1})"


@register
class CombinedReport(Job):
    name = NAME
    roles = SALES_ROLES
    writes = True
    # At the confirmation a message is a correction of a part (②金额改成85万 reads like a new opportunity
    # update, 提醒不要了 like a cancel): the report keeps it instead of starting another job.
    free_text_slots = frozenset({"confirm", "part", "which"})

    # --- the parts as jobs of their own ---------------------------------------------------------------
    @staticmethod
    def _sub(turn: Turn, text: str, parse: ent.Parse) -> Turn:
        return dataclasses.replace(turn, text=text, parse=parse)

    def _part_turn(self, turn: Turn, part: dict[str, Any]) -> Turn:
        return self._sub(turn, part["text"], part["parse"])

    @staticmethod
    def _job(part: dict[str, Any]) -> Job:
        return REGISTRY[part["job"]]

    def reads_itself(self, turn: Turn, slots: Slots) -> bool:
        """提醒不要了 / ③不要了 look like a cancel; with a part named they drop that part only."""
        return bool(_DROP.search(turn.text)) and bool(self._addressed(turn.text, slots["parts"]))

    # --- fill --------------------------------------------------------------------------------------------
    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        if "parts" not in slots or (awaiting in (None, "which") and is_combined_parse(turn.parse)):
            slots.clear()  # the whole report said again (at the confirmation): it replaces the first one
            self._start(turn, slots)
        elif awaiting == "part":
            self._answer(turn, slots)
        elif awaiting == "part_pick":
            self._pick(turn, slots)
        else:
            self._correct(turn, slots)

    def _start(self, turn: Turn, slots: Slots) -> None:
        slots["parts"], slots["extra"] = [], []
        slots["said"] = turn.text
        if turn.voice:
            slots["voice"] = True
        for part in turn.parse.get("parts") or []:
            text, parse = _rebased(turn.parse, part, turn.text)
            if part["intent"] not in PART_JOBS:
                slots["extra"].append({"job": part["intent"], "text": text, "parse": parse})
                continue
            job_name = part["intent"]
            if job_name == "log_visit" and is_plan(self._sub(turn, text, parse)):
                job_name = "set_reminder"  # 明儿上午约了蔚来的于总，提醒我…: a plan, not a visit done now
            elif job_name == "log_visit":
                _deadlines_as_days(parse, turn)
            entry = {"job": job_name, "text": text, "parse": parse, "slots": {}}
            self._job(entry).fill(self._part_turn(turn, entry), entry["slots"], None)
            slots["parts"].append(entry)

    def _answer(self, turn: Turn, slots: Slots) -> None:
        ask = slots.get("_ask") or {}
        part = slots["parts"][ask.get("part", 0)]
        self._job(part).fill(turn, part["slots"], ask.get("slot"))

    def _pick(self, turn: Turn, slots: Slots) -> None:
        part = slots["parts"][(slots.get("_ask") or {}).get("part", 0)]
        pslots = part["slots"]
        if PICK not in pslots or apply_pick(turn.text, pslots):
            return
        if pslots[PICK].get("slot") == "customer":  # not a number: the customer's name said again
            self._job(part).fill(turn, pslots, "customer")

    # --- corrections ---------------------------------------------------------------------------------------
    def _addressed(self, text: str, parts: list[dict[str, Any]]) -> list[int]:
        """The parts a correction names, by number (②, 第2条) or by job word (提醒, 金额)."""
        m = _NUMBER_REF.search(text)
        if m:
            number = CIRCLED.index(m[2]) + 1 if m[2] else _CN_DIGIT.get(m[1] or "", 0) or int(m[1] or m[3])
            return [number - 1] if 0 < number <= len(parts) else []
        return [i for i, p in enumerate(parts) if _JOB_WORDS[p["job"]].search(text)]

    def _correct(self, turn: Turn, slots: Slots) -> None:
        parts = slots["parts"]
        slots.pop("_unclear", None)
        named = self._addressed(turn.text, parts)
        if _DROP.search(turn.text) and named:
            if len(named) == 1:
                parts.pop(named[0])
            else:
                slots["_unclear"] = True
            return
        if not named:
            jobs = {_ENTITY_JOB.get(e["entity"]) for e in turn.parse.get("entities", [])} - {None}
            named = [i for i, p in enumerate(parts) if p["job"] in jobs]
        if len(named) != 1:
            if turn.parse.get("entities"):
                slots["_unclear"] = True  # a change we cannot place: ask which part, never guess
            return
        part = parts[named[0]]
        text = _NUMBER_REF.sub("", turn.text).strip() or turn.text
        parse = turn.parse if text == turn.text else self._shift(turn.parse, turn.text, text)
        awaiting = "time" if part["job"] == "set_reminder" and ent.entities(parse, "time") else "correction"
        self._job(part).fill(self._sub(turn, text, parse), part["slots"], awaiting)

    @staticmethod
    def _shift(parse: ent.Parse, before: str, after: str) -> ent.Parse:
        """The parse of '②金额改成85万' for '金额改成85万' (the number removed from the front)."""
        cut = before.find(after)
        entities = [{**e, "start": e["start"] - cut, "end": e["end"] - cut} for e in parse.get("entities", [])
                    if e["start"] >= cut]
        return {**parse, "text": after, "entities": entities}

    # --- missing / question ------------------------------------------------------------------------------
    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if slots.get("_unclear"):
            return "which"
        if not slots["parts"]:
            return "nothing"
        for number, part in enumerate(slots["parts"]):
            self._inherit(slots["parts"], number)
            pslots = part["slots"]
            if part.get("new_customer") and part["job"] == "update_opportunity":
                pslots.setdefault("opportunity", {"id": None, "name": None})
                slot = None if any(k in pslots for k in ("stage", "amount", "probability", "close")) else "change"
            else:
                slot = self._job(part).missing(self._part_turn(turn, part), pslots)
            if PICK in pslots:
                slots["_ask"] = {"part": number, "slot": PICK}
                return "part_pick"
            if slot is not None:
                slots["_ask"] = {"part": number, "slot": slot}
                return "part"
        slots.pop("_ask", None)
        return None

    def _inherit(self, parts: list[dict[str, Any]], number: int) -> None:
        """A part that names no customer takes the one of the visit (or new customer) said before it."""
        part = parts[number]
        if part["slots"].get("customer") or part.get("new_customer"):
            return
        if any(e["entity"] == "customer" for e in part["parse"]["entities"]):
            return  # its own customer, asked about by its own job
        # A visit follows only a new customer of the same report (新客户蓝海科技…上午去拜访了).
        anchors = ("add_customer",) if part["job"] == "log_visit" else ("log_visit", "add_customer")
        if part["job"] not in FOLLOWS_CUSTOMER + ("log_visit",):
            return
        anchor = next((p for p in reversed(parts[:number]) if p["job"] in anchors), None)
        if anchor is None:
            anchor = next((p for p in parts[number + 1 :] if p["job"] in anchors), None)
        if anchor is None:
            return
        known = anchor["slots"].get("customer")
        new = anchor["slots"].get("customer_unknown") or (anchor["slots"].get("name") if anchor["job"] ==
                                                           "add_customer" else None)
        if known:
            part["slots"]["customer"] = dict(known)
            part["slots"].pop("customer_unknown", None)
        elif new:
            part["new_customer"] = new
            if part["job"] == "log_visit":
                part["slots"]["customer_unknown"] = new  # created by the report's new-customer part

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        if slot == "which":
            return DM.COMBINED_WHICH_PART.format(parts=self._index(slots))
        if slot == "nothing":
            return DM.COMBINED_NOTHING_LEFT
        ask = slots["_ask"]
        part = slots["parts"][ask["part"]]
        label = DM.COMBINED_ASK_PART.format(n=_circled(ask["part"]), job=DM.COMBINED_PART_NAMES[part["job"]])
        if slot == "part_pick":
            return label + pick_prompt(part["slots"])
        return label + self._job(part).question(self._part_turn(turn, part), part["slots"], ask["slot"])

    def _index(self, slots: Slots) -> str:
        return "、".join(f"{_circled(i)}{DM.COMBINED_PART_NAMES[p['job']]}" for i, p in enumerate(slots["parts"]))

    # --- precheck / summary ---------------------------------------------------------------------------------
    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        for number, part in enumerate(slots["parts"]):
            if part.get("new_customer"):
                continue  # checked against the customer that does not exist yet: nothing to check
            blocked = self._job(part).precheck(self._part_turn(turn, part), part["slots"])
            if blocked is not None:
                label = DM.COMBINED_ASK_PART.format(n=_circled(number), job=DM.COMBINED_PART_NAMES[part["job"]])
                return [Reply(label + "\n".join(r.text for r in blocked) + "\n" + DM.COMBINED_NOTHING_SAVED)]
        return None

    def summary(self, turn: Turn, slots: Slots) -> str:
        lines = [DM.COMBINED_SUMMARY_HEAD.format(count=len(slots["parts"]))]
        for number, part in enumerate(slots["parts"]):
            lines.append(f"{_circled(number)} " + self._part_summary(turn, part))
        for extra in slots.get("extra", []):
            lines.append(DM.COMBINED_EXTRA_LATER.format(text=extra["text"]))
        lines.append(DM.COMBINED_CORRECT_HINT)
        return "\n".join(lines)

    def _part_summary(self, turn: Turn, part: dict[str, Any]) -> str:
        pslots = part["slots"]
        if part.get("new_customer"):  # the report's new customer: named, created on 确认
            pslots = {**pslots, "customer": {"id": None, "name": part["new_customer"]}}
        return self._job(part).summary(self._part_turn(turn, part), pslots)

    # --- execute ---------------------------------------------------------------------------------------------
    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        since = services.last_audit_id(turn.session)
        parts = slots["parts"]
        lines = [DM.COMBINED_SAVED.format(count=len(parts), voice=DM.COMBINED_SAVED_VOICE if slots.get("voice") else "")]
        done: dict[int, str] = {}
        # A new customer is created before the records about it, wherever the report names it.
        for number, part in sorted(enumerate(parts), key=lambda item: item[1]["job"] != "add_customer"):
            sub = self._part_turn(turn, part)
            if slots.get("voice"):
                sub = dataclasses.replace(sub, voice=True)
            pslots = copy.deepcopy(part["slots"])
            if part.get("new_customer"):
                self._created_customer(turn, part, pslots)
            replies = self._job(part).execute(sub, pslots)
            done[number] = f"{_circled(number)} " + "\n".join(r.text for r in replies)
        lines += [done[number] for number in sorted(done)]
        services.group_writes(turn.session, turn.actor, since, now=turn.now)
        # What was said besides the report first: the engine adds the undo hint to the last reply, the save.
        return self._extras(turn, slots) + [Reply("\n".join(lines))]

    def _created_customer(self, turn: Turn, part: dict[str, Any], pslots: Slots) -> None:
        """The customer the report's visit (or new-customer part) has just created."""
        found = [c for c in services.find_customers(turn.session, turn.actor, part["new_customer"])
                 if c.name == part["new_customer"]]
        if found:
            pslots["customer"] = {"id": found[0].id, "name": found[0].name}
            pslots.setdefault("opportunity", {"id": None, "name": None})

    def _extras(self, turn: Turn, slots: Slots) -> list[Reply]:
        """What the report said besides its jobs: a look-up is answered now; anything else is named, so the
        rep can send it on its own (never silently dropped)."""
        out = []
        for extra in slots.get("extra", []):
            job = REGISTRY.get(extra["job"])
            if job is not None and extra["job"] in READ_ONLY and turn.actor.role in job.roles:
                sub = self._sub(turn, extra["text"], extra["parse"])
                eslots: Slots = {}
                job.fill(sub, eslots, None)
                if PICK not in eslots and job.missing(sub, eslots) is None:
                    out += job.execute(sub, eslots)
                    continue
            out.append(Reply(DM.COMBINED_EXTRA_SEND.format(text=extra["text"])))
        return out
