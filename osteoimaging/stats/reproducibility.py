"""Precision of repeated measurements (scan–rescan): RMSSD, LSC, CV%, Bland–Altman, ICC.

References
- Glüer C-C, Blake G, Lu Y, Blunt BA, Jergas M, Genant HK. Accurate assessment of
  precision errors: how to measure the reproducibility of bone densitometry techniques.
  Osteoporos Int 1995;5:262–270 (root-mean-square SD and CV over subjects).
- International Society for Clinical Densitometry (ISCD), Official Positions — Adult,
  precision assessment: precision error = RMS-SD; least significant change at 95%
  confidence LSC = 2.77 × precision error (2.77 = 1.96 × √2).
- Bland JM, Altman DG. Statistical methods for assessing agreement between two methods
  of clinical measurement. Lancet 1986;1(8476):307–310 (bias, 95% limits of agreement).
- Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
  Psychol Bull 1979;86:420–428 (ICC forms; computed by :mod:`osteoimaging.stats.icc`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from osteoimaging.errors import InputError
from osteoimaging.stats.table import require_columns

#: 1.96 × √2: a change larger than LSC = 2.77 × precision is significant at 95%.
LSC_FACTOR = 2.77


def _as_table(table: Any) -> np.ndarray:
    """Subjects × repeats as float; rows with a missing value are dropped."""
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise InputError(f"need a subjects × repeats table with ≥ 2 repeats, got {arr.shape}")
    arr = arr[np.all(np.isfinite(arr), axis=1)]
    if arr.shape[0] < 2:
        raise InputError(f"need at least 2 subjects with complete repeats, got {arr.shape[0]}")
    return arr


def rmssd(table: Any) -> float:
    """Root mean square of the per-subject SDs (Glüer et al. 1995; ISCD precision error).

    ``table`` is subjects × repeats; each subject's SD uses n − 1. With the same number
    of repeats for every subject this is √(mean SD²).
    """
    arr = _as_table(table)
    return float(np.sqrt(np.mean(np.var(arr, axis=1, ddof=1))))


def rms_cv_percent(table: Any) -> float:
    """Root mean square of the per-subject coefficients of variation, in % (Glüer 1995)."""
    arr = _as_table(table)
    means = arr.mean(axis=1)
    if np.any(means == 0):
        raise InputError("a subject's mean is 0: the coefficient of variation is undefined")
    cv = arr.std(axis=1, ddof=1) / np.abs(means)
    return float(100.0 * np.sqrt(np.mean(cv**2)))


def lsc(precision: float) -> float:
    """Least significant change at 95% confidence: 2.77 × precision (ISCD)."""
    return LSC_FACTOR * float(precision)


def bland_altman(a: Any, b: Any) -> dict[str, float]:
    """Bias (mean of b − a), SD of the differences and the 95% limits of agreement.

    Bland & Altman 1986: limits = bias ± 1.96 SD. Also the 95% CI of the bias
    (t distribution, n − 1 df). Pairs with a missing value are dropped.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    d = b[keep] - a[keep]
    n = d.size
    if n < 2:
        raise InputError(f"Bland–Altman needs at least 2 complete pairs, got {n}")
    bias, sd = float(d.mean()), float(d.std(ddof=1))
    half = float(sps.t.ppf(0.975, n - 1) * sd / np.sqrt(n))
    return {
        "n": n,
        "bias": bias,
        "sd_diff": sd,
        "bias_ci_low": bias - half,
        "bias_ci_high": bias + half,
        "loa_low": bias - 1.96 * sd,
        "loa_high": bias + 1.96 * sd,
    }


def _icc_values(arr: np.ndarray) -> dict[str, float]:
    """ICC(1,1), (2,1), (3,1) from the shared implementation in ``stats.icc``."""
    from osteoimaging.stats.icc import icc

    return {"icc_" + f.replace(",", "_"): float(icc(arr, form=f)) for f in ("1,1", "2,1", "3,1")}


def reproducibility_summary(table: Any) -> dict[str, float]:
    """Every precision statistic for one measure (subjects × repeats).

    Bland–Altman uses the first two repeats. ICC(2,1) is Shrout & Fleiss's two-way
    random-effects, absolute-agreement, single-measure form: see docs/cohort.md for
    why it is our reading of the paper's "ICC for single measures".
    """
    arr = _as_table(table)
    precision = rmssd(arr)
    out: dict[str, float] = {
        "n_subjects": int(arr.shape[0]),
        "n_repeats": int(arr.shape[1]),
        "mean": float(arr.mean()),
        "rmssd": precision,
        "lsc": lsc(precision),
        "rms_cv_percent": rms_cv_percent(arr) if np.all(arr.mean(axis=1) != 0) else np.nan,
    }
    out.update({k: v for k, v in bland_altman(arr[:, 0], arr[:, 1]).items() if k != "n"})
    out.update(_icc_values(arr))
    return out


SUBJECT_KEY = "_subject"


def with_subject_key(df: pd.DataFrame, subject: str, level: str | None = "level") -> pd.DataFrame:
    """Rows with a subject id, keyed by (subject, level): each vertebra is one "subject"."""
    require_columns(df, [subject])
    key = [subject, level] if level and level in df.columns else [subject]
    part = df.dropna(subset=[subject])
    return part.assign(**{SUBJECT_KEY: part[key].astype(str).agg("|".join, axis=1)})


def repeat_table(
    df: pd.DataFrame, value: str, subject: str = "rescan_id", repeats: int = 2
) -> np.ndarray:
    """Subjects × repeats from a long table: rows sharing ``subject`` are repeat scans.

    Rows keep their table order within a subject; subjects with fewer than ``repeats``
    finite values are left out, extra repeats beyond ``repeats`` are ignored.
    """
    rows = []
    for _, group in df[[subject, value]].dropna(subset=[subject]).groupby(subject, sort=False):
        vals = pd.to_numeric(group[value], errors="coerce").dropna().to_numpy(float)
        if vals.size >= repeats:
            rows.append(vals[:repeats])
    if len(rows) < 2:
        raise InputError(
            f"fewer than 2 subjects with {repeats} repeat measurements of {value} "
            f"(rows sharing a {subject})"
        )
    return np.vstack(rows)


def reproducibility_table(
    df: pd.DataFrame,
    values: list[str],
    subject: str = "rescan_id",
    by: str | None = "level",
) -> pd.DataFrame:
    """One row per measure (and per ``by`` group, e.g. level, plus ``all``)."""
    groups: list[tuple[str, pd.DataFrame]] = [("all", df)]
    if by and by in df.columns and df[by].nunique() > 1:
        groups += [(str(k), g) for k, g in df.groupby(by, sort=True)]
    records = []
    for name, part in groups:
        part = with_subject_key(part, subject, by)
        for value in values:
            arr = repeat_table(part, value, SUBJECT_KEY)
            records.append({"measure": value, by or "group": name, **reproducibility_summary(arr)})
    return pd.DataFrame.from_records(records)
