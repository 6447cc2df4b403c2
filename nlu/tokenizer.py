"""JiebaTokenizer: jieba with our CRM user dictionary, one dictionary per parser.

A pristine process-wide jieba instance serves training and the intent classifier's word features, so a
model never depends on which names some parser was fed before. Each JiebaTokenizer copies it and adds the
CRM names it is given (parse-time tokens for the CRF), so lookups never leak between parsers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)
_lock = threading.Lock()
_instance: jieba.Tokenizer | None = None


def get_jieba() -> jieba.Tokenizer:
    """The pristine private jieba.Tokenizer (not jieba.dt, so nothing leaks into other packages)."""
    global _instance
    with _lock:
        if _instance is None:
            tk = jieba.Tokenizer()
            tk.initialize()
            _instance = tk
    return _instance


def copy_of_base() -> jieba.Tokenizer:
    """A jieba instance with the base dictionary, ready at once (copying beats reloading the cache)."""
    base = get_jieba()
    tk = jieba.Tokenizer()
    tk.FREQ = dict(base.FREQ)
    tk.total = base.total
    tk.initialized = True
    return tk


def tokenize(text: str, tk: jieba.Tokenizer | None = None) -> list[tuple[str, int, int]]:
    """(word, start, end) triples; whitespace tokens dropped."""
    return [t for t in (tk or get_jieba()).tokenize(text) if not t[0].isspace()]


def words(text: str) -> list[str]:
    """Word unigrams + bigrams for the intent classifier (module-level so it pickles)."""
    toks = [t[0] for t in tokenize(text)]
    return toks + [a + "|" + b for a, b in zip(toks, toks[1:], strict=False)]


class JiebaTokenizer:
    name = "JiebaTokenizer"

    def __init__(self) -> None:
        self._jieba: jieba.Tokenizer | None = None

    @property
    def jieba(self) -> jieba.Tokenizer:
        if self._jieba is None:
            self._jieba = copy_of_base()
        return self._jieba

    def add_words(self, words: Iterable[str]) -> None:
        for word in words:
            word = word.strip()
            if word:
                self.jieba.add_word(word)  # no frequency: jieba computes one that keeps the word whole

    def train(self, examples: list) -> None:
        get_jieba()

    def process(self, message: dict) -> None:
        message["tokens"] = tokenize(message["work_text"], self.jieba)
