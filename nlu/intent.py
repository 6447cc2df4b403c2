"""Intent classification at parse time: char 1-3 grams + jieba word 1-2 grams, TF-IDF, logistic regression.

IntentModel holds the fitted numbers as plain Python values (vocabularies, idf weights, coefficient rows), so
loading a model imports neither scikit-learn, scipy nor numpy. nlu.training fits the model (nlu.fitting, numpy)
and converts it; tests/nlu/test_intent.py pins that both give the same probabilities, and
tests/nlu/test_fitting.py that the fit is scikit-learn's TfidfVectorizer + LogisticRegression.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from operator import mul

MAX_CLASSIFY_CHARS = 500
RANKING_SIZE = 10
_WHITE_SPACES = re.compile(r"\s\s+")

MASKS = {name: chr(0xE000 + i) for i, name in enumerate(
    ["customer", "contact", "product", "staff", "member", "time", "amount", "quantity", "phone", "order_id",
     "member_id", "probability", "points", "stage"])}


def mask(text: str, entities: list[dict]) -> str:
    """Replace each entity span by one private-use character standing for its label."""
    out, pos = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        if e["start"] < pos or e["end"] > len(text) or e["entity"] == "stage":
            continue
        out.append(text[pos : e["start"]])
        out.append(MASKS.get(e["entity"], ""))
        pos = e["end"]
    out.append(text[pos:])
    return "".join(out)


def prep(text: str) -> str:
    return text.lower().strip()


def char_grams(text: str) -> list[str]:
    """Exactly what scikit-learn's char analyzer with ngram_range=(1, 3) yields for a prepped text."""
    chars = _WHITE_SPACES.sub(" ", text)
    return [chars[i : i + n] for n in (1, 2, 3) for i in range(len(chars) - n + 1)]


def _tfidf(grams: list[str], vocab: dict[str, int], idf: list[float]) -> tuple[list[int], list[float]]:
    """Sublinear TF x IDF, L2-normalised: one TfidfVectorizer's row, as (feature index, value) pairs."""
    counts: dict[int, int] = {}
    for g in grams:
        idx = vocab.get(g)
        if idx is not None:
            counts[idx] = counts.get(idx, 0) + 1
    if not counts:
        return [], []
    idx = list(counts)
    vals = [(1.0 + math.log(c)) * idf[i] for i, c in zip(idx, counts.values(), strict=True)]
    norm = math.sqrt(sum(v * v for v in vals))
    return idx, [v / norm for v in vals]


class IntentModel:
    def __init__(self, char_vocab: dict[str, int], word_vocab: dict[str, int], idf: list[float],
                 coef: list[tuple[float, ...]], bias: list[float], classes: list[str],
                 words: Callable[[str], list[str]]) -> None:
        self.char_vocab = char_vocab  # feature indices 0..len(char_vocab)-1
        self.word_vocab = word_vocab  # feature indices after the char features
        self.idf = idf
        self.coef = coef  # one row per feature: its weight for each class
        self.bias = bias
        self.classes = classes
        self.words = words

    @classmethod
    def from_state(cls, state: dict, words: Callable[[str], list[str]]) -> IntentModel:
        return cls(state["char_vocab"], state["word_vocab"], state["idf"], state["coef"], state["bias"],
                   state["classes"], words)

    def state(self) -> dict:
        return {"char_vocab": self.char_vocab, "word_vocab": self.word_vocab, "idf": self.idf, "coef": self.coef,
                "bias": self.bias, "classes": self.classes}

    def probabilities(self, text: str) -> list[float]:
        """Same numbers as LogisticRegression.predict_proba on the two TF-IDF blocks, computed directly."""
        text = prep(text)
        ci, cv = _tfidf(char_grams(text), self.char_vocab, self.idf)
        wi, wv = _tfidf(self.words(text), self.word_vocab, self.idf)
        coef = self.coef
        rows = [coef[i] for i in ci] + [coef[i] for i in wi]
        vals = cv + wv
        scores = list(self.bias)
        if rows:  # column k of the rows: every present feature's weight for class k
            columns = zip(*rows, strict=True)
            scores = [b + sum(map(mul, vals, col)) for b, col in zip(scores, columns, strict=True)]
        if len(self.classes) == 2:  # binary LR (only in tiny tests): sigmoid of one score
            p1 = 1.0 / (1.0 + math.exp(-scores[0]))
            return [1.0 - p1, p1]
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        total = sum(exp)
        return [e / total for e in exp]

    def rank(self, text: str) -> list[dict]:
        probs = self.probabilities(text)
        order = sorted(range(len(probs)), key=lambda i: -probs[i])[:RANKING_SIZE]
        return [{"name": self.classes[i], "confidence": probs[i]} for i in order]

    def classify(self, text: str, entities: list[dict], threshold: float) -> tuple[dict, list[dict]]:
        """(intent, ranking) with the entity spans masked; below the threshold the intent is out_of_scope."""
        text = mask(text[:MAX_CLASSIFY_CHARS], entities)
        if not text.strip():
            return {"name": "out_of_scope", "confidence": 0.0}, []
        ranking = self.rank(text)
        top = ranking[0]
        if top["confidence"] < threshold:
            return {"name": "out_of_scope", "confidence": top["confidence"]}, ranking
        return dict(top), ranking
