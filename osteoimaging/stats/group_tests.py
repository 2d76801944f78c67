"""Group comparisons: Student and Welch t tests, one-way ANOVA, Mann–Whitney U.

References
- Student. The probable error of a mean. Biometrika 1908;6:1–25.
- Welch BL. The generalization of "Student's" problem when several different population
  variances are involved. Biometrika 1947;34:28–35 (Welch–Satterthwaite df).
- Fisher RA. Statistical Methods for Research Workers, 1925 (one-way ANOVA F test).
- Mann HB, Whitney DR. Ann Math Stat 1947;18:50–60 (U test; two-sided, normal
  approximation with tie and continuity correction as in scipy for n > 8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from osteoimaging.errors import InputError


def _clean(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        raise InputError(f"group {name} has {arr.size} value(s); at least 2 are needed")
    return arr


def t_test(a: Any, b: Any, equal_var: bool = False, level: float = 0.95) -> dict[str, Any]:
    """Two-sample t test of mean(a) − mean(b): Student (pooled) or Welch; CI of the difference."""
    a, b = _clean(a, "a"), _clean(b, "b")
    na, nb = a.size, b.size
    va, vb = a.var(ddof=1), b.var(ddof=1)
    if equal_var:
        df = na + nb - 2
        se = np.sqrt(((na - 1) * va + (nb - 1) * vb) / df * (1 / na + 1 / nb))
    else:
        se = np.sqrt(va / na + vb / nb)
        df = (va / na + vb / nb) ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    diff = float(a.mean() - b.mean())
    t = diff / se
    half = float(sps.t.ppf(0.5 + level / 2, df) * se)
    return {
        "test": "Student t" if equal_var else "Welch t",
        "n_a": na,
        "n_b": nb,
        "mean_a": float(a.mean()),
        "mean_b": float(b.mean()),
        "diff": diff,
        "ci_low": diff - half,
        "ci_high": diff + half,
        "statistic": float(t),
        "df": float(df),
        "p": float(2 * sps.t.sf(abs(t), df)),
    }


def anova(*groups: Any) -> dict[str, Any]:
    """One-way ANOVA F test across ≥ 2 groups."""
    arrays = [_clean(g, str(i + 1)) for i, g in enumerate(groups)]
    if len(arrays) < 2:
        raise InputError("ANOVA needs at least 2 groups")
    res = sps.f_oneway(*arrays)
    n = sum(a.size for a in arrays)
    return {
        "test": "one-way ANOVA",
        "k": len(arrays),
        "n": n,
        "statistic": float(res.statistic),
        "df": f"{len(arrays) - 1}, {n - len(arrays)}",
        "p": float(res.pvalue),
    }


def mann_whitney(a: Any, b: Any) -> dict[str, Any]:
    """Two-sided Mann–Whitney U test (U of the first group)."""
    a, b = _clean(a, "a"), _clean(b, "b")
    res = sps.mannwhitneyu(a, b, alternative="two-sided")
    return {
        "test": "Mann–Whitney U",
        "n_a": a.size,
        "n_b": b.size,
        "median_a": float(np.median(a)),
        "median_b": float(np.median(b)),
        "statistic": float(res.statistic),
        "p": float(res.pvalue),
    }


def compare_groups(df: pd.DataFrame, value: str, group: str) -> pd.DataFrame:
    """Every applicable test of ``value`` across the levels of ``group``.

    Two groups: Student t, Welch t and Mann–Whitney (first group minus second, groups
    in sorted order); more: one-way ANOVA and Kruskal–Wallis.
    """
    sub = df[[value, group]].dropna()
    names = sorted(sub[group].astype(str).unique())
    parts = [pd.to_numeric(sub[value][sub[group].astype(str) == g]) for g in names]
    if len(names) < 2:
        raise InputError(f"column {group} has {len(names)} group(s); at least 2 are needed")
    for part, name in zip(parts, names, strict=True):  # name the group a test cannot use
        n = int(np.isfinite(part.to_numpy(float)).sum())
        if n < 2:
            raise InputError(f"{group} = {name} has {n} value(s) of {value}; at least 2 are needed")
    if len(names) == 2:
        rows = [t_test(*parts, equal_var=True), t_test(*parts), mann_whitney(*parts)]
        for r in rows:
            r.update(group_a=names[0], group_b=names[1])
    else:
        kw = sps.kruskal(*[_clean(p, n) for p, n in zip(parts, names, strict=True)])
        rows = [
            anova(*parts),
            {
                "test": "Kruskal–Wallis H",
                "k": len(names),
                "statistic": float(kw.statistic),
                "p": float(kw.pvalue),
            },
        ]
    return pd.DataFrame([{"measure": value, **r} for r in rows])
