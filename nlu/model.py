"""The inference-only model file: a header line saying what it was built from, then plain Python values.

Layout: MAGIC, one JSON header line, then a pickle holding only builtins (dicts, lists, tuples, str, bytes,
numbers): the intent model's numbers, CRFsuite's own model bytes and the jieba dictionary it was trained with.
Unpickling refuses any class, so loading imports no scikit-learn, scipy or numpy and runs no foreign code.
The header's `key` lists everything that changes predictions; a file whose key differs is stale and is
retrained (`crmbot chat`, tests) or refused with a message naming `crmbot nlu train` (`crmbot run`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jieba

from nlu import ModelMissing, plain_pickle
from nlu import messages as NM
from nlu.crf import CRFTagger
from nlu.data_io import data_hash
from nlu.intent import IntentModel
from nlu.tokenizer import jieba_from, tokenize, words_of
from nlu.version import MODEL_VERSION

MAGIC = b"crmbot-nlu-model\n"
FORMAT_VERSION = 1


class ModelUnreadable(ValueError):
    pass


LIBRARIES = ("jieba", "python-crfsuite")  # their code runs at parse time on the saved numbers


def library_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"jieba": jieba.__version__, "python-crfsuite": version("python-crfsuite")}


def model_key(data_digest: str) -> dict[str, object]:
    """Everything a saved model's predictions depend on besides its own bytes."""
    return {"format": FORMAT_VERSION, "features": MODEL_VERSION, "data": data_digest, **library_versions()}


def stale_reason(saved: dict, current: dict) -> str | None:
    """A Chinese reason why a model with key `saved` must not serve under `current`, or None."""
    reasons = []
    for name, label in (("format", NM.STALE_FORMAT), ("features", NM.STALE_FEATURES)):
        if saved.get(name) != current[name]:
            reasons.append(label.format(old=saved.get(name), new=current[name]))
    if saved.get("data") != current["data"]:
        reasons.append(NM.STALE_DATA)
    for name in LIBRARIES:
        if saved.get(name) != current[name]:
            reasons.append(NM.STALE_LIBRARY.format(name=name, old=saved.get(name), new=current[name]))
    return "；".join(reasons) or None


@dataclass
class NLUModel:
    header: dict
    intent: IntentModel
    crf: CRFTagger
    jieba: jieba.Tokenizer  # the pristine dictionary the model was trained with
    # Several jobs in one message: a combined label (log_visit+set_reminder) or "single" (nlu.multi).
    combo: IntentModel | None = None

    @classmethod
    def build(cls, header: dict, intent_state: dict, crf_bytes: bytes, freq: dict[str, int],
              total: int, combo_state: dict | None = None) -> NLUModel:
        base = jieba_from(freq, total)

        def words(text: str) -> list[str]:
            return words_of(tokenize(text, base))

        combo = IntentModel.from_state(combo_state, words) if combo_state else None
        return cls(header, IntentModel.from_state(intent_state, words), CRFTagger(crf_bytes), base, combo)

    def to_bytes(self) -> bytes:
        return model_bytes(self.header, self.intent.state(), self.crf.model_bytes,
                           self.combo.state() if self.combo else None, self.jieba.FREQ, self.jieba.total)

    @classmethod
    def from_bytes(cls, raw: bytes) -> NLUModel:
        header, payload = _split(raw)
        if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
            raise ModelUnreadable("payload checksum mismatch (truncated or modified file)")
        try:
            state = plain_pickle.loads(payload)
            return cls.build(header, state["intent"], state["crf"], state["jieba"]["freq"], state["jieba"]["total"],
                             state.get("combo"))
        except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as exc:
            raise ModelUnreadable(f"{type(exc).__name__}: {exc}") from exc


def model_bytes(header: dict, intent_state: dict, crf_bytes: bytes, combo_state: dict | None,
                freq: dict[str, int], total: int) -> bytes:
    """The model file's bytes, from the plain values (training saves without building the model first)."""
    payload = plain_pickle.dumps({"intent": intent_state, "crf": crf_bytes, "combo": combo_state,
                                  "jieba": {"freq": freq, "total": total}})
    header = {**header, "payload_sha256": hashlib.sha256(payload).hexdigest()}
    return MAGIC + json.dumps(header, ensure_ascii=False).encode() + b"\n" + payload


def _split(raw: bytes) -> tuple[dict, bytes]:
    if not raw.startswith(MAGIC):
        raise ModelUnreadable("not a crmbot NLU model file (an old pickle?)")
    end = raw.find(b"\n", len(MAGIC))
    if end < 0:
        raise ModelUnreadable("no header line")
    try:
        header = json.loads(raw[len(MAGIC) : end])
    except ValueError as exc:
        raise ModelUnreadable(f"bad header: {exc}") from exc
    if not isinstance(header, dict):
        raise ModelUnreadable("bad header")
    return header, raw[end + 1 :]


def read_header(path: Path) -> dict:
    """Only the header (cheap): what the model was built from and how it scored."""
    with path.open("rb") as fh:
        head = fh.read(len(MAGIC) + 64 * 1024)
    return _split(head)[0]


def save_model(model: NLUModel | bytes, path: Path) -> None:
    """Write the model (or its bytes) atomically."""
    raw = model if isinstance(model, bytes) else model.to_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")  # one per writer
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_model(path: Path, data_dir: str | None, *, train_if_missing: bool) -> NLUModel:
    """The saved model when it is fresh; else train and save it, or raise ModelMissing."""
    current = model_key(data_hash(data_dir))
    if not path.exists():
        problem = NM.MODEL_MISSING.format(path=path)
    else:
        try:
            raw = path.read_bytes()
            header, _ = _split(raw)
            reason = stale_reason(header.get("key", {}), current)
            if reason is None:
                return NLUModel.from_bytes(raw)
            problem = NM.MODEL_STALE.format(path=path, reason=reason)
        except (OSError, ModelUnreadable) as exc:
            problem = NM.MODEL_UNREADABLE.format(path=path, detail=exc)
    if not train_if_missing:
        raise ModelMissing(problem)
    _progress(NM.TRAINING.format(problem=problem))
    from nlu.data_io import load_training
    from nlu.training import train_model

    trained = train_model(load_training(data_dir), current["data"])
    model = trained.to_model()
    save_model(model, path)
    _progress(NM.TRAINED.format(n=trained.n_examples, cpu=trained.cpu_seconds, wall=trained.wall_seconds, path=path))
    return model
