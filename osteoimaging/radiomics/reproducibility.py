"""Inter-rater reproducibility filter: ICC per feature between two raters' ROIs.

Form: ICC(2,1) of Shrout & Fleiss (1979) — two-way random effects, absolute agreement, single
rater (McGraw & Wong's ICC(A,1)) — computed per feature on the cases both raters segmented.
The reference study keeps features with "ICC > 0.75" without naming the form; ICC(2,1) is the
form recommended for inter-rater reliability when raters are a sample of possible raters
(Koo TK, Li MY. J Chiropr Med 2016;15:155–163). The threshold is strict (> 0.75).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from osteoimaging.errors import InputError
from osteoimaging.radiomics.extract import feature_columns
from osteoimaging.stats.icc import icc

KEYS = ("case_id", "level")


def feature_icc(
    rater_a: pd.DataFrame, rater_b: pd.DataFrame, *, form: str = "2,1", threshold: float = 0.75
) -> pd.DataFrame:
    """Per feature: ICC between the two raters' values and whether it exceeds ``threshold``."""
    keys = [k for k in KEYS if k in rater_a.columns and k in rater_b.columns]
    if "case_id" not in keys:
        raise InputError("both rater tables need a 'case_id' column to pair the cases")
    a = rater_a.assign(case_id=rater_a["case_id"].astype(str))
    b = rater_b.assign(case_id=rater_b["case_id"].astype(str))
    merged = a.merge(b, on=keys, suffixes=("__a", "__b"), validate="one_to_one")
    if len(merged) < 2:
        raise InputError(f"only {len(merged)} case(s) rated by both raters; ICC needs ≥ 2")
    shared = [f for f in feature_columns(rater_a) if f in set(feature_columns(rater_b))]
    if not shared:
        raise InputError("the two rater tables share no feature column")
    rows = []
    for feature in shared:
        table = merged[[f"{feature}__a", f"{feature}__b"]].to_numpy(dtype=float)
        value = icc(table, form) if np.all(np.isfinite(table)) else float("nan")
        rows.append({"feature": feature, "icc": value, "kept": bool(value > threshold)})
    return pd.DataFrame(rows)
