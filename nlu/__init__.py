"""Chinese CRM message understanding: text -> intent + normalized entities (Rasa /model/parse shape)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from nlu.version import MODEL_VERSION

if TYPE_CHECKING:
    from nlu.settings import NLUSettings

__all__ = ["MODEL_VERSION", "ModelMissing", "load_parser"]


class ModelMissing(RuntimeError):
    """No usable local model (missing, unreadable or stale); str() is a Chinese line naming `crmbot nlu train`."""

    def __init__(self, problem: str) -> None:
        from nlu.messages import RUN_TRAIN

        super().__init__(f"{problem}。{RUN_TRAIN}")
        self.problem = problem  # what is wrong with the file, without the advice


def load_parser(settings: NLUSettings, tz: ZoneInfo, *, train_if_missing: bool = True):
    """Local backend: load the saved model; 'rasa' backend: a client of a Rasa server.

    The paths in `settings` are used as given: the caller resolves them (crmbot.config does, against
    the config file's folder), so the NLU never guesses a base folder.

    With train_if_missing=False (a server: `crmbot run`) a missing, unreadable or stale model raises
    ModelMissing instead of training; otherwise it is trained and saved first (`crmbot chat`, tests).
    jionlp and cn2an load on the first time / number expression, not here (nlu.timeparse.warm_up pays it early).
    """
    if settings.backend == "rasa":
        from nlu.rasa_backend import RasaParser

        return RasaParser(settings.rasa_url, settings.rasa_timeout_seconds, tz, settings.threshold)
    from nlu.model import load_model
    from nlu.parser import LocalParser

    data_dir = str(settings.data_dir) if settings.data_dir else None
    model = load_model(Path(settings.model_path), data_dir, train_if_missing=train_if_missing)
    parser = LocalParser(model, tz, settings.threshold)
    # jieba's prefix dict and the model are ~1M long-lived objects: keep them out of the cyclic GC,
    # whose full passes over them were the parse-latency outliers.
    gc.collect()
    gc.freeze()
    return parser
