"""Training: the intent model (scikit-learn) and the CRF (CRFsuite) fitted side by side, then converted to
the inference-only NLUModel (nlu.model). Parsing never imports this module or scikit-learn.

Costs kept down: every text is tokenized once (a memo shared by both models), the logistic regression runs
with one BLAS thread (more threads only spin-wait on this small problem), and the CRF trains in a forked
process while the intent model fits in this one.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import jieba

from nlu.crf import bio_labels, char_features
from nlu.data_io import Example
from nlu.intent import mask, prep
from nlu.model import NLUModel, model_key
from nlu.multi import SINGLE, is_combined
from nlu.rules import find_rule_entities, resolve
from nlu.tokenizer import default_jieba, tokenize, words_of

CRF_PARAMS = {"c1": 0.05, "c2": 0.05, "max_iterations": 100, "feature.possible_transitions": True}


class TokenMemo:
    """jieba tokens per text, computed once for both models."""

    def __init__(self, tk: jieba.Tokenizer, cache: dict[str, list[tuple[str, int, int]]] | None = None) -> None:
        self.tk = tk
        self.cache = cache if cache is not None else {}

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
    """The scikit-learn objects; predict_proba is the reference the inference model must reproduce."""

    char_vec: object
    word_vec: object
    clf: object

    def features(self, texts: list[str]):  # type: ignore[no-untyped-def]
        from scipy.sparse import hstack

        return hstack([self.char_vec.transform(texts), self.word_vec.transform(texts)]).tocsr()

    def predict_proba(self, texts: list[str]):  # type: ignore[no-untyped-def]
        return self.clf.predict_proba(self.features([prep(t) for t in texts]))

    def state(self) -> dict:
        """Plain lists and dicts: what IntentModel needs, nothing of scikit-learn."""
        char_vocab = {str(k): int(v) for k, v in self.char_vec.vocabulary_.items()}
        offset = len(char_vocab)
        word_vocab = {str(k): int(v) + offset for k, v in self.word_vec.vocabulary_.items()}
        idf = [float(x) for x in self.char_vec.idf_] + [float(x) for x in self.word_vec.idf_]
        coef = [tuple(float(x) for x in row) for row in self.clf.coef_.T]
        return {"char_vocab": char_vocab, "word_vocab": word_vocab, "idf": idf, "coef": coef,
                "bias": [float(x) for x in self.clf.intercept_], "classes": [str(c) for c in self.clf.classes_]}


def fit_intent(examples: list[Example], memo: TokenMemo) -> FittedIntent:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    texts, labels = intent_samples(examples)
    char_vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    word_vec = TfidfVectorizer(analyzer=memo.words, sublinear_tf=True, min_df=2)
    features = hstack([char_vec.fit_transform(texts), word_vec.fit_transform(texts)]).tocsr()
    # newton-cg reaches the optimum of the same objective in a few steps (lbfgs stopped short of it at
    # its tolerance, with more CPU): same model, fitted closer.
    clf = LogisticRegression(C=20.0, max_iter=3000, solver="newton-cg")
    with threadpool_limits(limits=1, user_api="blas"):
        clf.fit(features, labels)
    for vec in (char_vec, word_vec):
        if hasattr(vec, "stop_words_"):
            del vec.stop_words_  # every pruned n-gram: not needed to predict
    word_vec.analyzer = _Words(memo.tk)  # drop the training memo; new texts are tokenized as at parse time
    return FittedIntent(char_vec, word_vec, clf)


class _Words:
    def __init__(self, tk: jieba.Tokenizer) -> None:
        self.tk = tk

    def __call__(self, text: str) -> list[str]:
        return words_of(tokenize(text, self.tk))


def crf_training_data(examples: list[Example], memo: TokenMemo) -> tuple[list[list[dict]], list[list[str]]]:
    xs, ys = [], []
    for ex in examples:
        rules = resolve(find_rule_entities(ex.text))
        xs.append(char_features(ex.text, memo.tokens(ex.text), rules))
        ys.append(bio_labels(ex.text, ex.entities))
    return xs, ys


def fit_crf(examples: list[Example], memo: TokenMemo) -> bytes:
    """CRFsuite's model file, as bytes (the same trainer and parameters sklearn-crfsuite used)."""
    import pycrfsuite

    trainer = pycrfsuite.Trainer(algorithm="lbfgs", params=CRF_PARAMS, verbose=False)
    for xseq, yseq in zip(*crf_training_data(examples, memo), strict=True):
        trainer.append(xseq, yseq)
    fd, path = tempfile.mkstemp(suffix=".crfsuite")
    os.close(fd)
    try:
        trainer.train(path, holdout=-1)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def _fit_crf_in_child(examples: list[Example], cache: dict) -> bytes:
    return fit_crf(examples, TokenMemo(default_jieba(), cache))


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

    def to_model(self) -> NLUModel:
        return NLUModel.build(self.header, self.intent.state(), self.crf_bytes, dict(self.jieba.FREQ),
                              self.jieba.total, self.combo.state() if self.combo else None)


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def train_model(examples: list[Example], data_digest: str = "", parallel: bool = True) -> Trained:
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    base = default_jieba()
    memo = TokenMemo(base)
    for text in intent_samples(examples)[0] + [ex.text for ex in examples]:
        memo.tokens(text)
    single, combos = split_combined(examples)
    if parallel and sys.platform.startswith("linux"):
        # fork (safe on Linux only): the child starts with jieba and the token memo already in memory.
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            crf_future = pool.submit(_fit_crf_in_child, single, memo.cache)
            intent = fit_intent(single, memo)
            combo = fit_intent(combos, memo) if combos else None
            crf_bytes = crf_future.result()
    else:
        intent = fit_intent(single, memo)
        combo = fit_intent(combos, memo) if combos else None
        crf_bytes = fit_crf(single, memo)
    cpu, wall = _cpu_seconds() - cpu0, time.perf_counter() - wall0
    from sklearn import __version__ as sklearn_version

    header = {"key": model_key(data_digest), "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "n_examples": len(examples), "train_cpu_seconds": round(cpu, 2),
              "trained_with": {"scikit-learn": sklearn_version, "python": platform.python_version()}}
    return Trained(intent, crf_bytes, base, header, len(examples), cpu, wall, combo)
