"""Descriptive tables: n, mean ± SD (sample SD, n − 1) of each measure by group and by sex."""

from __future__ import annotations

import numpy as np
import pandas as pd

from osteoimaging.stats.table import require_columns


def mean_sd_text(mean: float, sd: float, digits: int = 3) -> str:
    """``mean ± SD`` with ``digits`` significant figures."""
    if not np.isfinite(mean):
        return ""
    return f"{mean:.{digits}g} ± {sd:.{digits}g}" if np.isfinite(sd) else f"{mean:.{digits}g}"


def describe_by(df: pd.DataFrame, values: list[str], by: str | None = None) -> pd.DataFrame:
    """One row per measure and group (``all`` when ``by`` is None): n, mean, SD, text."""
    require_columns(df, [*values, by])
    groups = (
        [("all", df)]
        if by is None
        else [(str(k), g) for k, g in df.groupby(by, sort=True, dropna=True)]
    )
    records = []
    for value in values:
        for name, part in groups:
            x = pd.to_numeric(part[value], errors="coerce").dropna().to_numpy(float)
            mean = float(x.mean()) if x.size else np.nan
            sd = float(x.std(ddof=1)) if x.size > 1 else np.nan
            records.append(
                {
                    "measure": value,
                    "by": by or "",
                    "group": name,
                    "n": int(x.size),
                    "mean": mean,
                    "sd": sd,
                    "mean_sd": mean_sd_text(mean, sd),
                }
            )
    return pd.DataFrame.from_records(records)


def descriptive_table(
    df: pd.DataFrame, values: list[str], group: str | None = "group", sex: str | None = "sex"
) -> pd.DataFrame:
    """All cases, then by group and by sex (the columns present among those named)."""
    parts = [describe_by(df, values)]
    for by in (group, sex):
        if by and by in df.columns and df[by].notna().any():
            parts.append(describe_by(df, values, by))
    return pd.concat(parts, ignore_index=True)
