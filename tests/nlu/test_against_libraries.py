"""Our amount and time normalizers are at least as good as jionlp / cn2an in every category of the
hand-written cases (nlu/data/normalizer_cases.yml), and close to right overall."""

from __future__ import annotations

import pytest

from nlu.compare import compare, load_cases, value_text

REPORT = compare()
ROWS = [(kind, category, row) for kind, categories in REPORT.items() for category, row in categories.items()]


@pytest.mark.parametrize(("kind", "category", "row"), ROWS, ids=[f"{k}-{c}" for k, c, _ in ROWS])
def test_ours_at_least_as_good_as_each_library(kind, category, row):
    assert row["ours"] >= row["jionlp"], row["ours_wrong"]
    if "cn2an" in row:
        assert row["ours"] >= row["cn2an"], row["ours_wrong"]


@pytest.mark.parametrize(("kind", "goal"), [("amount", 0.95), ("time", 0.92)])
def test_overall_goal(kind, goal):
    categories = REPORT[kind]
    total = sum(row["n"] for row in categories.values())
    overall = sum(row["ours"] * row["n"] for row in categories.values()) / total
    assert overall >= goal, [line for row in categories.values() for line in row["ours_wrong"]]


def test_every_category_has_cases_and_the_libraries_lose_somewhere():
    """The comparison is not vacuous: each category has cases, and each library misses some."""
    doc = load_cases()
    assert all(len(cases) >= 5 for kind in ("amount", "time") for cases in doc[kind].values())
    assert min(row["jionlp"] for _, _, row in ROWS) < 0.5
    assert min(row["cn2an"] for _, _, row in ROWS if "cn2an" in row) < 0.5


def test_value_text_makes_numbers_comparable():
    assert value_text(35000.0) == "35000"
    assert value_text({"from": 20000, "to": 30000.0}) == "20000/30000"
