"""DXA grouping of the reference study: normal vs abnormal bone mass.

Women and anyone aged ≥ 50 are graded by T-score (WHO criteria; Kanis JA, Osteoporos Int
1994;4:368–381): T ≤ −2.5 osteoporosis, −2.5 < T < −1 low bone mass, T ≥ −1 normal. Everyone
else (men under 50) by Z-score (ISCD Official Positions 2019): Z ≤ −2 "below the expected range
for age" (abnormal), Z > −2 within the expected range. Abnormal bone mass = osteoporosis or
low bone mass (T-score) or below the expected range (Z-score).

Boundary handling: the thresholds are inclusive on the abnormal side exactly as written
(T = −2.5 is osteoporosis, T = −1.0 is normal, Z = −2.0 is abnormal). Scores are compared as
given, with a tolerance of 1e-9 so that −2.5 computed as −2.4999999999 still counts as −2.5;
no rounding to DXA's one decimal is done (round your scores first if they carry more).
Note: ISCD grades premenopausal women by Z-score; the study (and this function) grades all
women by T-score.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from osteoimaging.errors import InputError

_TOL = 1e-9
OSTEOPOROSIS, LOW, NORMAL, BELOW_Z, WITHIN_Z = (
    "osteoporosis",
    "low bone mass",
    "normal",
    "below expected range for age",
    "within expected range for age",
)
ABNORMAL = frozenset({OSTEOPOROSIS, LOW, BELOW_Z})


def _is_female(sex) -> bool:
    text = str(sex).strip().lower()
    if text in {"f", "female", "w", "woman", "2"}:
        return True
    if text in {"m", "male", "man", "1"}:
        return False
    raise InputError(f"unknown sex '{sex}' (use F/M)")


def dxa_group(t_score: float | None, z_score: float | None, sex, age: float | None) -> str:
    """The DXA category of one person (see the module docstring)."""
    female = _is_female(sex)
    if age is None or (isinstance(age, float) and math.isnan(age)):
        if not female:
            raise InputError("age is needed to grade a man (T-score from 50, Z-score below)")
        age = math.inf
    if female or age >= 50:
        if t_score is None or not math.isfinite(float(t_score)):
            raise InputError("T-score missing for a woman or a person aged ≥ 50")
        t = float(t_score)
        if t <= -2.5 + _TOL:
            return OSTEOPOROSIS
        if t < -1.0 - _TOL:
            return LOW
        return NORMAL
    if z_score is None or not math.isfinite(float(z_score)):
        raise InputError("Z-score missing for a man under 50")
    return BELOW_Z if float(z_score) <= -2.0 + _TOL else WITHIN_Z


def labels_from_dxa(table: pd.DataFrame) -> pd.DataFrame:
    """``dxa_group`` and ``label`` (1 = abnormal bone mass) for a table with columns
    ``t_score``, ``z_score``, ``sex``, ``age`` (missing Z/T allowed where not needed)."""
    missing = [c for c in ("sex", "t_score") if c not in table.columns]
    if missing:
        raise InputError(f"DXA table lacks column(s) {', '.join(missing)}")
    groups = []
    for i, row in enumerate(table.itertuples(index=False)):
        get = row._asdict().get
        try:
            groups.append(
                dxa_group(get("t_score"), get("z_score", np.nan), get("sex"), get("age", np.nan))
            )
        except InputError as exc:
            raise InputError(f"DXA row {i + 1}: {exc}") from exc
    out = table.copy()
    out["dxa_group"] = groups
    out["label"] = [int(g in ABNORMAL) for g in groups]
    return out
