"""Training: the intent models (nlu.fitting: numpy + scipy.sparse) and the CRF (CRFsuite), then converted to
the inference-only NLUModel (nlu.model). Parsing never imports this module, numpy or scipy.

Costs kept down: every text is tokenized once (a memo shared by all models), the logistic regressions run
with one BLAS thread (more threads only spin-wait on this small problem), and the CRF trains in a small fresh
process (nlu.crf_training) while the intent models fit in this one.
"""

from __future__ import annotations

import gc
import os
import sys

if "numpy" not in sys.modules:  # before numpy starts OpenBLAS: its idle threads only spin on these small fits
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import platform
import resource
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import jieba

from nlu.crf import bio_labels
from nlu.crf_training import CRFJob, Sample
from nlu.data_io import Example
from nlu.fitting import LogisticModel, TfidfBlocks, fit_logistic
from nlu.intent import char_grams, mask, prep
from nlu.model import NLUModel, model_bytes, model_key
from nlu.multi import SINGLE, is_combined
from nlu.rules import find_rule_entities, resolve
from nlu.tokenizer import default_jieba, tokenize, words_of

CRF_PARAMS = {"c1": 0.05, "c2": 0.05, "max_iterations": 100, "feature.possible_transitions": True}


class TokenMemo:
    """jieba tokens per text, computed once for all models."""

    def __init__(self, tk: jieba.Tokenizer) -> None:
        self.tk = tk
        self.cache: dict[str, list[tuple[str, int, int]]] = {}
        self.bags: dict[tuple[int, str], Counter[str]] = {}  # the intent models' term counts per text

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        toks = self.cache.get(text)
        if toks is None:
            toks = self.cache[text] = tokenize(text, self.tk)
        return toks

    def words(self, text: str) -> list[str]:
        return words_of(self.tokens(text))


def intent_samples(examples: list[Example]) -> tuple[list[str], list[str]]:
    """Each example twice: as written and with its entities masked, so unseen names do not matter."""
    texts, labels = [], []
    for e in examples:
        texts.append(prep(e.text))
        labels.append(e.intent)
        if e.entities:
            texts.append(prep(mask(e.text, e.entities)))
            labels.append(e.intent)
    return texts, labels


@dataclass
class FittedIntent:
    """The fitted vectoriser and classifier (numpy); predict_proba is the reference the inference model must
    reproduce."""

    vectorizer: TfidfBlocks
    clf: LogisticModel

    def features(self, texts: list[str]):  # type: ignore[no-untyped-def]
        return self.vectorizer.transform(texts)

    def predict_proba(self, texts: list[str]):  # type: ignore[no-untyped-def]
        return self.clf.predict_proba(self.features([prep(t) for t in texts]))

    def state(self) -> dict:
        """Plain lists and dicts: what IntentModel needs, nothing of numpy."""
        char_vocab, word_vocab = self.vectorizer.vocabs
        coef = self.clf.coef.tolist()
        return {"char_vocab": char_vocab, "word_vocab": word_vocab, "idf": self.vectorizer.idf.tolist(),
                "coef": [tuple(row) for row in coef], "bias": self.clf.intercept.tolist(),
                "classes": list(self.clf.classes)}


def fit_intent(examples: list[Example], memo: TokenMemo) -> FittedIntent:
    from threadpoolctl import threadpool_limits

    repeats = Counter(zip(*intent_samples(examples), strict=True))  # a fifth are repeats (masked templates)
    texts, labels = [t for t, _ in repeats], [label for _, label in repeats]
    counts = list(repeats.values())
    vectorizer = TfidfBlocks([char_grams, memo.words], min_df=2, bags=memo.bags)
    features = vectorizer.fit_transform(texts, counts)
    with threadpool_limits(limits=1, user_api="blas"):  # more threads only spin-wait on this small problem
        clf = fit_logistic(features, labels, C=20.0, counts=counts)
    # drop the training memo; new texts are analysed as at parse time
    vectorizer.analyzers, vectorizer.bags = [char_grams, _Words(memo.tk)], None
    return FittedIntent(vectorizer, clf)


class _Words:
    def __init__(self, tk: jieba.Tokenizer) -> None:
        self.tk = tk

    def __call__(self, text: str) -> list[str]:
        return words_of(tokenize(text, self.tk))


def crf_samples(examples: list[Example], memo: TokenMemo) -> list[Sample]:
    """What the CRF learns from: each text with its tokens, rule spans and BIO labels."""
    return [(ex.text, memo.tokens(ex.text), resolve(find_rule_entities(ex.text)), bio_labels(ex.text, ex.entities))
            for ex in examples]


def split_combined(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(single-job examples, every example labelled with its combined label or SINGLE).

    The single-job intent model and the tagger learn from single-job examples only, exactly as before
    combined reports existed, so a single-job message parses as it did; the combination model learns
    whether a message holds several jobs and which (nlu.multi)."""
    single = [ex for ex in examples if not is_combined(ex.intent)]
    combos = [Example(ex.text, ex.intent if is_combined(ex.intent) else SINGLE, ex.entities) for ex in examples]
    if len(single) == len(examples):
        combos = []
    return single, combos


@dataclass
class Trained:
    intent: FittedIntent
    crf_bytes: bytes
    jieba: jieba.Tokenizer
    header: dict
    n_examples: int
    cpu_seconds: float  # this process and its children
    wall_seconds: float
    combo: FittedIntent | None = None

    def to_bytes(self) -> bytes:
        """The model file's bytes (what to_model().to_bytes() gives, without building the parser's objects)."""
        return model_bytes(self.header, self.intent.state(), self.crf_bytes,
                           self.combo.state() if self.combo else None, self.jieba.FREQ, self.jieba.total)

    def to_model(self) -> NLUModel:
        return NLUModel.build(self.header, self.intent.state(), self.crf_bytes, dict(self.jieba.FREQ),
                              self.jieba.total, self.combo.state() if self.combo else None)


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def train_model(examples: list[Example], data_digest: str = "") -> Trained:
    """Fit the intent models here while the CRF trains in a child process."""
    gc_was_on = gc.isenabled()
    gc.disable()  # ~10^6 short-lived objects and no cycles: collections here were 7 % of the work
    try:
        return _train(examples, data_digest)
    finally:
        if gc_was_on:
            gc.enable()


def _train(examples: list[Example], data_digest: str) -> Trained:
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    base = default_jieba()
    memo = TokenMemo(base)
    single, combos = split_combined(examples)
    crf_job = CRFJob(crf_samples(single, memo), CRF_PARAMS)  # CRFsuite holds the GIL: its own process
    try:
        intent = fit_intent(single, memo)
        combo = fit_intent(combos, memo) if combos else None
    except BaseException:
        crf_job.cancel()
        raise
    crf_bytes = crf_job.result()
    cpu, wall = _cpu_seconds() - cpu0, time.perf_counter() - wall0
    import numpy

    header = {"key": model_key(data_digest), "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "n_examples": len(examples), "train_cpu_seconds": round(cpu, 2),
              "trained_with": {"numpy": numpy.__version__, "python": platform.python_version()}}
    return Trained(intent, crf_bytes, base, header, len(examples), cpu, wall, combo)
