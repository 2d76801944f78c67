"""Reading cohort tables (results.csv and the like) with clear errors."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from osteoimaging.errors import InputError


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV table as a DataFrame; InputError when missing, unreadable or empty."""
    path = Path(path)
    if not path.is_file():
        raise InputError("table not found", path)
    try:
        df = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV table ({exc})", path) from exc
    if df.empty:
        raise InputError("table has no rows", path)
    return df


def require_columns(
    df: pd.DataFrame, columns: Iterable[str | None], source: str | Path | None = None
) -> None:
    """Fail with the list of available columns unless every named column is present."""
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise InputError(
            f"column(s) {', '.join(missing)} not in the table (columns: {', '.join(df.columns)})",
            source,
        )


def numeric(df: pd.DataFrame, column: str, source: str | Path | None = None) -> np.ndarray:
    """A column as float (blank → NaN); InputError if it holds text."""
    require_columns(df, [column], source)
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() & df[column].notna()
    if bad.any():
        raise InputError(
            f"column {column} is not numeric (e.g. '{df[column][bad].iloc[0]}')", source
        )
    return values.to_numpy(dtype=float)
