"""Read Rasa NLU YAML (version 3.x) with `[text](entity)` / `[text]{json}` annotations."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ANN_RE = re.compile(r"\[([^\]]+)\](?:\(([^)]+)\)|(\{[^}]*\}))")
PACKAGE_DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Example:
    text: str
    intent: str
    entities: list[dict] = field(default_factory=list)  # entity, start, end, text, role?, group?, value?


def parse_annotated(line: str) -> tuple[str, list[dict]]:
    """'给[华为](customer)下单' -> ('给华为下单', [{'entity': 'customer', 'start': 1, 'end': 3, ...}])."""
    out, entities, pos = [], [], 0
    plain_len = 0
    for m in ANN_RE.finditer(line):
        out.append(line[pos : m.start()])
        plain_len += m.start() - pos
        text = m[1]
        if m[2]:
            name, _, value = m[2].partition(":")
            ann: dict = {"entity": name}
            if value:
                ann["value"] = value
        else:
            ann = json.loads(m[3])
        ent = {"entity": ann["entity"], "start": plain_len, "end": plain_len + len(text), "text": text}
        for key in ("role", "group", "value"):
            if key in ann:
                ent[key] = ann[key]
        entities.append(ent)
        out.append(text)
        plain_len += len(text)
        pos = m.end()
    out.append(line[pos:])
    return "".join(out), entities


def load_examples(path: Path) -> list[Example]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = []
    for block in doc.get("nlu", []):
        if "intent" not in block:
            continue
        for raw in str(block.get("examples", "")).splitlines():
            raw = raw.strip()
            if raw.startswith("- "):
                text, ents = parse_annotated(raw[2:].strip())
                examples.append(Example(text, block["intent"], ents))
    return examples


def training_files(data_dir: str | Path | None) -> list[Path]:
    """All *.yml under the data dir except the held-out test/ folder."""
    root = Path(data_dir) if data_dir else PACKAGE_DATA
    return sorted(p for p in root.rglob("*.yml") if "test" not in p.relative_to(root).parts)


def test_file(data_dir: str | Path | None = None) -> Path:
    root = Path(data_dir) if data_dir else PACKAGE_DATA
    return root / "test" / "nlu_test.yml"


def test_files(data_dir: str | Path | None = None) -> list[Path]:
    """Every held-out file: the generated nlu_test.yml and the hand-written handwritten.yml."""
    root = Path(data_dir) if data_dir else PACKAGE_DATA
    return sorted((root / "test").glob("*.yml"))


def load_training(data_dir: str | Path | None) -> list[Example]:
    return [ex for p in training_files(data_dir) for ex in load_examples(p)]


def data_hash(data_dir: str | Path | None) -> str:
    h = hashlib.sha256()
    for p in training_files(data_dir):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()
