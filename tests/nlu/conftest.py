from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crmbot.config import NLUSettings
from nlu import load_parser

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)  # a Friday


@pytest.fixture(scope="session")
def model_path(nlu_model_path) -> str:
    """The suite's one trained model file (tests/conftest.py); parsers here are separate instances."""
    return str(nlu_model_path)


@pytest.fixture(scope="session")
def parser(model_path):
    """A parser of its own over the session's one trained model file."""
    return load_parser(NLUSettings(model_path=model_path), TZ, train_if_missing=False)
