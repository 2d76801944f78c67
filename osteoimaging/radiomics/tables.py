"""CSV tables of the radiomics pipeline: features, labels (or DXA scores), scores.

Tables are written through the one table writer (:func:`osteoimaging.tables.write_table`):
floats at full precision, empty cells for missing values, atomically.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from osteoimaging.errors import InputError
from osteoimaging.radiomics.dxa import labels_from_dxa
from osteoimaging.radiomics.extract import PATIENT


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV file as a DataFrame (``case_id`` kept as text); InputError if unreadable/empty."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path)
    try:
        table = pd.read_csv(path, dtype={"case_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV table ({exc})", path) from exc
    if table.empty:
        raise InputError("table has no rows", path)
    return table


def read_labels(path: str | Path) -> pd.DataFrame:
    """``case_id`` + ``label`` (0/1), or DXA columns (``t_score``, ``z_score``, ``sex``, ``age``)
    from which the label is derived (:mod:`osteoimaging.radiomics.dxa`)."""
    table = read_table(path)
    if "case_id" not in table.columns:
        raise InputError("labels table has no 'case_id' column", path)
    try:
        if "label" not in table.columns:
            table = labels_from_dxa(table)
        values = set(pd.unique(table["label"]).tolist())
    except InputError as exc:
        raise InputError(exc.problem, path) from exc
    if not values <= {0, 1}:
        raise InputError(f"labels must be 0/1, found {sorted(map(str, values))[:5]}", path)
    return table


def select_level(table: pd.DataFrame, level: str = PATIENT, path=None) -> pd.DataFrame:
    """Rows of one level (``patient`` or ``L1``…) when the table has a ``level`` column."""
    if "level" not in table.columns or level == "all":
        return table.reset_index(drop=True)
    rows = table[table["level"].astype(str) == level]
    if rows.empty:
        present = ", ".join(sorted(set(table["level"].astype(str))))
        raise InputError(f"no rows with level '{level}' (levels present: {present})", path)
    return rows.reset_index(drop=True)


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` (CSV, or TSV for ``.tsv``/``.txt``) atomically with the one table writer."""
    from osteoimaging.reports import frame_rows
    from osteoimaging.tables import write_table as write_rows

    return write_rows(frame_rows(table), path, columns=[str(c) for c in table.columns])
