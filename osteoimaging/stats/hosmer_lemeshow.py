"""Hosmer–Lemeshow goodness-of-fit test and the calibration table behind it.

Hosmer DW, Lemeshow S. Goodness of fit tests for the multiple logistic regression model.
Communications in Statistics – Theory and Methods 1980;9(10):1043–1069; and Hosmer DW,
Lemeshow S, Sturdivant RX. Applied Logistic Regression, 3rd ed., Wiley 2013, §5.2.2
("deciles of risk"): sort the cases by predicted probability, split them into ``g`` groups of
(nearly) equal size, and compare observed with expected events:

    C = Σ_g (O_g − E_g)² / (E_g · (1 − E_g / n_g)),   df = g − 2 (development data).

Groups are formed by rank (``numpy.array_split`` of the sorted cases: the first groups take the
extra case when n is not a multiple of g), so tied probabilities may fall in adjacent groups.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from osteoimaging.errors import InputError


def calibration_table(y, prob, groups: int = 10) -> dict[str, np.ndarray]:
    """Per risk group: size ``n``, observed events ``observed``, expected ``expected``, and
    mean predicted / observed proportions (``mean_predicted``, ``observed_rate``)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(prob, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise InputError(f"labels {y.shape} and probabilities {p.shape} must be 1-D, same length")
    if not set(np.unique(y).tolist()) <= {0.0, 1.0}:
        raise InputError("labels must be 0/1")
    if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
        raise InputError("probabilities must lie in [0, 1]")
    if not 3 <= groups <= len(y):
        raise InputError(f"need 3 ≤ groups ≤ number of cases ({len(y)}), got {groups}")
    order = np.argsort(p, kind="mergesort")
    parts = np.array_split(order, groups)
    n = np.array([len(g) for g in parts], dtype=float)
    observed = np.array([y[g].sum() for g in parts])
    expected = np.array([p[g].sum() for g in parts])
    return {
        "n": n,
        "observed": observed,
        "expected": expected,
        "mean_predicted": expected / n,
        "observed_rate": observed / n,
    }


def hosmer_lemeshow(y, prob, groups: int = 10) -> dict:
    """Hosmer–Lemeshow C statistic, degrees of freedom (g − 2) and p-value (χ² upper tail)."""
    t = calibration_table(y, prob, groups)
    n, o, e = t["n"], t["observed"], t["expected"]
    variance = e * (1.0 - e / n)
    if np.any(variance <= 0):
        raise InputError("a risk group has expected events 0 or n; use fewer groups")
    statistic = float(np.sum((o - e) ** 2 / variance))
    df = groups - 2
    return {"statistic": statistic, "df": df, "p": float(stats.chi2.sf(statistic, df)), **t}
