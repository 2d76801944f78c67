"""Intraclass correlation coefficients with 95% confidence intervals.

References
- Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
  Psychol Bull 1979;86(2):420–428 (forms ICC(1,1) … ICC(3,k); worked example, Table 2).
- McGraw KO, Wong SP. Forming inferences about some intraclass correlation coefficients.
  Psychol Methods 1996;1(1):30–46 (models, definitions, F tests and confidence intervals,
  Tables 4, 7 and 8).

The table is ``n`` targets (subjects, rows) × ``k`` judges (raters or repeated scans, columns).
Mean squares (S&F Table 2): BMS between targets, WMS within targets (one-way model), JMS
between judges and EMS residual (two-way model). The six forms, with McGraw & Wong's names:

======  ==========  =======================  ==================  ================
S&F     M&W         model                    definition          unit
======  ==========  =======================  ==================  ================
(1,1)   ICC(1)      one-way random           absolute agreement  single measure
(2,1)   ICC(A,1)    two-way random or mixed  absolute agreement  single measure
(3,1)   ICC(C,1)    two-way random or mixed  consistency         single measure
(1,k)   ICC(k)      one-way random           absolute agreement  mean of k
(2,k)   ICC(A,k)    two-way random or mixed  absolute agreement  mean of k
(3,k)   ICC(C,k)    two-way random or mixed  consistency         mean of k
======  ==========  =======================  ==================  ================

* ICC(1,1) = (BMS − WMS) / (BMS + (k−1)·WMS); ICC(1,k) = (BMS − WMS) / BMS.
* ICC(2,1) = (BMS − EMS) / (BMS + (k−1)·EMS + k·(JMS − EMS)/n);
  ICC(2,k) = (BMS − EMS) / (BMS + (JMS − EMS)/n).
* ICC(3,1) = (BMS − EMS) / (BMS + (k−1)·EMS); ICC(3,k) = (BMS − EMS) / BMS.

Two-way random and two-way mixed models give the same estimates, F tests and intervals for
each definition (M&W 1996, Tables 4 and 7); they differ in what the judges stand for (a sample
of possible judges, or the only judges of interest), i.e. in interpretation only.

Confidence intervals (M&W 1996, Table 7; for (1,1), (2,1), (3,1) also S&F eqs. 6–7, 11–12):

* one-way: F = BMS/WMS on (n−1, n(k−1)) df; consistency: F = BMS/EMS on (n−1, (n−1)(k−1)).
  F_L = F / F_{1−α/2}(df1, df2), F_U = F · F_{1−α/2}(df2, df1); single measure
  (F_L − 1)/(F_L + k − 1) … (F_U − 1)/(F_U + k − 1); mean of k 1 − 1/F_L … 1 − 1/F_U.
* absolute agreement: Satterthwaite's df v = (a·JMS + b·EMS)² / ((a·JMS)²/(k−1) +
  (b·EMS)²/((n−1)(k−1))), a = kρ̂/(n(1−ρ̂)), b = 1 + kρ̂(n−1)/(n(1−ρ̂)), ρ̂ = ICC(2,1);
  F* = F_{1−α/2}(n−1, v), F_* = F_{1−α/2}(v, n−1);
  lower = n(BMS − F*·EMS) / (F*(k·JMS + (kn − k − n)·EMS) + n·BMS),
  upper = n(F_*·BMS − EMS) / (k·JMS + (kn − k − n)·EMS + n·F_*·BMS);
  the mean-of-k bounds are these with Spearman–Brown, k·L/(1 + (k−1)·L) (algebraically M&W's
  ICC(A,k) formulas).

The p value tests ρ = 0 (M&W Table 8 with ρ₀ = 0: F = BMS/WMS one-way, BMS/EMS two-way).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

from osteoimaging.errors import InputError

FORMS = ("1,1", "2,1", "3,1", "1,k", "2,k", "3,k")
#: McGraw & Wong (1996) name, model, definition and unit of each Shrout & Fleiss form.
DESCRIPTIONS = {
    "1,1": ("ICC(1)", "one-way random", "absolute agreement", "single measure"),
    "2,1": ("ICC(A,1)", "two-way random or mixed", "absolute agreement", "single measure"),
    "3,1": ("ICC(C,1)", "two-way random or mixed", "consistency", "single measure"),
    "1,k": ("ICC(k)", "one-way random", "absolute agreement", "mean of k"),
    "2,k": ("ICC(A,k)", "two-way random or mixed", "absolute agreement", "mean of k"),
    "3,k": ("ICC(C,k)", "two-way random or mixed", "consistency", "mean of k"),
}
#: McGraw & Wong's names accepted wherever a form is asked for.
ALIASES = {"1": "1,1", "A,1": "2,1", "C,1": "3,1", "k": "1,k", "A,k": "2,k", "C,k": "3,k"}


@dataclass(frozen=True)
class ICCResult:
    """One ICC form: estimate, confidence interval and the F test of ρ = 0."""

    form: str  # Shrout & Fleiss: "2,1", "3,k", …
    mcgraw_wong: str  # "ICC(A,1)", …
    model: str
    definition: str
    unit: str
    value: float
    ci_low: float
    ci_high: float
    confidence: float
    f: float
    df1: float
    df2: float
    p: float
    n: int
    k: int

    def to_dict(self) -> dict:
        return asdict(self)


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
    ss_error = max(ss_within - ss_cols, 0.0)  # rounding can make an exact 0 slightly negative
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


def canonical_form(form: str) -> str:
    """The S&F key of ``form`` (S&F ``"2,1"`` or M&W ``"A,1"``); InputError if unknown."""
    key = ALIASES.get(form.replace(" ", ""), form.replace(" ", ""))
    if key not in FORMS:
        raise InputError(
            f"unknown ICC form '{form}'; choose one of {', '.join(FORMS)} "
            f"(or McGraw & Wong's {', '.join(ALIASES)})"
        )
    return key


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
    """One ICC form of an n subjects × k raters table (default ICC(2,1) = M&W ICC(A,1))."""
    return icc_all(table)[canonical_form(form)]


def _f_bounds(f: float, df1: float, df2: float, alpha: float) -> tuple[float, float]:
    """(F_L, F_U) of M&W Table 7: F divided / multiplied by the upper α/2 F quantiles."""
    if np.isnan(f):
        return float("nan"), float("nan")
    if np.isinf(f):
        return float("inf"), float("inf")
    return f / sps.f.ppf(1 - alpha / 2, df1, df2), f * sps.f.ppf(1 - alpha / 2, df2, df1)


def _single(fb: float, k: int) -> float:
    """(F − 1)/(F + k − 1), the single-measure bound; 1 for an infinite F."""
    return 1.0 if np.isinf(fb) else float((fb - 1) / (fb + k - 1))


def _average(fb: float) -> float:
    """1 − 1/F, the mean-of-k bound; 1 for an infinite F."""
    return 1.0 if np.isinf(fb) else float(1 - 1 / fb)


def _spearman_brown(rho: float, k: int) -> float:
    return float(k * rho / (1 + (k - 1) * rho))


def _agreement_ci(ms: dict, rho: float, alpha: float) -> tuple[float, float]:
    """M&W (1996) Table 7 interval of ICC(A,1) with Satterthwaite's df."""
    bms, jms, ems, n, k = (ms[key] for key in ("BMS", "JMS", "EMS", "n", "k"))
    if np.isnan(rho):
        return float("nan"), float("nan")
    if ems == 0 and jms == 0:  # every judge gives every target the same value
        return 1.0, 1.0
    a = k * rho / (n * (1 - rho))
    b = 1 + k * rho * (n - 1) / (n * (1 - rho))
    v = (a * jms + b * ems) ** 2 / ((a * jms) ** 2 / (k - 1) + (b * ems) ** 2 / ((n - 1) * (k - 1)))
    f_star = sps.f.ppf(1 - alpha / 2, n - 1, v)
    f_lower_star = sps.f.ppf(1 - alpha / 2, v, n - 1)
    common = k * jms + (k * n - k - n) * ems
    low = n * (bms - f_star * ems) / (f_star * common + n * bms)
    high = n * (f_lower_star * bms - ems) / (common + n * f_lower_star * bms)
    return float(low), float(high)


def icc_forms(table, confidence: float = 0.95) -> dict[str, ICCResult]:
    """Every form with its confidence interval and F test, keyed by the S&F form."""
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    alpha = 1 - confidence
    ms = mean_squares(table)
    values = icc_all(table)
    bms, wms, ems, n, k = (ms[key] for key in ("BMS", "WMS", "EMS", "n", "k"))
    with np.errstate(divide="ignore", invalid="ignore"):
        f_one = np.float64(bms) / np.float64(wms)
        f_two = np.float64(bms) / np.float64(ems)
    df_one = (n - 1, n * (k - 1))
    df_two = (n - 1, (n - 1) * (k - 1))
    one_l, one_u = _f_bounds(float(f_one), *df_one, alpha)
    two_l, two_u = _f_bounds(float(f_two), *df_two, alpha)
    agree_l, agree_u = _agreement_ci(ms, values["2,1"], alpha)
    bounds = {
        "1,1": (_single(one_l, k), _single(one_u, k)),
        "2,1": (agree_l, agree_u),
        "3,1": (_single(two_l, k), _single(two_u, k)),
        "1,k": (_average(one_l), _average(one_u)),
        "2,k": (_spearman_brown(agree_l, k), _spearman_brown(agree_u, k)),
        "3,k": (_average(two_l), _average(two_u)),
    }
    out = {}
    for form in FORMS:
        one_way = form.startswith("1")
        f_value, (df1, df2) = (f_one, df_one) if one_way else (f_two, df_two)
        p = float(sps.f.sf(f_value, df1, df2)) if np.isfinite(f_value) else float("nan")
        if np.isinf(f_value):
            p = 0.0
        name, model, definition, unit = DESCRIPTIONS[form]
        out[form] = ICCResult(
            form=form,
            mcgraw_wong=name,
            model=model,
            definition=definition,
            unit=unit,
            value=values[form],
            ci_low=bounds[form][0],
            ci_high=bounds[form][1],
            confidence=confidence,
            f=float(f_value),
            df1=float(df1),
            df2=float(df2),
            p=p,
            n=int(n),
            k=int(k),
        )
    return out


def icc_with_ci(table, form: str = "2,1", confidence: float = 0.95) -> ICCResult:
    """One form (S&F ``"2,1"`` or M&W ``"A,1"``) with its confidence interval and F test."""
    return icc_forms(table, confidence)[canonical_form(form)]
