"""IntentClassifier: char 1-3 grams + jieba word 1-2 grams, TF-IDF, logistic regression."""

from __future__ import annotations

import re

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlu.tokenizer import words

MAX_CLASSIFY_CHARS = 500
_WHITE_SPACES = re.compile(r"\s\s+")
RANKING_SIZE = 10


class IntentClassifier:
    name = "IntentClassifier"

    def __init__(self, threshold: float = 0.4) -> None:
        self.threshold = threshold
        self.char_vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
        self.word_vec = TfidfVectorizer(analyzer=words, sublinear_tf=True, min_df=2)
        self.clf = LogisticRegression(C=20.0, max_iter=3000)

    def _features(self, texts: list[str]):
        return hstack([self.char_vec.transform(texts), self.word_vec.transform(texts)]).tocsr()

    def train(self, examples: list) -> None:
        # Each example twice: as written and with its entities masked, so unseen names do not matter.
        texts, labels = [], []
        for e in examples:
            texts.append(_prep(e.text))
            labels.append(e.intent)
            if e.entities:
                texts.append(_prep(mask(e.text, e.entities)))
                labels.append(e.intent)
        self.char_vec.fit(texts)
        self.word_vec.fit(texts)
        self.clf.fit(self._features(texts), labels)
        self._compile()

    def _compile(self) -> None:
        """Plain dict/numpy copies of the fitted model: sklearn's per-call validation costs ~1 ms."""
        for vec in (self.char_vec, self.word_vec):
            if hasattr(vec, "stop_words_"):
                del vec.stop_words_  # every pruned n-gram: only bloats the pickle
        self._char_vocab = dict(self.char_vec.vocabulary_)
        self._word_vocab = {k: v + len(self._char_vocab) for k, v in self.word_vec.vocabulary_.items()}
        self._idf = np.concatenate([self.char_vec.idf_, self.word_vec.idf_])
        self._coef = np.ascontiguousarray(self.clf.coef_.T)  # features x classes
        self._bias = self.clf.intercept_.copy()
        self._classes = [str(c) for c in self.clf.classes_]

    def _tfidf(self, grams: list[str], vocab: dict[str, int]) -> tuple[list[int], np.ndarray]:
        counts: dict[int, int] = {}
        for g in grams:
            idx = vocab.get(g)
            if idx is not None:
                counts[idx] = counts.get(idx, 0) + 1
        if not counts:
            return [], np.zeros(0)
        idx = list(counts)
        vals = (1.0 + np.log(np.fromiter(counts.values(), float, len(counts)))) * self._idf[idx]
        return idx, vals / np.linalg.norm(vals)

    def probabilities(self, text: str) -> np.ndarray:
        """Same numbers as clf.predict_proba on the TF-IDF features, computed directly."""
        text = _prep(text)
        chars = _WHITE_SPACES.sub(" ", text)  # exactly what sklearn's char analyzer does
        grams = [chars[i : i + n] for n in (1, 2, 3) for i in range(len(chars) - n + 1)]
        ci, cv = self._tfidf(grams, self._char_vocab)
        wi, wv = self._tfidf(words(text), self._word_vocab)
        scores = self._bias + cv @ self._coef[ci] + wv @ self._coef[wi]
        if len(self._classes) == 2:  # binary LR (only in tiny tests): sigmoid of one score
            p1 = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.array([1.0 - p1, p1])
        scores = scores - scores.max()
        exp = np.exp(scores)
        return exp / exp.sum()

    def rank(self, text: str) -> list[dict]:
        probs = self.probabilities(text)
        order = np.argsort(-probs)[:RANKING_SIZE]
        return [{"name": self._classes[i], "confidence": float(probs[i])} for i in order]

    def process(self, message: dict) -> None:
        text = mask(message["text"][:MAX_CLASSIFY_CHARS], message.get("entities", []))
        if not text.strip():
            message["intent"] = {"name": "out_of_scope", "confidence": 0.0}
            message["intent_ranking"] = []
            return
        ranking = self.rank(text)
        top = ranking[0]
        if top["confidence"] < self.threshold:
            message["intent"] = {"name": "out_of_scope", "confidence": top["confidence"]}
        else:
            message["intent"] = dict(top)
        message["intent_ranking"] = ranking


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


def _prep(text: str) -> str:
    return text.lower().strip()
