"""Train, save and load the local model (a pickle keyed by MODEL_VERSION and the training-data hash)."""

from __future__ import annotations

import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np

from nlu.crf import CRFEntityExtractor
from nlu.data_io import Example, data_hash, load_training
from nlu.intent import IntentClassifier
from nlu.tokenizer import get_jieba
from nlu.version import MODEL_VERSION


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train_model(examples: list[Example], data_digest: str = "") -> dict:
    random.seed(0)
    np.random.seed(0)
    get_jieba()
    started = time.perf_counter()
    intent = IntentClassifier()
    intent.train(examples)
    crf = CRFEntityExtractor()
    crf.train(examples)
    return {"version": MODEL_VERSION, "data_hash": data_digest, "intent": intent, "crf": crf,
            "train_seconds": time.perf_counter() - started, "n_examples": len(examples)}


def save_model(model: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file


def load_or_train(path: Path, data_dir: str | None) -> dict:
    digest = data_hash(data_dir)
    if path.exists():
        try:
            with path.open("rb") as fh:
                model = pickle.load(fh)
            if model.get("version") == MODEL_VERSION and model.get("data_hash") == digest:
                return model
            _progress(f"NLU 模型已过期，重新训练 / model stale, retraining: {path}")
        except Exception as exc:  # a corrupt or incompatible pickle: retrain
            _progress(f"NLU 模型无法读取，重新训练 / unreadable model ({exc}), retraining")
    else:
        _progress(f"NLU 模型不存在，正在训练 / no model yet, training: {path}")
    model = train_model(load_training(data_dir), digest)
    save_model(model, path)
    _progress(f"NLU 模型训练完成 / trained in {model['train_seconds']:.1f}s")
    return model
