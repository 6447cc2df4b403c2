"""Chinese CRM message understanding: text -> intent + normalized entities (Rasa /model/parse shape)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from nlu.version import MODEL_VERSION

if TYPE_CHECKING:
    from nlu.settings import NLUSettings

__all__ = ["MODEL_VERSION", "load_parser"]


def load_parser(settings: NLUSettings, tz: ZoneInfo):
    """Local backend: load (or train and save) the model; 'rasa' backend: a client of a Rasa server.

    The paths in `settings` are used as given: the caller resolves them (crmbot.config does, against
    the config file's folder), so the NLU never guesses a base folder.
    """
    from nlu.timeparse import warm_up

    warm_up()
    if settings.backend == "rasa":
        from nlu.rasa_backend import RasaParser

        return RasaParser(settings.rasa_url, settings.rasa_timeout_seconds, tz, settings.threshold)
    from nlu.model import load_or_train
    from nlu.parser import LocalParser

    data_dir = str(settings.data_dir) if settings.data_dir else None
    model = load_or_train(Path(settings.model_path), data_dir)
    parser = LocalParser(model, tz, settings.threshold, settings.pipeline)
    parser.parse("下周四去华为见林总", None)  # warm jieba, sklearn and the CRF
    # jieba's prefix dict and the model are ~1M long-lived objects: keep them out of the cyclic GC,
    # whose full passes over them were the parse-latency outliers.
    gc.collect()
    gc.freeze()
    return parser
