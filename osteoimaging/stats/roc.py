"""ROC analysis: curve, AUC with DeLong standard error and CI, paired DeLong test, Youden cut-off.

References
----------
* DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated
  receiver operating characteristic curves: a nonparametric approach. Biometrics
  1988;44(3):837–845. (Structural components V10/V01, their covariance, the z test.)
* Sun X, Xu W. Fast implementation of DeLong's algorithm for comparing the areas under
  correlated receiver operating characteristic curves. IEEE Signal Processing Letters
  2014;21(11):1389–1393. (The O(n log n) mid-rank computation used here.)
* Youden WJ. Index for rating diagnostic tests. Cancer 1950;3(1):32–35.

Conventions: ``y`` is 1 for the positive class (e.g. abnormal bone mass), 0 otherwise; a higher
``score`` means "more likely positive"; ties count one half, as in the Mann–Whitney statistic.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from osteoimaging.errors import InputError


def _check(y, *scores) -> tuple[np.ndarray, list[np.ndarray]]:
    """Binary labels (0/1) and finite scores of the same length, both classes present."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise InputError(f"labels must be one-dimensional, got shape {y.shape}")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:  # True/False compare equal to 1/0
        raise InputError(f"labels must be 0/1, got values {sorted(values)[:5]}")
    y = y.astype(int)
    if y.min() == y.max():
        raise InputError(f"labels have a single class ({y[0]}); ROC needs positives and negatives")
    out = []
    for s in scores:
        s = np.asarray(s, dtype=float)
        if s.shape != y.shape:
            raise InputError(f"score length {s.shape} differs from label length {y.shape}")
        if not np.all(np.isfinite(s)):
            raise InputError("scores contain NaN or infinite values")
        out.append(s)
    return y, out


def roc_curve(y, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical ROC curve: ``(fpr, tpr, thresholds)``, one point per distinct score.

    A case is called positive when ``score >= threshold``. The first point is (0, 0) with
    threshold +inf, the last (1, 1) at the smallest score.
    """
    y, (s,) = _check(y, score)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s_sorted) - 1]
    tp = np.cumsum(y_sorted)[distinct]
    fp = (distinct + 1) - tp
    tpr = np.r_[0.0, tp / y.sum()]
    fpr = np.r_[0.0, fp / (len(y) - y.sum())]
    thresholds = np.r_[np.inf, s_sorted[distinct]]
    return fpr, tpr, thresholds


def _midrank(x: np.ndarray) -> np.ndarray:
    """Mid-ranks (1-based; ties get their average rank), Sun & Xu (2014) eq. (7)."""
    return stats.rankdata(x, method="average")


def _structural_components(y: np.ndarray, scores: list[np.ndarray]):
    """AUCs and DeLong's structural components via the mid-ranks of Sun & Xu (2014).

    For k scores with m positives X and n negatives Y:
    ``V10[r, i] = (T_Z(X_i) - T_X(X_i)) / n``, ``V01[r, j] = 1 - (T_Z(Y_j) - T_Y(Y_j)) / m``,
    ``AUC_r = mean(V10[r]) = mean(V01[r])``.
    """
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    v10 = np.empty((len(scores), m))
    v01 = np.empty((len(scores), n))
    for r, s in enumerate(scores):
        tz = _midrank(s)
        tx = _midrank(s[pos])
        ty = _midrank(s[neg])
        v10[r] = (tz[pos] - tx) / n
        v01[r] = 1.0 - (tz[neg] - ty) / m
    auc = v10.mean(axis=1)
    return auc, v10, v01


def _delong_covariance(v10: np.ndarray, v01: np.ndarray) -> np.ndarray:
    """DeLong (1988) covariance of the AUC estimates: S10/m + S01/n."""
    m, n = v10.shape[1], v01.shape[1]
    s10 = np.atleast_2d(np.cov(v10, ddof=1)) if m > 1 else np.zeros((len(v10),) * 2)
    s01 = np.atleast_2d(np.cov(v01, ddof=1)) if n > 1 else np.zeros((len(v01),) * 2)
    return s10 / m + s01 / n


def auc_delong(y, score, alpha: float = 0.05) -> dict:
    """AUC with DeLong's standard error and a (1 − alpha) Wald confidence interval.

    The interval is ``AUC ± z(1 − alpha/2)·SE`` clipped to [0, 1] (the interval pROC's
    ``ci.auc(method="delong")`` reports).
    """
    y, (s,) = _check(y, score)
    auc, v10, v01 = _structural_components(y, [s])
    se = float(np.sqrt(max(_delong_covariance(v10, v01)[0, 0], 0.0)))
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    a = float(auc[0])
    return {
        "auc": a,
        "se": se,
        "ci_low": float(max(0.0, a - z * se)),
        "ci_high": float(min(1.0, a + z * se)),
    }


def delong_test(y, score_a, score_b) -> dict:
    """Paired DeLong test of AUC(a) = AUC(b) for two scores on the same cases (two-sided).

    ``z = (AUC_a − AUC_b) / sqrt(var_a + var_b − 2 cov_ab)`` (DeLong et al. 1988, with the
    contrast L = (1, −1)).
    """
    y, (a, b) = _check(y, score_a, score_b)
    auc, v10, v01 = _structural_components(y, [a, b])
    cov = _delong_covariance(v10, v01)
    var = cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]
    diff = float(auc[0] - auc[1])
    if var <= 0.0:
        z, p = (0.0, 1.0) if diff == 0.0 else (float(np.sign(diff) * np.inf), 0.0)
    else:
        z = diff / float(np.sqrt(var))
        p = float(2.0 * stats.norm.sf(abs(z)))
    return {"auc_a": float(auc[0]), "auc_b": float(auc[1]), "diff": diff, "z": float(z), "p": p}


def youden_cutoff(y, score) -> dict:
    """The threshold maximising Youden's J = sensitivity + specificity − 1 (Youden 1950).

    A case is positive when ``score >= threshold``; the threshold is an observed score. Ties
    in J go to the highest threshold (the most specific of the optimal cut-offs).
    """
    y, (s,) = _check(y, score)
    fpr, tpr, thr = roc_curve(y, s)
    j = tpr - fpr
    # skip the +inf point (J = 0 there); equal J up to rounding counts as a tie
    best = int(np.flatnonzero(j[1:] >= j[1:].max() - 1e-12)[0]) + 1
    t = float(thr[best])
    predicted = s >= t
    return {
        "threshold": t,
        "sensitivity": float(tpr[best]),
        "specificity": float(1.0 - fpr[best]),
        "accuracy": float(np.mean(predicted == (y == 1))),
        "youden": float(j[best]),
    }


def confusion_at(y, score, threshold: float) -> dict:
    """Sensitivity, specificity and accuracy of the rule ``score >= threshold``."""
    y, (s,) = _check(y, score)
    predicted = s >= threshold
    pos = y == 1
    return {
        "threshold": float(threshold),
        "sensitivity": float(np.mean(predicted[pos])),
        "specificity": float(np.mean(~predicted[~pos])),
        "accuracy": float(np.mean(predicted == pos)),
    }
