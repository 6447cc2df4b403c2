"""nlu.fitting computes scikit-learn's model without importing it: the same TF-IDF features, and the optimum of
the same logistic-regression objective (scikit-learn, run here to a tight tolerance, is the reference)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from nlu.data_io import load_training
from nlu.fitting import TfidfBlocks, fit_logistic
from nlu.intent import char_grams
from nlu.tokenizer import default_jieba, tokenize, words_of
from nlu.training import intent_samples, split_combined

sk_text = pytest.importorskip("sklearn.feature_extraction.text")
sk_linear = pytest.importorskip("sklearn.linear_model")


@pytest.fixture(scope="module")
def samples() -> tuple[list[str], list[str]]:
    """Every third single-job training example (written and masked): all intents, a quick fit."""
    single, _ = split_combined(load_training(None))
    return intent_samples(single[::3])


@pytest.fixture(scope="module")
def words():  # type: ignore[no-untyped-def]
    tk = default_jieba()
    return lambda text: words_of(tokenize(text, tk))


def sklearn_features(texts: list[str], words, fit_texts: list[str]) -> sparse.csr_matrix:  # type: ignore[no-untyped-def]
    char_vec = sk_text.TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    word_vec = sk_text.TfidfVectorizer(analyzer=words, sublinear_tf=True, min_df=2)
    char_vec.fit(fit_texts)
    word_vec.fit(fit_texts)
    return sparse.hstack([char_vec.transform(texts), word_vec.transform(texts)]).tocsr()


def test_tfidf_is_scikit_learns_feature_for_feature(samples, words) -> None:  # type: ignore[no-untyped-def]
    texts, _ = samples
    ours = TfidfBlocks([char_grams, words], min_df=2)
    fitted = ours.fit_transform(texts)
    unseen = ["下周三去拜访华为王总", "", "   ", "全是没见过的字龘靐", "a  b\tc"]
    for got, want in ((fitted, sklearn_features(texts, words, texts)),
                      (ours.transform(unseen), sklearn_features(unseen, words, texts))):
        assert got.shape == want.shape
        assert abs(got - want).max() < 1e-12


def test_logistic_regression_reaches_scikit_learns_optimum(samples, words) -> None:  # type: ignore[no-untyped-def]
    texts, labels = samples
    features = TfidfBlocks([char_grams, words], min_df=2).fit_transform(texts)
    ours = fit_logistic(features, labels, C=20.0)
    theirs = sk_linear.LogisticRegression(C=20.0, solver="newton-cg", tol=1e-10, max_iter=500).fit(features, labels)
    assert ours.classes == [str(c) for c in theirs.classes_]
    assert len(ours.classes) > 20
    # scikit-learn centres the intercepts; the softmax does not care, the coefficients are unique
    assert np.abs(ours.coef - theirs.coef_.T).max() < 1e-3
    assert np.abs(ours.predict_proba(features) - theirs.predict_proba(features)).max() < 1e-4


def test_two_classes_are_one_sigmoid_as_in_scikit_learn(samples, words) -> None:  # type: ignore[no-untyped-def]
    texts, labels = samples
    binary = ["log_visit" if label == "log_visit" else "other" for label in labels]
    features = TfidfBlocks([char_grams, words], min_df=2).fit_transform(texts)
    ours = fit_logistic(features, binary, C=5.0)
    theirs = sk_linear.LogisticRegression(C=5.0, solver="newton-cg", tol=1e-10, max_iter=500).fit(features, binary)
    assert ours.coef.shape == (features.shape[1], 1)
    assert np.abs(ours.coef[:, 0] - theirs.coef_[0]).max() < 1e-3
    assert abs(ours.intercept[0] - theirs.intercept_[0]) < 1e-3
    assert np.abs(ours.predict_proba(features) - theirs.predict_proba(features)).max() < 1e-4


def test_one_intent_is_refused() -> None:
    features = sparse.csr_matrix(np.eye(3))
    with pytest.raises(ValueError):
        fit_logistic(features, ["greet"] * 3, C=1.0)



def test_counted_rows_are_the_repeated_rows(samples, words) -> None:  # type: ignore[no-untyped-def]
    """Training merges repeated samples into one counted row: the same features and the same optimum."""
    texts, labels = samples
    repeated_texts, repeated_labels = texts[:400] * 2 + texts[400:], labels[:400] * 2 + labels[400:]
    counts = [2] * 400 + [1] * (len(texts) - 400)
    merged, repeated = TfidfBlocks([char_grams, words]), TfidfBlocks([char_grams, words])
    merged_x, repeated_x = merged.fit_transform(texts, counts), repeated.fit_transform(repeated_texts)
    assert np.abs(merged.idf - repeated.idf).max() < 1e-12
    assert abs(merged_x - repeated_x[400:]).max() < 1e-12
    a = fit_logistic(merged_x, labels, C=20.0, counts=counts, tol=1e-8)
    b = fit_logistic(repeated_x, repeated_labels, C=20.0, tol=1e-8)
    assert np.abs(a.coef - b.coef).max() < 1e-5
    assert np.abs(a.predict_proba(merged_x) - b.predict_proba(merged_x)).max() < 1e-6
    unmerged = fit_logistic(merged_x, labels, C=20.0, tol=1e-8)  # the counts do matter
    assert np.abs(unmerged.coef - a.coef).max() > 1e-3
