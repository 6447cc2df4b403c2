"""Held-out evaluation: per-intent P/R/F1, intent accuracy, entity F1 (exact span + label), value accuracy."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sklearn.metrics import precision_recall_fscore_support

from nlu.data_io import Example

REFERENCE_NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _value_str(value: object) -> str:
    if isinstance(value, dict) and "from" in value:
        return f"{value['from']}/{value['to']}"
    return str(value)


def evaluate(parser, examples: list[Example], now: datetime = REFERENCE_NOW) -> dict:
    gold_intents, pred_intents = [], []
    tp = fp = fn = 0
    per_entity: Counter = Counter()
    value_ok = value_total = 0
    errors: list[str] = []
    for ex in examples:
        res = parser.parse(ex.text, now)
        gold_intents.append(ex.intent)
        pred_intents.append(res["intent"]["name"])
        if ex.intent != res["intent"]["name"]:
            errors.append(f"intent {ex.intent} -> {res['intent']['name']}: {ex.text}")
        gold = {(e["start"], e["end"], e["entity"]): e for e in ex.entities}
        pred = {(e["start"], e["end"], e["entity"]): e for e in res["entities"]}
        for key, g in gold.items():
            if key in pred:
                tp += 1
                per_entity[(key[2], "tp")] += 1
                if "value" in g and key[2] in ("time", "amount"):
                    value_total += 1
                    if _value_str(pred[key]["value"]) == g["value"]:
                        value_ok += 1
                    else:
                        errors.append(f"value {g['text']}: {pred[key]['value']} != {g['value']}")
            else:
                fn += 1
                per_entity[(key[2], "fn")] += 1
                errors.append(f"missed {key[2]} {g['text']!r}: {ex.text}")
        for key, p in pred.items():
            if key not in gold:
                fp += 1
                per_entity[(key[2], "fp")] += 1
                errors.append(f"spurious {key[2]} {p['text']!r}: {ex.text}")
    labels = sorted(set(gold_intents))
    prec, rec, f1, support = precision_recall_fscore_support(gold_intents, pred_intents, labels=labels,
                                                             zero_division=0)
    accuracy = sum(g == p for g, p in zip(gold_intents, pred_intents, strict=True)) / max(len(examples), 1)
    ent_p = tp / (tp + fp) if tp + fp else 0.0
    ent_r = tp / (tp + fn) if tp + fn else 0.0
    ent_f1 = 2 * ent_p * ent_r / (ent_p + ent_r) if ent_p + ent_r else 0.0
    entities = {}
    for name in sorted({k[0] for k in per_entity}):
        t, p_, n_ = per_entity[(name, "tp")], per_entity[(name, "fp")], per_entity[(name, "fn")]
        pe = t / (t + p_) if t + p_ else 0.0
        re_ = t / (t + n_) if t + n_ else 0.0
        entities[name] = {"precision": pe, "recall": re_, "f1": 2 * pe * re_ / (pe + re_) if pe + re_ else 0.0,
                          "support": t + n_}
    return {
        "n": len(examples),
        "intent_accuracy": accuracy,
        "intents": {lab: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                    for lab, p, r, f, s in zip(labels, prec, rec, f1, support, strict=True)},
        "entity_precision": ent_p, "entity_recall": ent_r, "entity_f1": ent_f1, "entities": entities,
        "value_accuracy": value_ok / value_total if value_total else 1.0, "value_total": value_total,
        "errors": errors,
    }
