"""JiebaTokenizer: one quiet, process-wide jieba instance with our CRM user dictionary."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)
_lock = threading.Lock()
_instance: jieba.Tokenizer | None = None


def get_jieba() -> jieba.Tokenizer:
    """A private jieba.Tokenizer (not jieba.dt) so our user words do not leak into other packages."""
    global _instance
    with _lock:
        if _instance is None:
            tk = jieba.Tokenizer()
            tk.initialize()
            _instance = tk
    return _instance


def add_words(words: Iterable[str]) -> None:
    tk = get_jieba()
    for w in words:
        w = w.strip()
        if w:
            tk.add_word(w)  # no frequency: jieba computes one that keeps the word whole


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) triples; whitespace tokens dropped."""
    return [t for t in get_jieba().tokenize(text) if not t[0].isspace()]


def words(text: str) -> list[str]:
    """Word unigrams + bigrams for the intent classifier (module-level so it pickles)."""
    toks = [t[0] for t in tokenize(text)]
    return toks + [a + "|" + b for a, b in zip(toks, toks[1:], strict=False)]


class JiebaTokenizer:
    name = "JiebaTokenizer"

    def train(self, examples: list) -> None:
        get_jieba()

    def process(self, message: dict) -> None:
        message["tokens"] = tokenize(message["work_text"])
