"""Dialog fixtures live in tests/conftest.py (nlu_parser, demo_runtime_for) so every package shares one model."""

from tests.conftest import DEMO_NOW

__all__ = ["DEMO_NOW"]
