"""The intent models' fit without scikit-learn: TF-IDF and L2-regularised logistic regression (Newton-CG).

Why not scikit-learn: importing it (scipy.stats, scipy.optimize, its own utils) cost ~1 s of the ~9 s that
`crmbot nlu train` took, for two small fits. This module needs numpy and scipy.sparse only, and computes the
same model: the vectoriser reproduces TfidfVectorizer(sublinear_tf=True, min_df=2) feature for feature, and
the classifier minimises LogisticRegression(C=...)'s objective (multinomial cross-entropy + ||W||² / 2C, the
intercept not penalised; binary: one sigmoid), which has one optimum. tests/nlu/test_fitting.py pins both
against scikit-learn.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
from scipy import sparse

Analyzer = Callable[[str], list[str]]


class TfidfBlocks:
    """Several analyzers' TF-IDF blocks side by side, one feature space (block after block).

    Each block is what TfidfVectorizer(analyzer=..., sublinear_tf=True, min_df=min_df) gives: terms seen in at
    least min_df texts, in sorted order; smooth idf = ln((1 + n) / (1 + df)) + 1; tf = 1 + ln(count); each block
    row L2-normalised on its own."""

    def __init__(self, analyzers: Iterable[Analyzer], min_df: int = 2,
                 bags: dict[tuple[int, str], Counter[str]] | None = None) -> None:
        self.analyzers = list(analyzers)
        self.min_df = min_df
        self.vocabs: list[dict[str, int]] = []
        self.idf = np.zeros(0)
        self.bags = bags  # (block, text) -> term counts, shared by fits over overlapping texts

    def _bags(self, texts: list[str], cache: dict[tuple[int, str], Counter[str]] | None) -> list[list[Counter[str]]]:
        cache = {} if cache is None else cache
        blocks = []
        for b, analyze in enumerate(self.analyzers):
            bags = []
            for t in texts:
                bag = cache.get((b, t))
                if bag is None:
                    bag = cache[b, t] = Counter(analyze(t))
                bags.append(bag)
            blocks.append(bags)
        return blocks

    def fit_transform(self, texts: list[str], counts: list[int] | None = None) -> sparse.csr_matrix:
        """Fit on the texts, each counted counts[i] times (as if repeated), and return one row per text."""
        counts = counts or [1] * len(texts)
        n = sum(counts)
        bags = self._bags(texts, self.bags)
        self.vocabs, idf, offset = [], [], 0
        for block in bags:
            df: Counter[str] = Counter()
            for bag, count in zip(block, counts, strict=True):
                for g in bag:
                    df[g] += count
            terms = sorted(g for g, c in df.items() if c >= self.min_df)
            self.vocabs.append({g: offset + i for i, g in enumerate(terms)})
            idf.extend(math.log((1 + n) / (1 + df[g])) + 1.0 for g in terms)
            offset += len(terms)
        self.idf = np.asarray(idf, dtype=np.float64)
        return self._matrix(bags)

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        return self._matrix(self._bags(texts, None))

    def _matrix(self, bags: list[list[Counter[str]]]) -> sparse.csr_matrix:
        indptr, indices, counts, starts = [0], [], [], []
        for row in zip(*bags, strict=True):
            for vocab, bag in zip(self.vocabs, row, strict=True):
                starts.append(len(indices))  # one segment per (text, block): normalised on its own
                present = sorted((i, c) for i, c in zip(map(vocab.get, bag), bag.values(), strict=True)
                                 if i is not None)
                indices.extend(i for i, _ in present)
                counts.extend(c for _, c in present)
            indptr.append(len(indices))
        idx = np.asarray(indices, dtype=np.int32)
        data = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * self.idf[idx]
        seg = np.asarray(starts + [len(indices)], dtype=np.int64)
        lengths = np.diff(seg)
        norms = np.zeros(len(lengths))
        nonempty = lengths > 0
        if nonempty.any():
            norms[nonempty] = np.sqrt(np.add.reduceat(data * data, seg[:-1][nonempty]))
        data /= np.repeat(np.where(norms > 0, norms, 1.0), lengths)
        shape = (len(indptr) - 1, len(self.idf))
        return sparse.csr_matrix((data, idx, np.asarray(indptr, dtype=np.int32)), shape=shape)


class LogisticModel:
    """coef (features × K) and intercept (K); K = 1 for two classes (one sigmoid, as scikit-learn)."""

    def __init__(self, classes: list[str], coef: np.ndarray, intercept: np.ndarray, n_iter: int) -> None:
        self.classes = classes
        self.coef = coef
        self.intercept = intercept
        self.n_iter = n_iter

    def predict_proba(self, features: sparse.csr_matrix) -> np.ndarray:
        return _probabilities(features @ self.coef + self.intercept)


def _probabilities(scores: np.ndarray) -> np.ndarray:
    if scores.shape[1] == 1:
        p1 = 1.0 / (1.0 + np.exp(-scores))
        return np.hstack([1.0 - p1, p1])
    scores = scores - scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


def fit_logistic(features: sparse.csr_matrix, labels: list[str], C: float, counts: list[int] | None = None,
                 tol: float = 1e-6, max_iter: int = 100) -> LogisticModel:
    """Minimise mean cross-entropy + ||W||² / (2·C·n) by Newton's method, each step solved by preconditioned
    conjugate gradients on Hessian-vector products (nothing n × features × K is ever formed). Stops when the
    largest gradient entry is below tol: 100 times closer to the optimum than scikit-learn's default (1e-4).

    The intercept is one more feature that is 1 in every row and is not penalised. Row i stands for counts[i]
    identical samples (n = sum of counts): the same objective as with the repeats, for less work."""
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError("at least two intents are needed to train")
    n, d = features.shape
    k = 1 if len(classes) == 2 else len(classes)
    index = {c: i for i, c in enumerate(classes)}
    y = np.fromiter((index[label] for label in labels), dtype=np.int64, count=n)
    onehot = np.zeros((n, k))
    if k == 1:
        onehot[:, 0] = y
    else:
        onehot[np.arange(n), y] = 1.0
    repeats = np.asarray(counts if counts is not None else [1] * n, dtype=np.float64)
    weight = (repeats / repeats.sum())[:, None]  # each row's share of the mean
    weight32 = weight.astype(np.float32)
    X = sparse.hstack([features, np.ones((n, 1))], format="csr")
    XT = X.T.tocsr()
    XT_squared = XT.multiply(XT).tocsr()
    # The Newton step is solved in single precision: it only steers the search (the loss and gradient, which
    # decide the step's acceptance, convergence and so the optimum, stay double); half the memory traffic
    X32, XT32 = X.astype(np.float32), XT.astype(np.float32)
    penalty = np.full((d + 1, 1), 1.0 / (C * float(repeats.sum())))
    penalty[d] = 0.0

    def state(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(objective, gradient, probabilities) at w."""
        scores = X @ w
        if k == 1:
            z = scores[:, 0]
            losses = np.logaddexp(0.0, z) - z * onehot[:, 0]
            p = 1.0 / (1.0 + np.exp(-scores))  # P(second class)
        else:
            top = scores.max(axis=1)
            lse = top + np.log(np.exp(scores - top[:, None]).sum(axis=1))
            losses = lse - scores[np.arange(n), y]
            p = np.exp(scores - lse[:, None])
        grad = XT @ ((p - onehot) * weight)
        grad += penalty * w
        return float(losses @ weight[:, 0]) + 0.5 * float(np.vdot(penalty * w, w)), grad, p

    penalty32 = penalty.astype(np.float32)

    def hessian_product(p: np.ndarray, u: np.ndarray) -> np.ndarray:
        a = X32 @ u
        if k == 1:
            a *= p * (1.0 - p)
        else:
            a -= (p * a).sum(axis=1, keepdims=True)
            a *= p
        a *= weight32
        out = XT32 @ a
        out += penalty32 * u
        return out

    w = np.zeros((d + 1, k))
    loss, grad, p = state(w)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (reported below)
        if np.abs(grad).max() <= tol:
            break
        diagonal = XT_squared @ (p * (1.0 - p) * weight) + penalty + 1e-12
        p32 = p.astype(np.float32)
        step = _conjugate_gradient(lambda u, p32=p32: hessian_product(p32, u), grad.astype(np.float32),
                                   diagonal.astype(np.float32)).astype(np.float64)
        slope = float(np.vdot(grad, step))
        t = 1.0
        while True:  # Armijo backtracking; Newton's full step is taken near the optimum
            new_w = w + t * step
            new_loss, new_grad, new_p = state(new_w)
            if new_loss <= loss + 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        w, loss, grad, p = new_w, new_loss, new_grad, new_p
    return LogisticModel(classes, w[:d].copy(), w[d].copy(), iterations)


def _conjugate_gradient(hessian: Callable[[np.ndarray], np.ndarray], grad: np.ndarray, diagonal: np.ndarray,
                        max_iter: int = 200) -> np.ndarray:
    """Approximately solve H·s = -grad by conjugate gradients preconditioned with H's diagonal (TF-IDF features
    differ in scale by orders of magnitude: fewer Hessian products); the forcing term tightens near the optimum."""
    size = float(np.abs(grad).sum())
    stop = min(0.5, math.sqrt(size)) * size
    inverse = 1.0 / diagonal
    s = np.zeros_like(grad)
    r = -grad
    z = inverse * r
    direction = z.copy()
    rz = float(np.vdot(r, z))
    for _ in range(max_iter):
        if float(np.abs(r).sum()) <= stop:
            break
        hd = hessian(direction)
        curvature = float(np.vdot(direction, hd))
        if curvature <= 0.0:
            break
        alpha = rz / curvature
        s += alpha * direction
        r -= alpha * hd
        np.multiply(inverse, r, out=z)
        rz, previous = float(np.vdot(r, z)), rz
        direction *= rz / previous
        direction += z
    return s if s.any() else -grad
