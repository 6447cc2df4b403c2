"""The `nlu:` section of config.yml. Paths arrive resolved: the application config resolves them against
the config file's folder before the NLU sees them (nlu never reads the application config)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class NLUSettings(Section):
    backend: Literal["local", "rasa"] = "local"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 3.0
    # Below this calibrated confidence the top intent becomes out_of_scope (ranking kept).
    threshold: float = Field(0.4, ge=0.0, le=1.0)
    model_path: str = "var/nlu-model.pkl"
    data_dir: str = ""  # empty: the training data shipped in nlu/data
    pipeline: list[str] = Field(
        default_factory=lambda: [
            "JiebaTokenizer",
            "IntentClassifier",
            "RuleEntityExtractor",
            "GazetteerEntityExtractor",
            "CRFEntityExtractor",
            "TimeNormalizer",
            "AmountNormalizer",
        ]
    )
