"""jieba's dictionary through our plain-pickle cache: the same dictionary, and a bad cache is never trusted."""

from __future__ import annotations

import pickle
from pathlib import Path

import jieba
import pytest

from nlu import plain_pickle, tokenizer


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tokenizer.tempfile, "gettempdir", lambda: str(tmp_path))
    return tmp_path


def test_cached_dictionary_is_jiebas_own(cache_dir: Path) -> None:
    built = tokenizer._load_default()
    (cache,) = cache_dir.glob("crmbot-jieba-*.pickle")
    assert cache.stat().st_mode & 0o077 == 0  # private to this user
    loaded = tokenizer._load_default()
    reference = jieba.Tokenizer()
    reference.initialize()
    assert loaded.FREQ == built.FREQ == reference.FREQ and loaded.total == reference.total
    assert [t[0] for t in tokenizer.tokenize("下周四去华为见林总", loaded)] == \
        [t[0] for t in tokenizer.tokenize("下周四去华为见林总", reference)]


@pytest.mark.parametrize("content", [
    plain_pickle.dumps({"key": ["0.0.1"], "freq": {"华为": 1}, "total": 1}),  # another jieba / dict.txt
    pickle.dumps({"key": None, "freq": pickle.PickleError}),  # names a class: never loaded
    b"not a pickle",
])
def test_a_stale_or_foreign_cache_falls_back_to_jieba(cache_dir: Path, content: bytes) -> None:
    tokenizer._load_default()
    (cache,) = cache_dir.glob("crmbot-jieba-*.pickle")
    cache.write_bytes(content)
    loaded = tokenizer._load_default()
    assert len(loaded.FREQ) > 100_000 and loaded.FREQ.get("华为", 0) > 1
    assert plain_pickle.loads(cache.read_bytes())["total"] == loaded.total  # rewritten
