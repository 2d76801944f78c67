"""Correlation with confidence intervals.

References
- Pearson product-moment r; p from the t statistic r√(n−2)/√(1−r²) (scipy.stats.pearsonr).
- Fisher RA. On the "probable error" of a coefficient of correlation deduced from a
  small sample. Metron 1921;1:3–32: z = atanh r is ~normal with SE 1/√(n−3).
- Spearman C. The proof and measurement of association between two things.
  Am J Psychol 1904;15:72–101; CI by Fisher z with SE √(1.06/(n−3)) (Fieller EC,
  Hartley HO, Pearson ES. Biometrika 1957;44:470–481).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as sps

from osteoimaging.errors import InputError


def _pairs(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise InputError(f"x and y differ in length ({x.size} vs {y.size})")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 4:
        raise InputError(f"correlation needs at least 4 complete pairs, got {x.size}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise InputError("a variable is constant: correlation undefined")
    return x, y


def fisher_ci(r: float, n: int, se_factor: float = 1.0, level: float = 0.95) -> tuple[float, float]:
    """CI of a correlation by Fisher's z: tanh(atanh r ± z·√(se_factor/(n−3)))."""
    z = np.arctanh(np.clip(r, -0.9999999, 0.9999999))
    half = sps.norm.ppf(0.5 + level / 2) * np.sqrt(se_factor / (n - 3))
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def _correlation(x: Any, y: Any, method: str, level: float) -> dict[str, float]:
    x, y = _pairs(x, y)
    res = sps.pearsonr(x, y) if method == "r" else sps.spearmanr(x, y)
    # Fisher z SE: 1/√(n−3) for Pearson, √(1.06/(n−3)) for Spearman (Fieller et al. 1957).
    lo, hi = fisher_ci(float(res.statistic), x.size, 1.0 if method == "r" else 1.06, level)
    return {
        "n": int(x.size),
        method: float(res.statistic),
        "ci_low": lo,
        "ci_high": hi,
        "p": float(res.pvalue),
    }


def pearson(x: Any, y: Any, level: float = 0.95) -> dict[str, float]:
    """Pearson r, its Fisher-z CI and two-sided p (pairs with NaN dropped)."""
    return _correlation(x, y, "r", level)


def spearman(x: Any, y: Any, level: float = 0.95) -> dict[str, float]:
    """Spearman ρ, its CI (Fisher z, Fieller–Hartley–Pearson SE) and two-sided p."""
    return _correlation(x, y, "rho", level)


def linear_fit(x: Any, y: Any) -> tuple[float, float]:
    """Least-squares slope and intercept of y on x (for scatter plots)."""
    x, y = _pairs(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)
