"""Held-out evaluation: per-intent P/R/F1, intent accuracy, entity F1 (exact span + label), value accuracy
(time/amount, as before) and per-entity accuracy of normalized values: for every gold entity, the
predicted entity of the same label over the same words (exact span, else overlapping) must carry the
gold value (the written text for names); a missed entity counts as wrong."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sklearn.metrics import precision_recall_fscore_support

from nlu.data_io import Example
from nlu.multi import is_combined, split_label

REFERENCE_NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
AS_WRITTEN = {"customer", "contact", "product", "staff", "member", "member_id"}  # value = the text


def _value_str(value: object) -> str:
    if isinstance(value, dict) and "from" in value:
        return f"{value['from']}/{value['to']}"
    return str(value)


def _same_words(gold: dict, predicted: list[dict]) -> dict | None:
    label = [p for p in predicted if p["entity"] == gold["entity"]]
    exact = [p for p in label if (p["start"], p["end"]) == (gold["start"], gold["end"])]
    overlapping = [p for p in label if p["start"] < gold["end"] and gold["start"] < p["end"]]
    return (exact or overlapping or [None])[0]


def value_accuracy_by_entity(gold_and_predicted: list[tuple[list[dict], list[dict]]]) -> dict[str, dict]:
    """{entity: {'n', 'correct', 'accuracy', 'errors'}} over (gold entities, predicted entities) pairs."""
    table: dict[str, dict] = {}
    for gold_entities, predicted in gold_and_predicted:
        for gold in gold_entities:
            if "value" not in gold and gold["entity"] not in AS_WRITTEN:
                continue  # a number or code with no gold value written down cannot be judged
            row = table.setdefault(gold["entity"], {"n": 0, "correct": 0, "errors": []})
            row["n"] += 1
            expected = str(gold.get("value", gold["text"]))
            match = _same_words(gold, predicted)
            got = _value_str(match["value"]) if match is not None else None
            if got == expected:
                row["correct"] += 1
            else:
                row["errors"].append(f"{gold['entity']} {gold['text']!r}: {got} != {expected}")
    for row in table.values():
        row["accuracy"] = row["correct"] / row["n"] if row["n"] else 1.0
    return dict(sorted(table.items()))


def _expected_value(gold: dict) -> str | None:
    if "value" in gold:
        return str(gold["value"])
    return gold["text"] if gold["entity"] in AS_WRITTEN else None


def multi_part_scores(examples: list[Example], results: list[dict]) -> dict:
    """Several jobs in one message: whether the combination of jobs is right (as a multiset, the order of a
    label's names does not matter), and per gold entity carrying a `group` (the job it belongs to) whether
    a predicted part of that job holds it, same label and overlapping words, with the gold value."""
    combined = [(ex, res) for ex, res in zip(examples, results, strict=True) if is_combined(ex.intent)]
    combo_ok = sum(sorted(split_label(ex.intent)) == sorted(split_label(res["intent"]["name"]))
                   for ex, res in combined)
    false_alarms = sum(is_combined(res["intent"]["name"])
                       for ex, res in zip(examples, results, strict=True) if not is_combined(ex.intent))
    by_group: dict[str, dict] = {}
    errors: list[str] = []
    for ex, res in combined:
        for gold in (e for e in ex.entities if "group" in e):
            row = by_group.setdefault(gold["group"], {"n": 0, "correct": 0})
            row["n"] += 1
            expected = _expected_value(gold)
            parts = [p for p in res.get("parts", []) if p["intent"] == gold["group"]]
            found = [e for p in parts for e in p["entities"]
                     if e["entity"] == gold["entity"] and e["start"] < gold["end"] and gold["start"] < e["end"]]
            if any(expected is None or _value_str(e["value"]) == expected for e in found):
                row["correct"] += 1
            else:
                got = ", ".join(f"{e['text']}={_value_str(e['value'])}" for e in found) or "none"
                errors.append(f"part {gold['group']} {gold['entity']} {gold['text']!r}={expected}: got {got}: {ex.text}")
    n = sum(row["n"] for row in by_group.values())
    correct = sum(row["correct"] for row in by_group.values())
    for row in by_group.values():
        row["accuracy"] = row["correct"] / row["n"]
    return {"combined_n": len(combined), "combination_accuracy": combo_ok / len(combined) if combined else 1.0,
            "combined_false_alarms": false_alarms,
            "attribution_n": n, "attribution_accuracy": correct / n if n else 1.0,
            "attribution_by_job": dict(sorted(by_group.items())), "attribution_errors": errors}


def evaluate(parser, examples: list[Example], now: datetime = REFERENCE_NOW) -> dict:
    gold_intents, pred_intents = [], []
    pairs: list[tuple[list[dict], list[dict]]] = []
    tp = fp = fn = 0
    per_entity: Counter = Counter()
    value_ok = value_total = 0
    errors: list[str] = []
    results: list[dict] = []
    for ex in examples:
        res = parser.parse(ex.text, now)
        results.append(res)
        pairs.append((ex.entities, res["entities"]))
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
        "values": value_accuracy_by_entity(pairs),
        "multi": multi_part_scores(examples, results),
        "errors": errors,
    }
