"""Chinese CRM message understanding: text -> intent + normalized entities (Rasa /model/parse shape)."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from nlu.version import MODEL_VERSION

if TYPE_CHECKING:
    from crmbot.config import NLUSettings

__all__ = ["MODEL_VERSION", "load_parser"]


def resolve_path(relative: str):
    from pathlib import Path

    from crmbot.config import REPO_ROOT

    p = Path(relative)
    return p if p.is_absolute() else REPO_ROOT / p


def load_parser(settings: NLUSettings, tz: ZoneInfo):
    """Local backend: load (or train and save) the model; 'rasa' backend: a client of a Rasa server."""
    from nlu.timeparse import warm_up

    warm_up()
    if settings.backend == "rasa":
        from nlu.rasa_backend import RasaParser

        return RasaParser(settings.rasa_url, settings.rasa_timeout_seconds, tz, settings.threshold)
    from nlu.model import load_or_train
    from nlu.parser import LocalParser

    data_dir = str(resolve_path(settings.data_dir)) if settings.data_dir else None
    model = load_or_train(resolve_path(settings.model_path), data_dir)
    parser = LocalParser(model, tz, settings.threshold, settings.pipeline)
    parser.parse("下周四去华为见林总", None)  # warm jieba, sklearn and the CRF
    # jieba's prefix dict and the model are ~1M long-lived objects: keep them out of the cyclic GC,
    # whose full passes over them were the parse-latency outliers.
    gc.collect()
    gc.freeze()
    return parser
