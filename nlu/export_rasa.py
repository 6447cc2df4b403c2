"""Export a Rasa 3.x project (config.yml, data/nlu.yml, domain.yml, jieba user dictionary)."""

from __future__ import annotations

from pathlib import Path

import yaml

from nlu.data_io import load_training, training_files
from nlu.gazetteer import LOOKUP_ENTITIES
from nlu.multi import SPLIT_SYMBOL, is_combined

INTENTS = ["log_visit", "add_customer", "query_customer", "customer_history", "update_opportunity", "submit_order",
           "approve", "reject", "list_approvals", "set_reminder", "list_followups", "transfer_customers", "deactivate_staff",
           "member_lookup", "record_purchase", "query_points", "unsubscribe", "sales_report", "greet", "help",
           "cancel", "affirm", "deny", "out_of_scope", "register_member", "renew_member"]
ENTITIES = ["customer", "contact", "product", "staff", "member", "time", "amount", "quantity", "stage", "probability",
            "phone", "order_id", "member_id", "points", "discount", "reduction"]
# Regexes for RegexEntityExtractor: named after the entity they extract.
REGEXES = {
    "phone": [r"1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}"],
    "order_id": [r"#\d{3,12}", r"SO\d{6,}"],
    "member_id": [r"VIP\d{3,10}", r"vip\d{3,10}"],
    "probability": [r"\d{1,3}%", r"百分之[零一二三四五六七八九十百]+"],
}


class _Literal(str):
    pass


def _literal_repr(dumper: yaml.Dumper, data: _Literal):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")


yaml.add_representer(_Literal, _literal_repr, Dumper=yaml.SafeDumper)


def _dump(data: object, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
    return path


def _raw_examples(data_dir: str | None) -> dict[str, list[str]]:
    """Annotated lines as written (our format is Rasa's), grouped by intent."""
    out: dict[str, list[str]] = {}
    for path in training_files(data_dir):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in doc.get("nlu", []):
            if "intent" in block:
                lines = [ln.strip()[2:] for ln in str(block["examples"]).splitlines() if ln.strip().startswith("- ")]
                out.setdefault(block["intent"], []).extend(lines)
    return out


def export(out_dir: Path, data_dir: str | None = None, threshold: float = 0.4) -> list[Path]:
    out_dir = Path(out_dir)
    examples = load_training(data_dir)
    lookups: dict[str, set[str]] = {e: set() for e in LOOKUP_ENTITIES}
    for ex in examples:
        for ent in ex.entities:
            if ent["entity"] in lookups:
                lookups[ent["entity"]].add(ent["text"])
    userdict_dir = out_dir / "jieba_userdict"
    userdict_dir.mkdir(parents=True, exist_ok=True)
    userdict = userdict_dir / "userdict.txt"
    # No frequency column: jieba then keeps each name whole without over-merging neighbours.
    userdict.write_text("\n".join(sorted(set().union(*lookups.values()))) + "\n", encoding="utf-8")
    config = {
        "recipe": "default.v1",
        "language": "zh",
        "pipeline": [
            # Multi-part reports (log_visit+update_opportunity+set_reminder): Rasa splits the label into its jobs.
            {"name": "JiebaTokenizer", "dictionary_path": "jieba_userdict", "intent_tokenization_flag": True,
             "intent_split_symbol": SPLIT_SYMBOL},
            {"name": "RegexFeaturizer", "use_word_boundaries": False},
            {"name": "RegexEntityExtractor", "use_word_boundaries": False, "use_lookup_tables": True,
             "use_regexes": True},
            {"name": "LexicalSyntacticFeaturizer"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
            {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
            {"name": "EntitySynonymMapper"},
            {"name": "FallbackClassifier", "threshold": threshold, "ambiguity_threshold": 0.1},
        ],
        "policies": None,
        "assistant_id": "crmbot-nlu",
    }
    raw = _raw_examples(data_dir)
    nlu: list[dict] = [{"intent": intent, "examples": _Literal("".join(f"- {ln}\n" for ln in lines))}
                       for intent, lines in raw.items()]
    nlu += [{"lookup": name, "examples": _Literal("".join(f"- {n}\n" for n in sorted(names)))}
            for name, names in lookups.items() if names]
    nlu += [{"regex": name, "examples": _Literal("".join(f"- {p}\n" for p in patterns))}
            for name, patterns in REGEXES.items()]
    domain = {
        "version": "3.1",
        "intents": INTENTS + [name for name in raw if is_combined(name)],
        "entities": [e if e != "staff" else {"staff": {"roles": ["from", "to"]}} for e in ENTITIES],
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }
    return [
        _dump(config, out_dir / "config.yml"),
        _dump({"version": "3.1", "nlu": nlu}, out_dir / "data" / "nlu.yml"),
        _dump(domain, out_dir / "domain.yml"),
        userdict,
    ]
