"""Precision of repeated measurements (scan–rescan, k ≥ 2 repeats): RMSSD, LSC, CV%,
Bland–Altman, ICC.

References
- Glüer C-C, Blake G, Lu Y, Blunt BA, Jergas M, Genant HK. Accurate assessment of
  precision errors: how to measure the reproducibility of bone densitometry techniques.
  Osteoporos Int 1995;5:262–270 (root-mean-square SD and CV over subjects, for any number
  of repeats per subject; e.g. 15 subjects × 3 scans or 30 × 2).
- International Society for Clinical Densitometry (ISCD), Official Positions — Adult,
  precision assessment: precision error = RMS-SD; least significant change at 95%
  confidence LSC = 2.77 × precision error (2.77 = 1.96 × √2).
- Bland JM, Altman DG. Statistical methods for assessing agreement between two methods
  of clinical measurement. Lancet 1986;1(8476):307–310 (bias, 95% limits of agreement).
- Bland JM, Altman DG. Measurement error. BMJ 1996;313:744, and Measuring agreement in
  method comparison studies. Stat Methods Med Res 1999;8:135–160 (replicated measurements:
  within-subject SD s_w from the one-way ANOVA; two measurements of a subject differ by less
  than 1.96·√2·s_w = 2.77·s_w for 95% of pairs, the repeatability coefficient).
- Shrout PE, Fleiss JL. Psychol Bull 1979;86:420–428 and McGraw KO, Wong SP. Psychol
  Methods 1996;1:30–46 (ICC forms and confidence intervals; :mod:`osteoimaging.stats.icc`).

With k = 2 repeats the Bland–Altman statistics are the classic paired ones (rescan − scan:
bias with its CI, limits bias ± 1.96 SD). With k > 2 there is no single pair: the limits are
Bland & Altman's (1996, 1999) repeatability limits 0 ± 1.96·√2·s_w around no bias, with s_w the
within-subject SD (for a balanced table s_w = RMSSD, so the limits are ± LSC), and the bias
columns are empty; a systematic shift between sessions shows as ICC(2,·) below ICC(3,·).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats as sps

from osteoimaging.errors import InputError
from osteoimaging.log import logger

if TYPE_CHECKING:
    import pandas as pd

#: 1.96 × √2: a change larger than LSC = 2.77 × precision is significant at 95%.
LSC_FACTOR = 2.77
#: ``ba_method`` values: paired differences (k = 2) or repeatability limits (k > 2).
BA_PAIRED = "paired (rescan − scan)"
BA_REPEATABILITY = "repeatability (0 ± 1.96·√2·s_w)"


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

    ``table`` is subjects × repeats (k ≥ 2); each subject's SD uses k − 1. With the same
    number of repeats for every subject this is √(mean SD²), the pooled within-subject SD.
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


def repeatability_limits(table: Any) -> dict[str, float]:
    """Bland–Altman for k ≥ 2 repeats without pairing (Bland & Altman, BMJ 1996;313:744).

    s_w = √(within-subject mean square) of the one-way ANOVA (= RMSSD for a balanced table);
    two repeats of a subject differ by SD √2·s_w, limits 0 ± 1.96·√2·s_w. No bias is
    estimated (the repeats have no order that a bias could refer to).
    """
    arr = _as_table(table)
    sd_diff = float(np.sqrt(2.0) * rmssd(arr))
    nan = float("nan")
    return {
        "n": int(arr.shape[0]),
        "bias": nan,
        "sd_diff": sd_diff,
        "bias_ci_low": nan,
        "bias_ci_high": nan,
        "loa_low": -1.96 * sd_diff,
        "loa_high": 1.96 * sd_diff,
    }


def _icc_values(arr: np.ndarray, confidence: float) -> dict[str, float]:
    """Every ICC form with its CI: ``icc_2_1``, ``icc_2_1_ci_low``, …, ``icc_3_k_ci_high``."""
    from osteoimaging.stats.icc import icc_forms

    out: dict[str, float] = {}
    for form, result in icc_forms(arr, confidence).items():
        key = "icc_" + form.replace(",", "_")
        out[key] = result.value
        out[key + "_ci_low"] = result.ci_low
        out[key + "_ci_high"] = result.ci_high
    return out


def reproducibility_summary(table: Any, confidence: float = 0.95) -> dict[str, Any]:
    """Every precision statistic for one measure (subjects × k repeats, k ≥ 2).

    Bland–Altman: paired for k = 2, repeatability limits for k > 2 (module docstring). ICC:
    all six Shrout & Fleiss / McGraw & Wong forms with their ``confidence`` intervals;
    docs/cohort.md says which one is the paper's "ICC for single measures".
    """
    arr = _as_table(table)
    precision = rmssd(arr)
    k = int(arr.shape[1])
    out: dict[str, Any] = {
        "n_subjects": int(arr.shape[0]),
        "n_repeats": k,
        "mean": float(arr.mean()),
        "rmssd": precision,
        "lsc": lsc(precision),
        "rms_cv_percent": rms_cv_percent(arr) if np.all(arr.mean(axis=1) != 0) else np.nan,
        "ba_method": BA_PAIRED if k == 2 else BA_REPEATABILITY,
    }
    ba = bland_altman(arr[:, 0], arr[:, 1]) if k == 2 else repeatability_limits(arr)
    out.update({key: v for key, v in ba.items() if key != "n"})
    out.update(_icc_values(arr, confidence))
    return out


SUBJECT_KEY = "_subject"


def with_subject_key(df: pd.DataFrame, subject: str, level: str | None = "level") -> pd.DataFrame:
    """Rows with a subject id, keyed by (subject, level): each vertebra is one "subject"."""
    from osteoimaging.stats.table import require_columns

    require_columns(df, [subject])
    key = [subject, level] if level and level in df.columns else [subject]
    part = df.dropna(subset=[subject])
    return part.assign(**{SUBJECT_KEY: part[key].astype(str).agg("|".join, axis=1)})


def _common_repeats(counts: list[int]) -> int:
    """The number of repeats most subjects have (ties: the larger)."""
    tally = Counter(counts)
    return max(tally, key=lambda c: (tally[c], c))


def repeat_table(
    df: pd.DataFrame, value: str, subject: str = "rescan_id", repeats: int | None = None
) -> np.ndarray:
    """Subjects × k repeats from a long table: rows sharing ``subject`` are repeat scans.

    Rows keep their table order within a subject. ``repeats`` None takes k as the number of
    finite repeats most subjects have (at least 2), so that every repeat of a balanced design
    is used. Subjects with fewer than k repeats are left out and subjects with more use their
    first k; both are logged as warnings (the ICC needs the same k for every subject).
    """
    import pandas as pd

    if repeats is not None and repeats < 2:
        raise InputError(f"repeats must be at least 2, got {repeats}")
    series = []
    for _, group in df[[subject, value]].dropna(subset=[subject]).groupby(subject, sort=False):
        vals = pd.to_numeric(group[value], errors="coerce").dropna().to_numpy(float)
        if vals.size >= 2:
            series.append(vals)
    if not series:
        raise InputError(
            f"no subject has 2 or more repeat measurements of {value} (rows sharing a {subject})"
        )
    k = repeats or _common_repeats([v.size for v in series])
    rows = [v[:k] for v in series if v.size >= k]
    fewer = sum(v.size < k for v in series)
    more = sum(v.size > k for v in series)
    if fewer or more:
        logger.warning(
            "%s: %d repeats per subject used; %d subject(s) with fewer left out, %d with more "
            "use their first %d (set the number of repeats to change this)",
            value,
            k,
            fewer,
            more,
            k,
        )
    if len(rows) < 2:
        raise InputError(
            f"fewer than 2 subjects with {k} repeat measurements of {value} "
            f"(rows sharing a {subject})"
        )
    return np.vstack(rows)


def reproducibility_table(
    df: pd.DataFrame,
    values: list[str],
    subject: str = "rescan_id",
    by: str | None = "level",
    repeats: int | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per measure (and per ``by`` group, e.g. level, plus ``all``)."""
    import pandas as pd

    groups: list[tuple[str, pd.DataFrame]] = [("all", df)]
    if by and by in df.columns and df[by].nunique() > 1:
        groups += [(str(k), g) for k, g in df.groupby(by, sort=True)]
    records = []
    for name, part in groups:
        part = with_subject_key(part, subject, by)
        for value in values:
            arr = repeat_table(part, value, SUBJECT_KEY, repeats)
            records.append(
                {"measure": value, by or "group": name, **reproducibility_summary(arr, confidence)}
            )
    return pd.DataFrame.from_records(records)
