"""Regenerate nlu/data/nlu.yml (training) and nlu/data/test/nlu_test.yml (held-out).

    python -m nlu.data.gen_data

Held-out data uses its own templates (templates_test.py) and name pools (pools.TEST), so no name or
template of the held-out file appears in training.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from nlu.data import pools, templates_test, templates_train
from nlu.rules import find_rule_entities, resolve

HERE = Path(__file__).resolve().parent
SLOT_RE = re.compile(r"\{(\w+)\}")
STAGE_SLOTS = {"stage_won", "stage_lost", "stage_mid"}
TYPOS = {"跟进": "根进", "拜访": "拜方", "提醒": "提星", "订单": "定单", "客户": "客护", "审批": "审比", "积分": "积份"}
SHORT_SUFFIXES = ["", "啊", "吧", "呀", " 谢谢", "哈"]


def _pick(pool: dict, slot: str, rng: random.Random) -> tuple[str, str | None]:
    key = "staff" if slot.startswith("staff") else "stage_" + slot.split("_")[1] if slot in STAGE_SLOTS else slot
    item = rng.choice(pool[key])
    if isinstance(item, tuple):
        return item
    return item, None


def _phone(rng: random.Random) -> str:
    digits = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    style = rng.random()
    if style < 0.2:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style < 0.3:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return digits


def render(template: str, pool: dict, rng: random.Random, with_values: bool) -> str:
    used: dict[str, str] = {}

    def fill(m: re.Match) -> str:
        slot = m[1]
        if slot == "phone":
            text, value = _phone(rng), None
        else:
            text, value = _pick(pool, slot, rng)
            # Keep from/to staff distinct.
            while slot == "staff_to" and text == used.get("staff_from"):
                text, value = _pick(pool, slot, rng)
        used[slot] = text
        entity = "staff" if slot.startswith("staff") else "stage" if slot in STAGE_SLOTS else slot
        if entity == "time_future" or entity.startswith("time"):
            entity = "time"
        ann: dict = {"entity": entity}
        if slot == "staff_from":
            ann["role"] = "from"
        elif slot == "staff_to":
            ann["role"] = "to"
        if with_values and value is not None:
            ann["value"] = value
        if len(ann) == 1:
            return f"[{text}]({entity})"
        return f"[{text}]{json.dumps(ann, ensure_ascii=False)}"

    return SLOT_RE.sub(fill, template)


# Gold values of time words written literally in held-out templates (reference Fri 2026-11-27 10:00).
LITERAL_VALUES = {
    "今天": "2026-11-27T00:00:00+08:00",
    "本月": "2026-11-01T00:00:00+08:00/2026-11-30T23:59:59+08:00",
    "这周": "2026-11-23T00:00:00+08:00/2026-11-29T23:59:59+08:00",
    "本周": "2026-11-23T00:00:00+08:00/2026-11-29T23:59:59+08:00",
}
ANN_RE = re.compile(r"(\[[^\]]*\](?:\([^)]*\)|\{[^}]*\}))")


def auto_annotate(line: str, with_values: bool) -> str:
    """Annotate rule-detectable entities (e.g. a literal 今天) that a template wrote as plain text."""
    parts = ANN_RE.split(line)
    for i in range(0, len(parts), 2):
        seg = parts[i]
        found = [e for e in resolve(find_rule_entities(seg)) if e["entity"] in ("time", "amount", "quantity")]
        for e in reversed(found):
            ann: dict = {"entity": e["entity"]}
            if with_values and e["entity"] in ("time", "amount"):
                ann["value"] = LITERAL_VALUES[e["text"]]
            body = f"({e['entity']})" if len(ann) == 1 else json.dumps(ann, ensure_ascii=False)
            seg = seg[: e["start"]] + f"[{e['text']}]" + body + seg[e["end"]:]
        parts[i] = seg
    return "".join(parts)


def _typo(line: str, rng: random.Random) -> str:
    # Only touch text outside annotations.
    parts = re.split(r"(\[[^\]]*\](?:\([^)]*\)|\{[^}]*\}))", line)
    for i in range(0, len(parts), 2):
        for good, bad in TYPOS.items():
            if good in parts[i] and rng.random() < 0.5:
                parts[i] = parts[i].replace(good, bad, 1)
    return "".join(parts)


def generate(templates: dict, pool: dict, per_intent: int, seed: int, train: bool) -> dict[str, list[str]]:
    rng = random.Random(seed)
    out: dict[str, list[str]] = {}
    for intent, lines in templates.items():
        examples: list[str] = []
        seen: set[str] = set()
        slotted = [t for t in lines if "{" in t]
        plain = [t for t in lines if "{" not in t]
        for line in plain:
            for suffix in SHORT_SUFFIXES[: (6 if train else 3)]:
                text = auto_annotate(line + suffix, with_values=not train)
                if text not in seen:
                    seen.add(text)
                    examples.append(text)
        attempts = 0
        while slotted and len(examples) < per_intent and attempts < per_intent * 20:
            attempts += 1
            text = render(rng.choice(slotted), pool, rng, with_values=not train)
            if train:
                if rng.random() < 0.3:
                    text = rng.choice(templates_train.PREFIXES) + text + rng.choice(templates_train.SUFFIXES)
                if rng.random() < 0.08:
                    text = _typo(text, rng)
            text = auto_annotate(text.strip(), with_values=not train)
            if text not in seen:
                seen.add(text)
                examples.append(text)
        out[intent] = examples[: max(per_intent, len(plain) * 6)] if train else examples[:per_intent]
    return out


def to_yaml(data: dict[str, list[str]], comment: str) -> str:
    lines = [comment, 'version: "3.1"', "nlu:"]
    for intent, examples in data.items():
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {e}" for e in examples)
    return "\n".join(lines) + "\n"


def train_pool() -> dict:
    """Hand-picked names plus generated ones (none equal to a held-out name)."""
    rng = random.Random(3)
    exclude = {x if isinstance(x, str) else x[0] for v in pools.TEST.values() for x in v}
    pool = dict(pools.TRAIN)
    for kind, n in (("customer", 700), ("contact", 300), ("staff", 200), ("member", 200), ("product", 200)):
        # Hand-picked names weigh as much as all generated ones together.
        weight = max(3, n // len(pool[kind]))
        pool[kind] = pool[kind] * weight + pools.generated_names(kind, n, rng, exclude)
    return pool


def main() -> None:
    train = generate(templates_train.T, train_pool(), per_intent=170, seed=7, train=True)
    test = generate(templates_test.T, pools.TEST, per_intent=20, seed=11, train=False)
    (HERE / "nlu.yml").write_text(
        to_yaml(train, "# Generated by nlu/data/gen_data.py from templates_train.py + pools.TRAIN"), encoding="utf-8")
    (HERE / "test").mkdir(exist_ok=True)
    (HERE / "test" / "nlu_test.yml").write_text(
        to_yaml(test, "# Held-out test set (never trained on). Gold time/amount values are for the reference\n"
                      "# time Fri 2026-11-27 10:00 +08:00; spans are written from/to."), encoding="utf-8")
    for name, data in (("train", train), ("test", test)):
        counts = {k: len(v) for k, v in data.items()}
        print(name, sum(counts.values()), min(counts.values()), counts)


if __name__ == "__main__":
    main()
