"""Intraclass correlation coefficients after Shrout & Fleiss (1979).

Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
Psychological Bulletin 1979;86(2):420–428.

The table is ``n`` targets (subjects, rows) × ``k`` judges (raters or repeated scans, columns).
Mean squares (S&F Table 2): BMS between targets, WMS within targets (one-way model), JMS
between judges and EMS residual (two-way model). Forms (S&F Table 1 and eq. 2–6):

* ICC(1,1) = (BMS − WMS) / (BMS + (k−1)·WMS) — one-way random: each target rated by a
  different random set of judges.
* ICC(2,1) = (BMS − EMS) / (BMS + (k−1)·EMS + k·(JMS − EMS)/n) — two-way random, absolute
  agreement: the judges are a random sample and their systematic differences count as error.
* ICC(3,1) = (BMS − EMS) / (BMS + (k−1)·EMS) — two-way mixed, consistency: the judges are
  the only ones of interest and their systematic differences are removed.
* ICC(1,k), ICC(2,k), ICC(3,k): reliability of the mean of the k judges
  ((BMS − WMS)/BMS, (BMS − EMS)/(BMS + (JMS − EMS)/n), (BMS − EMS)/BMS).

In the McGraw & Wong (1996) naming ICC(2,1) is "two-way random, absolute agreement, single
measures" and ICC(3,1) is "two-way mixed, consistency, single measures".
"""

from __future__ import annotations

import numpy as np

from osteoimaging.errors import InputError

FORMS = ("1,1", "2,1", "3,1", "1,k", "2,k", "3,k")


def mean_squares(table) -> dict:
    """ANOVA mean squares of an n × k table (S&F 1979, Table 2): BMS, WMS, JMS, EMS, n, k."""
    x = np.asarray(table, dtype=float)
    if x.ndim != 2:
        raise InputError(f"ICC table must be 2-D (subjects × raters), got shape {x.shape}")
    n, k = x.shape
    if n < 2 or k < 2:
        raise InputError(f"ICC needs at least 2 subjects and 2 raters, got {n} × {k}")
    if not np.all(np.isfinite(x)):
        raise InputError("ICC table contains NaN or infinite values")
    grand = x.mean()
    ss_rows = k * np.sum((x.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((x.mean(axis=0) - grand) ** 2)
    ss_total = np.sum((x - grand) ** 2)
    ss_within = ss_total - ss_rows
    ss_error = ss_within - ss_cols
    return {
        "BMS": ss_rows / (n - 1),
        "WMS": ss_within / (n * (k - 1)),
        "JMS": ss_cols / (k - 1),
        "EMS": ss_error / ((n - 1) * (k - 1)),
        "n": n,
        "k": k,
    }


def _safe_ratio(num: float, den: float) -> float:
    """num/den, NaN when the denominator is zero (e.g. a constant table)."""
    return float(num / den) if den != 0 else float("nan")


def icc_all(table) -> dict[str, float]:
    """All six Shrout & Fleiss forms, keyed ``"1,1"``, ``"2,1"``, ``"3,1"``, ``"1,k"``, …"""
    ms = mean_squares(table)
    bms, wms, jms, ems, n, k = (ms[key] for key in ("BMS", "WMS", "JMS", "EMS", "n", "k"))
    return {
        "1,1": _safe_ratio(bms - wms, bms + (k - 1) * wms),
        "2,1": _safe_ratio(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        "3,1": _safe_ratio(bms - ems, bms + (k - 1) * ems),
        "1,k": _safe_ratio(bms - wms, bms),
        "2,k": _safe_ratio(bms - ems, bms + (jms - ems) / n),
        "3,k": _safe_ratio(bms - ems, bms),
    }


def icc(table, form: str = "2,1") -> float:
    """One Shrout & Fleiss ICC form of an n subjects × k raters table (default ICC(2,1))."""
    if form not in FORMS:
        raise InputError(f"unknown ICC form '{form}'; choose one of {', '.join(FORMS)}")
    return icc_all(table)[form]
