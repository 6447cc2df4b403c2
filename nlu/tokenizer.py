"""jieba tokenization: a pristine dictionary per model, plus a per-parser copy that learns CRM names.

The pristine dictionary serves training and the intent classifier's word features, so a model never depends
on which names some parser was fed. A trained model carries the dictionary it was trained with (see
nlu.model), so loading it skips jieba's own cache (a slow marshal load, rebuilt from dict.txt whenever the
temp folder is cleared); training reads jieba's dictionary through a faster plain-pickle copy of it. Each JiebaTokenizer copies the pristine dictionary and adds the CRM names it is
given (parse-time tokens for the CRF), so lookups never leak between parsers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import jieba

from nlu import plain_pickle

jieba.setLogLevel(logging.WARNING)
_lock = threading.Lock()
_default: jieba.Tokenizer | None = None


def default_jieba() -> jieba.Tokenizer:
    """jieba's shipped dictionary in a private Tokenizer (not jieba.dt, so nothing leaks into other packages)."""
    global _default
    with _lock:
        if _default is None:
            _default = _load_default()
    return _default


def _load_default() -> jieba.Tokenizer:
    """From our plain-pickle copy of jieba's dictionary (3x faster than jieba's marshal cache), else jieba."""
    dict_file = Path(jieba.__file__).resolve().parent / "dict.txt"
    stat = dict_file.stat()
    key = [jieba.__version__, str(dict_file), stat.st_size, stat.st_mtime_ns]
    cache = Path(tempfile.gettempdir()) / f"crmbot-jieba-{os.getuid() if hasattr(os, 'getuid') else 0}.pickle"
    with contextlib.suppress(OSError, ValueError, EOFError, TypeError, KeyError, pickle.UnpicklingError):
        if not hasattr(os, "getuid") or cache.stat().st_uid == os.getuid():  # never another user's file
            saved = plain_pickle.loads(cache.read_bytes())
            if saved["key"] == key:  # type: ignore[index]
                return jieba_from(saved["freq"], saved["total"])  # type: ignore[index]
    tk = jieba.Tokenizer()
    tk.initialize()
    with contextlib.suppress(OSError):
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=cache.name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(plain_pickle.dumps({"key": key, "freq": tk.FREQ, "total": tk.total}))
        os.replace(tmp, cache)
    return tk


def jieba_from(freq: dict[str, int], total: int) -> jieba.Tokenizer:
    """A ready jieba Tokenizer over the given dictionary (the dict is used as is, not copied)."""
    tk = jieba.Tokenizer()
    tk.FREQ = freq
    tk.total = total
    tk.initialized = True
    return tk


def tokenize(text: str, tk: jieba.Tokenizer) -> list[tuple[str, int, int]]:
    """(word, start, end) triples; whitespace tokens dropped."""
    return [t for t in tk.tokenize(text) if not t[0].isspace()]


def words_of(tokens: list[tuple[str, int, int]]) -> list[str]:
    """Word unigrams + bigrams for the intent classifier."""
    toks = [t[0] for t in tokens]
    return toks + [a + "|" + b for a, b in zip(toks, toks[1:], strict=False)]


class JiebaTokenizer:
    """A parser's own copy of the pristine dictionary; CRM names are added and removed one by one."""

    def __init__(self, base: jieba.Tokenizer) -> None:
        self._base = base
        self.jieba = jieba_from(dict(base.FREQ), base.total)
        self._added: dict[str, int] = {}  # name -> the frequency it was given

    def update_words(self, added: Iterable[str], removed: Iterable[str]) -> None:
        tk, base_freq = self.jieba, self._base.FREQ
        for word in removed:
            freq = self._added.pop(word, None)
            if freq is None:
                continue
            # Back to the pristine frequency (0 keeps it a harmless prefix, as jieba's del_word does, but without
            # del_word's process-wide force-split side effect).
            tk.FREQ[word] = base_freq.get(word, 0)
            tk.total -= freq
        for word in sorted(added):  # a word's frequency depends on the words before it: same order everywhere
            if word in self._added:
                continue
            before = tk.total
            tk.add_word(word)  # no frequency: jieba computes one that keeps the word whole
            self._added[word] = tk.total - before

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        return tokenize(text, self.jieba)
