from __future__ import annotations

import numpy as np


def test_fast_path_matches_sklearn(parser):
    clf = parser.intent
    for text in ["华为的电话是多少", "  a  b\tc ", "给万科物业下个单 门禁系统3套", "", "😀", "x" * 600]:
        prepped = text.lower().strip()
        expected = clf.clf.predict_proba(clf._features([prepped]))[0]
        assert np.allclose(clf.probabilities(text), expected, atol=1e-9)


def test_low_confidence_keeps_ranking(parser):
    old = parser.intent.threshold
    parser.intent.threshold = 1.01
    try:
        result = parser.parse("华为的电话是多少")
        assert result["intent"]["name"] == "out_of_scope"
        assert result["intent_ranking"][0]["name"] == "query_customer"
        assert len(result["intent_ranking"]) == 10
    finally:
        parser.intent.threshold = old
