"""RasaParser: the 'rasa' backend POSTs to a Rasa server and normalizes raw time/amount values ourselves."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from nlu.gazetteer import GazetteerEntityExtractor
from nlu.multi import is_combined, parts_payload, segment, split_label
from nlu.normalizers import _is_iso, normalize_number_entity, normalize_time_entity, reads_back
from nlu.parser import empty_result
from nlu.rules import overlaps

log = logging.getLogger(__name__)


class RasaParser:
    def __init__(self, url: str, timeout: float, tz: ZoneInfo, threshold: float = 0.0) -> None:
        self.url = url.rstrip("/") + "/model/parse"
        self.timeout = timeout
        self.tz = tz
        self.threshold = threshold
        self.gazetteer = GazetteerEntityExtractor()
        self.client = httpx.Client(timeout=timeout)

    def set_lookup(self, entity: str, names: Iterable[str], source: str = "default") -> None:
        # The remote model cannot learn new names; our gazetteer adds them on top of its answer.
        self.gazetteer.set_lookup(entity, list(names), source)

    def parse(self, text: str, now: datetime | None = None) -> dict:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if not text.strip():
            return empty_result(text)
        try:
            resp = self.client.post(self.url, json={"text": text.encode("utf-8", "replace").decode("utf-8")})
            resp.raise_for_status()
            data = resp.json()
            return self._post_process(text, data, now)
        except Exception:  # network errors, bad JSON: never raise to the dialog layer
            log.exception("Rasa parse failed")
            return empty_result(text)

    def _post_process(self, text: str, data: dict, now: datetime | None) -> dict:
        now = now or datetime.now(self.tz)
        if now.tzinfo is None:
            now = now.replace(tzinfo=self.tz)
        intent = dict(data.get("intent") or {"name": "out_of_scope", "confidence": 0.0})
        if intent.get("name") == "nlu_fallback":  # Rasa's FallbackClassifier: our out_of_scope
            intent["name"] = "out_of_scope"
        ranking = data.get("intent_ranking") or []
        entities = [dict(e) for e in data.get("entities") or [] if isinstance(e, dict)]
        for ent in entities:
            if ent.get("entity") == "time" and isinstance(ent.get("value"), str) and not _is_iso(ent["value"]):
                normalize_time_entity(ent, now, self.tz, reads_back(intent.get("name"), text, ent))
            else:
                normalize_number_entity(ent)
        for g in self.gazetteer.find(text):
            if not any(overlaps(g, e) for e in entities if "start" in e and "end" in e):
                entities.append(g)
        entities.sort(key=lambda e: e.get("start", 0))
        result = {"text": text, "intent": intent, "intent_ranking": ranking, "entities": entities}
        if is_combined(str(intent.get("name"))):  # Rasa's multi-intent label: the jobs' clauses, as locally
            components = split_label(intent["name"])
            parts = segment(text, [e for e in entities if "start" in e and "end" in e], components)
            if parts is not None:
                result["parts"] = parts_payload(text, parts, entities, components)
        return result
