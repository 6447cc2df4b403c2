"""Several jobs in one message (a visit report with a stage change and a reminder), in Rasa's convention.

The intent classifier knows combined labels (`log_visit+update_opportunity+set_reminder`, trained from
nlu/data/multi.yml), so *whether* a message holds several jobs, and which, is learned. This module then
cuts the message into clauses and gives each clause to one of those jobs, so every entity belongs to the
job whose clause holds it: the reminder's time is not the visit's time, the opportunity's amount is not an
order's. A combined label whose parts cannot all be found in the text is not trusted: the caller falls
back to the best single intent (a wrong record is worse than one record).

Labels list their jobs in one fixed order (COMBINABLE), so 提醒…拜访… and 拜访…提醒… are one class; the
parts themselves come in the order of the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from nlu.data.pools import SURNAMES
from nlu.rules import STAGE_RE
from nlu.timeparse import normalize_time

SPLIT_SYMBOL = "+"
SINGLE = "single"  # the combination model's label for a message with one job
# The combination model's probability a combined label needs before its parts are looked for in the text;
# the clauses then must bear every job out (segment), which is what keeps single-job messages single.
COMBO_THRESHOLD = 0.15
# The jobs a rep combines in one report, in label order.
COMBINABLE = ("log_visit", "add_customer", "update_opportunity", "submit_order", "set_reminder")
_ORDER = {name: i for i, name in enumerate(COMBINABLE)}

# Clause boundaries: punctuation, spaces, and the words that start a new thought in a spoken report.
_CONNECTIVE = r"(?:然后|另外|还有|顺便|同时|并且|之后|回头|完了|再就是|对了)(?!解)"
_BOUNDARY = re.compile(rf"(?:[，,。；;！!？?\n、]+|\s+|^)\s*(?:{_CONNECTIVE})?[，,\s]*")

_CUES: dict[str, re.Pattern[str]] = {
    "set_reminder": re.compile(r"提醒|记得|别忘|叫我|通知我|闹钟"),
    "submit_order": re.compile(r"下单|下了单|下个单|订单|订了|订购|追加|加订|要货|开单|报单"),
    "add_customer": re.compile(r"新客户|新增客户|加个客户|加一个客户|添加客户|录入客户|建个客户|建一个客户|建档|新建客户"),
    "update_opportunity": re.compile(
        r"商机|项目金额|预计金额|预算|预计|金额|单子|这单|赢率|把握|成交概率|可能性|规模|盘子|总价|合同额|签单"),
    "log_visit": re.compile(
        r"拜访|见了|见到|见面|会面|面谈|约见|拜会|走访|回访|上门|登门|去了|去过|跑了|跑了趟|聊了|聊过|谈了|碰了|碰面|"
        r"吃了|吃饭|喝茶|开会|开了|通了|打了个?电话|视频|演示|参观|考察|接待|来访|过来|出来"),
}
# A future step said without a job word (下周三前把合同发过去): in a visit report it is the visit's next step.
_NEXT_STEP = re.compile(r"发|送|交|给|准备|约|联系|跟进|回复|报价|出方案|安排|确认|签")


# 上午华为，下午中兴 / 上午见了…: a part of the day said alone is a time in a report (not 一下午, 周二下午).
_BARE_DAYPART = re.compile(r"(?<![一今明后昨前天日周期拜\d])(?:上午|下午|中午|早上|早晨|傍晚|晚上)")
# A name the tagger ran together with the person met: 奇瑞汽车设备科袁工 → 奇瑞汽车 + 设备科袁工.
_SURNAMES = SURNAMES + "柴晏易甘舒覃阎黎汤尹岳庞谷聂翟牛柳欧饶鲁温巫葛"
_TITLE = "(?:总监|总经理|总|经理|工|主任|校长|院长|老板|老师|姐|哥)"
_NAME_AND_PERSON = re.compile(rf"^(.{{2,}}?)((?:[\u4e00-\u9fa5]{{2}}[部科处])?[{_SURNAMES}]{_TITLE})$")
_PERSON = re.compile(rf"^(?:[\u4e00-\u9fa5]{{2}}[部科处])?[{_SURNAMES}]{_TITLE}$")
_COMMA = re.compile(r"[，,。；;、\s]+")


def refine_entities(text: str, entities: list[dict], now, tz) -> list[dict]:  # type: ignore[no-untyped-def]
    """Entities of a report as the single-job tagger missed them: bare parts of the day (the day taken from
    the time said before them: 昨天上午…，下午… is yesterday afternoon) and a customer run together with
    the person met."""
    out: list[dict] = []
    for e in _cut_at_commas(text, entities):
        m = _NAME_AND_PERSON.match(e["text"]) if e["entity"] in ("customer", "contact", "product") else None
        if m is None or _NOT_A_NAME.search(m[1]):
            out.append(e)
            continue
        cut = e["start"] + len(m[1])
        out.append({**e, "entity": "customer", "end": cut, "text": m[1], "value": m[1]})
        out.append({**e, "entity": "contact", "start": cut, "text": m[2], "value": m[2]})
    for m in _BARE_DAYPART.finditer(text):
        if any(e["start"] < m.end() and m.start() < e["end"] for e in out):
            continue
        day = next((_DAY_WORD.match(e["text"]) for e in sorted(out, key=lambda e: -e["start"])
                    if e["entity"] == "time" and e["end"] <= m.start()), None)
        said = (day[0] if day else "") + m[0]
        value = normalize_time(said, now, tz, True)
        if value is not None:
            out.append({"entity": "time", "start": m.start(), "end": m.end(), "text": m[0], "value": value[0],
                        "additional_info": value[1], "extractor": "RuleEntityExtractor", "confidence": 1.0})
    return sorted(out, key=lambda e: e["start"])


def _cut_at_commas(text: str, entities: list[dict]) -> list[dict]:
    """A name never runs over a comma (雷士照明，柴工): keep its first piece; a person after the comma
    (柴工) is the contact met."""
    out = []
    for e in entities:
        cut = _COMMA.search(e["text"]) if e["entity"] in ("customer", "contact", "product") else None
        if cut is None:
            out.append(e)
            continue
        head = e["text"][: cut.start()]
        if len(head) >= 2:
            out.append({**e, "end": e["start"] + cut.start(), "text": head, "value": head})
        tail = e["text"][cut.end() :]
        if _PERSON.match(tail):
            start = e["start"] + cut.end()
            out.append({**e, "entity": "contact", "start": start, "end": start + len(tail), "text": tail, "value": tail})
    return out


_DAY_WORD = re.compile(r"^(?:今天|昨天|前天|明天|后天|今儿|昨儿|上周.|本周.|这周.|周.|星期.|礼拜.)")
# What stands before a person's name but is no company: a department or a title (采购部刘工, 销售总监刘总).
_NOT_A_NAME = re.compile(r"(?:[部科处室门组]|总监|经理|主任|主管|助理)$|^.{0,1}$")


@dataclass
class Part:
    """One job of a combined message: its intent and the clauses (spans of the text) that say it."""

    intent: str
    spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.spans[0][0]

    @property
    def end(self) -> int:
        return self.spans[-1][1]

    def holds(self, entity: dict) -> bool:
        return any(s <= entity["start"] and entity["end"] <= e for s, e in self.spans)


def is_combined(name: str) -> bool:
    return SPLIT_SYMBOL in name


def split_label(name: str) -> list[str]:
    return name.split(SPLIT_SYMBOL)


def join_label(intents: list[str]) -> str:
    """The canonical combined label: jobs in COMBINABLE order (a repeated job stays repeated)."""
    return SPLIT_SYMBOL.join(sorted(intents, key=lambda name: _ORDER.get(name, len(_ORDER))))


def clauses(text: str, entities: list[dict]) -> list[tuple[int, int]]:
    """Clause spans, never cutting through an entity (下周三 下午3点 stays whole when tagged as one)."""
    cuts: list[tuple[int, int]] = []
    for m in _BOUNDARY.finditer(text):
        if any(e["start"] < m.start() < e["end"] or e["start"] < m.end() < e["end"] for e in entities):
            continue
        cuts.append((m.start(), m.end()))
    spans, pos = [], 0
    for start, end in cuts:
        if start > pos:
            spans.append((pos, start))
        pos = max(pos, end)
    if pos < len(text):
        spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _inside(span: tuple[int, int], entities: list[dict]) -> list[dict]:
    return [e for e in entities if span[0] <= e["start"] and e["end"] <= span[1]]


def clause_cues(text: str, span: tuple[int, int], entities: list[dict]) -> set[str]:
    """The jobs this clause itself says (by its words and entities)."""
    piece = text[span[0] : span[1]]
    found = {name for name, cue in _CUES.items() if cue.search(piece)}
    labels = {e["entity"] for e in _inside(span, entities)}
    if "update_opportunity" in found and "set_reminder" in found:
        found.discard("update_opportunity")  # 提醒我把预算表发给他: a reminder about money, not a change
    if STAGE_RE.search(piece) or "probability" in labels:
        found.add("update_opportunity")
    elif "update_opportunity" in found and not labels & {"amount", "probability"}:
        found.discard("update_opportunity")  # 预计/项目 without a figure or a stage changes nothing
    if "submit_order" in found and not labels & {"product", "quantity", "amount"} and "订单" not in piece:
        found.discard("submit_order")
    return found


# When a clause names several jobs, the most specific one wins (a reminder clause may mention a visit).
_SPECIFIC = ("set_reminder", "submit_order", "add_customer", "update_opportunity", "log_visit")


def segment(text: str, entities: list[dict], components: list[str],
            score: Callable[[str], dict[str, float]] | None = None) -> list[Part] | None:
    """Give every clause to one of `components`; None when some component has no clause of its own.

    `score(clause_text)` (the single-intent classifier's probabilities) settles clauses without a cue word.
    """
    wanted = set(components)
    spans = clauses(text, entities)
    if len(spans) < 2:
        return None
    owners: list[str | None] = []
    for span in spans:
        cues = [name for name in _SPECIFIC if name in clause_cues(text, span, entities) & wanted]
        owners.append(cues[0] if cues else None)
    visits = components.count("log_visit")
    if visits > 1 and not _split_visits(text, spans, entities, owners, visits):
        return None
    if any(_unexplained(text, span, entities, wanted) for span in spans if owners[spans.index(span)] is None):
        return None  # a clause says a job this label does not hold (给华为下单…): not this combination
    for i, span in enumerate(spans):
        if owners[i] is not None:
            continue
        other = _other_job(text[span[0] : span[1]], score)
        if other is not None:  # 另外帮我查一下…: a job of its own, answered or named after the report
            owners[i] = f"{other}#extra"
            continue
        inside = _inside(span, entities)
        if ("log_visit" in wanted and any(e["entity"] == "time" for e in inside)
                and _NEXT_STEP.search(text[span[0] : span[1]])):
            owners[i] = _last_visit(owners, i) or "log_visit"
            continue
        guess = _guess(text[span[0] : span[1]], wanted, score)
        owners[i] = guess or _neighbour(owners, i)
    if any(o is None for o in owners):
        return None
    parts: list[Part] = []
    by_owner: dict[str, Part] = {}
    for span, owner in zip(spans, owners, strict=True):
        assert owner is not None
        part = by_owner.get(owner)
        if part is None:
            part = by_owner[owner] = Part(_base(owner))
            parts.append(part)
        part.spans.append(span)
    if sorted(_base(p.intent) for p in parts if _base(p.intent) in COMBINABLE) != sorted(components):
        return None
    return parts


# Stage words that also name a next step (下周出方案): no proof of an opportunity update on their own.
_PLAN_STAGE_WORDS = {"出方案"}


def _unexplained(text: str, span: tuple[int, int], entities: list[dict], wanted: set[str]) -> bool:
    """A clause that clearly says a job outside `wanted`: an order, a new customer, a reminder, or an
    opportunity change by its stage word or win probability (visit words are too common to count)."""
    cues = clause_cues(text, span, entities) - wanted - {"log_visit"}
    if "update_opportunity" in cues:
        piece = text[span[0] : span[1]]
        strong = any(m[0] not in _PLAN_STAGE_WORDS for m in STAGE_RE.finditer(piece))
        if not strong and not any(e["entity"] == "probability" for e in _inside(span, entities)):
            cues.discard("update_opportunity")
    return bool(cues)


def cue_components(text: str, entities: list[dict]) -> list[str]:
    """The jobs the clauses say by their own words (most specific per clause), for a message the
    combination model finds several jobs in but whose combination it never saw."""
    found: list[str] = []
    for span in clauses(text, entities):
        cues = clause_cues(text, span, entities)
        if "update_opportunity" in cues and _unexplained(text, span, entities, set()) is False:
            cues.discard("update_opportunity")
        best = next((name for name in _SPECIFIC if name in cues), None)
        if best is not None and best not in found:
            found.append(best)
    return sorted(found, key=_ORDER.__getitem__)


def _base(owner: str) -> str:
    return owner.split("#", 1)[0]


def _split_visits(text: str, spans: list[tuple[int, int]], entities: list[dict], owners: list[str | None],
                  visits: int) -> bool:
    """上午华为，下午中兴: each clause naming another customer starts the next visit (log_visit#2 …)."""
    seen: list[str] = []
    number = 0
    for i, span in enumerate(spans):
        names = [e["text"] for e in _inside(span, entities) if e["entity"] == "customer"]
        new = [n for n in names if n not in seen]
        if new and owners[i] in (None, "log_visit"):
            seen += new
            number += 1
            owners[i] = "log_visit" if number == 1 else f"log_visit#{number}"
        elif owners[i] == "log_visit" and number:
            owners[i] = "log_visit" if number == 1 else f"log_visit#{number}"
    return number == visits


def _last_visit(owners: list[str | None], i: int) -> str | None:
    return next((o for o in reversed(owners[:i]) if o and _base(o) == "log_visit"), None)


def _neighbour(owners: list[str | None], i: int) -> str | None:
    """A clause with no job of its own (方案他们认可了) continues the one before it, else the one after."""
    before = next((o for o in reversed(owners[:i]) if o is not None), None)
    return before or next((o for o in owners[i + 1 :] if o is not None), None)


# Jobs a report does not combine but a rep may say on the way; never folded into a part.
OTHER_JOBS = ("query_customer", "customer_history", "list_followups", "sales_report", "list_approvals",
              "transfer_customers", "member_lookup", "record_purchase", "query_points")


def _other_job(piece: str, score: Callable[[str], dict[str, float]] | None) -> str | None:
    if score is None or len(piece) < 5:
        return None
    probs = score(piece)
    best = max(probs, key=probs.__getitem__) if probs else None
    return best if best in OTHER_JOBS and probs[best] >= 0.85 else None


def _guess(piece: str, wanted: set[str], score: Callable[[str], dict[str, float]] | None) -> str | None:
    if score is None or len(piece) < 4:
        return None
    probs = score(piece)
    ranked = sorted(((probs.get(name, 0.0), name) for name in wanted), reverse=True)
    best, name = ranked[0]
    share = best / (sum(p for p, _ in ranked) or 1.0)
    return name if best >= 0.5 and share >= 0.8 else None


def parts_payload(text: str, parts: list[Part], entities: list[dict], components: list[str]) -> list[dict]:
    """The `parts` key of a combined parse: each job's text, spans and the entities in its clauses (each
    entity also gets `group`, Rasa's field for entities that belong together: the job's name)."""
    out = []
    for part in parts:
        own = [e for e in entities if "start" in e and part.holds(e)]
        for e in own:
            e["group"] = part.intent
        payload = {"intent": part.intent, "text": "，".join(text[s:e] for s, e in part.spans),
                   "start": part.start, "end": part.end, "spans": [list(s) for s in part.spans], "entities": own}
        if part.intent not in components:  # said on the way (另外查一下…): not one of the label's jobs
            payload["extra"] = True
        out.append(payload)
    return out
