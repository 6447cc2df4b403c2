from __future__ import annotations

import yaml

from nlu import data_io
from nlu.data_io import load_examples, load_training
from nlu.data_io import test_file as heldout_file
from nlu.evaluate import evaluate
from nlu.export_rasa import ENTITIES, INTENTS, export


def test_heldout_meets_targets(parser):
    test = load_examples(heldout_file())
    every = [ex for path in data_io.test_files() for ex in load_examples(path)]  # generated + hand-written files
    train_texts = {ex.text for ex in load_training(None)}
    assert not train_texts & {ex.text for ex in every}, "held-out examples leaked into training"
    counts = {i: sum(ex.intent == i for ex in every) for i in INTENTS}
    assert min(counts.values()) >= 15, counts
    report = evaluate(parser, test)
    assert report["intent_accuracy"] >= 0.95, report["intent_accuracy"]
    assert report["entity_f1"] >= 0.92, report["entity_f1"]
    assert report["value_accuracy"] >= 0.95


def test_training_data_size():
    train = load_training(None)
    counts = {i: sum(ex.intent == i for ex in train) for i in INTENTS}
    assert min(counts.values()) >= 60, counts


def test_export_rasa(tmp_path):
    files = export(tmp_path)
    assert all(f.exists() for f in files)
    config = yaml.safe_load((tmp_path / "config.yml").read_text(encoding="utf-8"))
    assert config["language"] == "zh"
    names = [c["name"] for c in config["pipeline"]]
    assert names[0] == "JiebaTokenizer" and "DIETClassifier" in names and "FallbackClassifier" in names
    jieba_cfg = config["pipeline"][0]
    assert (tmp_path / jieba_cfg["dictionary_path"] / "userdict.txt").exists()
    regex = next(c for c in config["pipeline"] if c["name"] == "RegexEntityExtractor")
    assert regex["use_word_boundaries"] is False
    assert any(c.get("analyzer") == "char_wb" and c.get("max_ngram") == 4 for c in config["pipeline"])
    assert next(c for c in config["pipeline"] if c["name"] == "DIETClassifier")["epochs"] == 100
    nlu = yaml.safe_load((tmp_path / "data" / "nlu.yml").read_text(encoding="utf-8"))
    assert nlu["version"].startswith("3")
    intents = {b["intent"] for b in nlu["nlu"] if "intent" in b}
    combined = {name for name in intents if "+" in name}
    assert intents - combined == set(INTENTS)
    assert "log_visit+update_opportunity+set_reminder" in combined
    assert all(set(name.split("+")) <= set(INTENTS) for name in combined)
    assert jieba_cfg["intent_tokenization_flag"] is True and jieba_cfg["intent_split_symbol"] == "+"
    assert {b["lookup"] for b in nlu["nlu"] if "lookup" in b} >= {"customer", "contact", "product"}
    assert {b["regex"] for b in nlu["nlu"] if "regex" in b} >= {"phone", "order_id", "member_id"}
    first = next(b for b in nlu["nlu"] if "intent" in b)["examples"]
    assert first.startswith("- ") and "](" in first
    domain = yaml.safe_load((tmp_path / "domain.yml").read_text(encoding="utf-8"))
    assert domain["intents"] == INTENTS + sorted(combined, key=domain["intents"].index)
    assert {"staff": {"roles": ["from", "to"]}} in domain["entities"]
    assert len(domain["entities"]) == len(ENTITIES)
    userdict = (tmp_path / "jieba_userdict" / "userdict.txt").read_text(encoding="utf-8").splitlines()
    assert "华为" in userdict and all(" " not in line for line in userdict)


def test_handwritten_heldout_values(parser):
    """The hand-written held-out set (issue 14): no line or name from training, >= 300 lines, and the
    normalized values of numbers, dates, stages and codes right."""
    path = heldout_file().parent / "handwritten.yml"
    test = load_examples(path)
    train = load_training(None)
    assert len(test) >= 300
    assert not {ex.text for ex in train} & {ex.text for ex in test}
    train_text = " ".join(ex.text for ex in train)
    names = {e["text"] for ex in test for e in ex.entities if e["entity"] in ("customer", "contact", "product", "staff")}
    assert not [n for n in names if n in train_text]
    report = evaluate(parser, test)
    assert report["intent_accuracy"] >= 0.93, report["intent_accuracy"]
    values = report["values"]
    for entity in ("time", "amount", "quantity", "discount", "points", "probability", "stage", "phone", "member_id"):
        assert values[entity]["n"] >= 3 and values[entity]["accuracy"] >= 0.95, (entity, values[entity]["errors"])


def test_handover_staff_heldout(parser):
    """Issue 15: deactivating staff and handing over lists of customers, phrasings and names not trained on."""
    test = load_examples(heldout_file().parent / "handover_staff.yml")
    assert sum(ex.intent == "deactivate_staff" for ex in test) >= 15
    report = evaluate(parser, test)
    assert report["intent_accuracy"] >= 0.95, report
    # Measured 0.84 (unseen staff names without the database's gazetteer; customers inside a list). In the app
    # the staff names come from the database, and the hand-over job reads a list of customers from the text.
    assert report["entity_f1"] >= 0.8, report


def test_multi_part_heldout(parser):
    """Issue 17: >= 100 hand-written multi-part reports, names unseen in training; the combination of jobs
    and each entity's job (its part) are read right, and no single-job held-out message becomes several."""
    test = load_examples(heldout_file().parent / "multi_test.yml")
    train = load_training(None)
    assert len(test) >= 100 and all("+" in ex.intent for ex in test)
    train_text = " ".join(ex.text for ex in train)
    names = {e["text"] for ex in test for e in ex.entities if e["entity"] in ("customer", "contact", "product")}
    assert not [n for n in names if n in train_text]
    multi = evaluate(parser, test)["multi"]
    assert multi["combination_accuracy"] >= 0.9, multi["combination_accuracy"]
    assert multi["attribution_n"] >= 400 and multi["attribution_accuracy"] >= 0.8, multi["attribution_errors"]
    for name in ("nlu_test.yml", "handwritten.yml"):
        assert evaluate(parser, load_examples(heldout_file().parent / name))["multi"]["combined_false_alarms"] == 0


def test_multi_part_parse_shape(parser):
    from nlu.evaluate import REFERENCE_NOW

    res = parser.parse("上午见了华为林总，方案他们认可了，进入商务谈判，预计80万，提醒我周二下午准备合同", REFERENCE_NOW)
    assert res["intent"]["name"] == "log_visit+update_opportunity+set_reminder"
    jobs = {p["intent"]: p for p in res["parts"]}
    assert [e["value"] for e in jobs["update_opportunity"]["entities"] if e["entity"] == "amount"] == [800000]
    assert [e["value"] for e in jobs["set_reminder"]["entities"] if e["entity"] == "time"] == ["2026-12-01T14:00:00+08:00"]
    assert not [e for e in jobs["log_visit"]["entities"] if e["entity"] in ("amount", "stage")]
    assert all(e["group"] in jobs for e in res["entities"])
    single = parser.parse("今天下午拜访了华为张总，聊了新项目，预计下周三报价", REFERENCE_NOW)
    assert single["intent"]["name"] == "log_visit" and "parts" not in single
