"""LocalParser: tokens, rules, gazetteer, CRF, intent, normalizers -> Rasa /model/parse-shaped dicts; never raises."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from nlu.crf import MAX_ENTITY_CHARS
from nlu.gazetteer import GazetteerEntityExtractor
from nlu.intent import RANKING_SIZE
from nlu.model import NLUModel
from nlu.multi import (
    COMBO_THRESHOLD,
    SINGLE,
    cue_components,
    is_combined,
    join_label,
    parts_payload,
    refine_entities,
    segment,
    split_label,
)
from nlu.normalizers import AmountNormalizer, TimeNormalizer
from nlu.rules import find_intent_entities, find_rule_entities, overlaps, resolve
from nlu.tokenizer import JiebaTokenizer

log = logging.getLogger(__name__)

_FROM_AFTER = ("的客户", "的所有", "的全部", "名下", "手上", "手里", "负责的", "离职", "走了", "那", "的单", "的都")
_FROM_BEFORE = ("从", "把")
_TO_BEFORE = ("给", "交给", "转给", "转到", "到", "由", "换", "移交", "交接给", "分给")
_TO_AFTER = ("负责", "来跟", "跟进", "名下", "来负责")


def empty_result(text: str) -> dict:
    return {"text": text, "intent": {"name": "out_of_scope", "confidence": 0.0}, "intent_ranking": [],
            "entities": []}


def _clean(text: str) -> str:
    """Same length as the input (offsets stay valid), with lone surrogates made harmless."""
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def assign_roles(text: str, entities: list[dict], intent: str) -> None:
    """Staff in a hand-over: the giver is 'from', the receiver 'to'."""
    if intent != "transfer_customers":
        return
    staff = [e for e in entities if e["entity"] == "staff"]
    for e in staff:
        before, after = text[max(0, e["start"] - 3) : e["start"]], text[e["end"] : e["end"] + 4]
        if before.endswith(_TO_BEFORE):
            e["role"] = "to"
        elif after.startswith(_FROM_AFTER) or before.endswith(_FROM_BEFORE):
            e["role"] = "from"
        elif after.startswith(_TO_AFTER):
            e["role"] = "to"
    unresolved = [e for e in staff if "role" not in e]
    if len(staff) >= 2:
        for e, role in zip(staff, ("from", "to"), strict=False):
            e.setdefault("role", role)
    for e in unresolved:
        e.setdefault("role", "to")


class LocalParser:
    def __init__(self, model: NLUModel, tz: ZoneInfo, threshold: float) -> None:
        self.tz = tz
        self.model = model
        self.tokenizer = JiebaTokenizer(model.jieba)
        self.threshold = threshold
        self.intent = model.intent
        self.combo = model.combo
        self.crf = model.crf
        self.gazetteer = GazetteerEntityExtractor(self.tokenizer.update_words)
        self.time_norm = TimeNormalizer()
        self.amount_norm = AmountNormalizer()

    def set_lookup(self, entity: str, names: Iterable[str], source: str = "default") -> None:
        self.gazetteer.set_lookup(entity, names, source)

    def update_lookup(self, entity: str, add: Iterable[str] = (), remove: Iterable[str] = (),
                      source: str = "default") -> None:
        self.gazetteer.update_lookup(entity, add, remove, source)

    def parse(self, text: str, now: datetime | None = None) -> dict:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        try:
            return self._parse(text, now)
        except Exception:  # parse must never raise: degrade to out_of_scope
            log.exception("NLU parse failed")
            return empty_result(text)

    def _parse(self, text: str, now: datetime | None) -> dict:
        if now is None:
            now = datetime.now(self.tz)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=self.tz)
        clean = _clean(text)
        if not clean.strip():
            return empty_result(text)
        msg: dict = {"text": clean, "work_text": clean[:MAX_ENTITY_CHARS], "now": now, "tz": self.tz, "entities": []}
        work = msg["work_text"]
        gaz = self.gazetteer.find(work)
        # A known name that holds a number or a time (三只松鼠, 七匹狼, 三月花) is the name, not 3 units.
        rules = [r for r in resolve(find_rule_entities(work)) if not any(_inside(r, g) for g in gaz)]
        entities = list(rules)
        entities += [g for g in gaz if not any(overlaps(g, e) for e in entities)]
        crf = self.crf.find(work, self.tokenizer.tokens(work), rules)
        entities += [c for c in crf if not any(overlaps(c, e) for e in entities)]
        msg["intent"], msg["intent_ranking"] = self.intent.classify(clean, entities, self.threshold)
        if self.combo is not None:
            combined = self._combined(text, work, msg, entities, rules)
            if combined is not None:
                return combined
        # Below the threshold the reply is out_of_scope, but the best guess still decides intent-only rules.
        intent_for_rules = msg["intent_ranking"][0]["name"] if msg["intent_ranking"] else msg["intent"]["name"]
        extra = find_intent_entities(work, intent_for_rules, rules)
        # Stage words / bare order numbers beat CRF/gazetteer guesses on overlap.
        entities = [e for e in entities if not any(overlaps(e, x) for x in extra)] + extra
        entities.sort(key=lambda e: e["start"])
        assign_roles(work, entities, intent_for_rules)
        msg["entities"] = entities
        self.time_norm.process(msg)
        self.amount_norm.process(msg)
        for e in entities:  # offsets index the caller's original string
            e["text"] = text[e["start"] : e["end"]]
        return {"text": text, "intent": msg["intent"], "intent_ranking": msg["intent_ranking"], "entities": entities}

    def _combined(self, text: str, work: str, msg: dict, entities: list[dict], rules: list[dict]) -> dict | None:
        """Several jobs: each job's clauses, entities and normalized values. None for a single job, and when
        the jobs the combination model names are not all in the text (the single-job reading then stands)."""
        _, ranking = self.combo.classify(msg["text"], entities, self.threshold)
        if not ranking or ranking[0]["name"] == SINGLE and ranking[0]["confidence"] > 1 - COMBO_THRESHOLD:
            return None
        entities = refine_entities(work, entities, msg["now"], self.tz)
        # The likeliest combination whose jobs are each said in a clause of their own.
        single = next((r["confidence"] for r in ranking if r["name"] == SINGLE), 0.0)
        for candidate in ranking:
            if candidate["confidence"] < COMBO_THRESHOLD:
                break
            if is_combined(candidate["name"]):
                components = split_label(candidate["name"])
                parts = segment(work, entities, components, self._clause_scores)
                if parts is not None:
                    break
        else:
            candidate = None
        if candidate is None or candidate["confidence"] < COMBO_THRESHOLD:
            # Several jobs, but in a combination not seen in training: the one the clauses themselves say.
            components = cue_components(work, entities)
            parts = segment(work, entities, components, self._clause_scores) if len(components) > 1 else None
            if parts is None or single >= 1 - COMBO_THRESHOLD * 2:
                return None
            candidate = {"name": join_label(components), "confidence": 1 - single}
        msg["intent"] = dict(candidate)
        msg["intent_ranking"] = sorted(
            [r for r in ranking if is_combined(r["name"])]
            + [{"name": r["name"], "confidence": r["confidence"] * single} for r in msg["intent_ranking"]],
            key=lambda r: -r["confidence"])[:RANKING_SIZE]
        all_entities: list[dict] = []
        for part in parts:  # each job's own entities, normalized the way that job reads them
            own = [dict(e) for e in entities if part.holds(e)]
            extra = [e for e in find_intent_entities(work, part.intent, [e for e in rules if part.holds(e)])
                     if part.holds(e)]
            own = sorted([e for e in own if not any(overlaps(e, x) for x in extra)] + extra, key=lambda e: e["start"])
            part_msg = {**msg, "intent": {"name": part.intent}, "entities": own}
            self.time_norm.process(part_msg)
            self.amount_norm.process(part_msg)
            for e in own:
                e["text"] = text[e["start"] : e["end"]]
            all_entities += own
        all_entities.sort(key=lambda e: e["start"])
        out_parts = parts_payload(text, parts, all_entities, components)
        return {"text": text, "intent": msg["intent"], "intent_ranking": msg["intent_ranking"],
                "entities": all_entities, "parts": out_parts}

    def _clause_scores(self, clause: str) -> dict[str, float]:
        return {r["name"]: r["confidence"] for r in self.intent.rank(clause)}


def _inside(rule: dict, name: dict) -> bool:
    """A rule's match lies within a longer gazetteer name."""
    return (name["start"] <= rule["start"] and rule["end"] <= name["end"]
            and name["end"] - name["start"] > rule["end"] - rule["start"])
