"""The inference-only model file predicts exactly what the fitted (numpy) and CRFsuite objects predict."""

from __future__ import annotations

from pathlib import Path

import pycrfsuite
import pytest

from nlu.crf import CRFTagger
from nlu.data_io import load_examples
from nlu.data_io import test_file as held_out_file
from nlu.intent import IntentModel, mask
from nlu.model import NLUModel
from nlu.parser import LocalParser

from .conftest import NOW, TZ

EDGE_TEXTS = ["华为的电话是多少", "  a  b\tc ", "给万科物业下个单 门禁系统3套", "", "😀", "x" * 600, "ＡＢＣ全角",
              "\ue000下周\ue005去拜访"]


class FittedIntentModel(IntentModel):
    """The artefact's intent model with its probabilities taken from the fitted numpy objects."""

    def __init__(self, artefact: IntentModel, fitted) -> None:  # type: ignore[no-untyped-def]
        self.__dict__.update(artefact.__dict__)
        self.fitted = fitted

    def probabilities(self, text: str) -> list[float]:
        return [float(p) for p in self.fitted.predict_proba([text])[0]]


class FileTagger(CRFTagger):
    """CRFsuite's tagger opened on the model file the trainer wrote (as sklearn-crfsuite did)."""

    def __init__(self, model_bytes: bytes, tmp: Path) -> None:
        path = tmp / "crf.crfsuite"
        path.write_bytes(model_bytes)
        self.model_bytes = model_bytes
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(path))


@pytest.fixture(scope="module")
def artefact(nlu_model_path: Path) -> NLUModel:
    return NLUModel.from_bytes(nlu_model_path.read_bytes())


@pytest.fixture(scope="module")
def held_out():  # type: ignore[no-untyped-def]
    return load_examples(held_out_file())


def test_probabilities_match_the_fitted_model_on_every_held_out_text(artefact, nlu_trained, held_out) -> None:  # type: ignore[no-untyped-def]
    texts = [ex.text for ex in held_out] + [mask(ex.text, ex.entities) for ex in held_out] + EDGE_TEXTS
    expected = nlu_trained.intent.predict_proba(texts)
    assert artefact.intent.classes == nlu_trained.intent.clf.classes
    worst = 0.0
    for text, want in zip(texts, expected, strict=True):
        got = artefact.intent.probabilities(text)
        worst = max(worst, *(abs(g - float(w)) for g, w in zip(got, want, strict=True)))
        assert got.index(max(got)) == int(want.argmax()), text
    assert worst < 1e-9, worst


def test_parses_match_the_fitted_objects_over_the_held_out_file(artefact, nlu_trained, held_out,
                                                                tmp_path: Path) -> None:
    reference = NLUModel(artefact.header, FittedIntentModel(artefact.intent, nlu_trained.intent),
                         FileTagger(nlu_trained.crf_bytes, tmp_path), nlu_trained.jieba)
    ours, theirs = LocalParser(artefact, TZ, 0.4), LocalParser(reference, TZ, 0.4)
    for lookup in (ours, theirs):
        lookup.set_lookup("customer", ["瑞丰达贸易", "华为"])
    for text in [ex.text for ex in held_out] + EDGE_TEXTS:
        got, want = ours.parse(text, NOW), theirs.parse(text, NOW)
        assert got["intent"]["name"] == want["intent"]["name"], text
        assert abs(got["intent"]["confidence"] - want["intent"]["confidence"]) < 1e-9
        assert got["entities"] == want["entities"], text


def test_low_confidence_keeps_ranking(parser):  # type: ignore[no-untyped-def]
    old = parser.threshold
    parser.threshold = 1.01
    try:
        result = parser.parse("华为的电话是多少")
        assert result["intent"]["name"] == "out_of_scope"
        assert result["intent_ranking"][0]["name"] == "query_customer"
        assert len(result["intent_ranking"]) == 10
    finally:
        parser.threshold = old


def test_training_saves_the_bytes_the_built_model_would_save(nlu_trained) -> None:  # type: ignore[no-untyped-def]
    raw = nlu_trained.to_bytes()
    assert raw == nlu_trained.to_model().to_bytes()
    assert NLUModel.from_bytes(raw).intent.classes == nlu_trained.intent.clf.classes
