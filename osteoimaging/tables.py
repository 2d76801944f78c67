"""The one table writer: rows (dicts) → CSV or TSV text and files.

Every results table of OsteoImaging goes through here, so all of them read the same
way: columns are the union of the rows' keys in first-seen order (``first`` columns
lead); a missing value, None, NaN or ±inf is an empty cell (read back as NaN by pandas
and R); floats keep full precision (Python's shortest round-trip text); booleans are
``true``/``false``; the file is UTF-8 with ``\\n`` line ends and written atomically.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from osteoimaging.atomic import write_text
from osteoimaging.errors import InputError


def columns_of(rows: Iterable[dict[str, Any]], first: Sequence[str] = ()) -> list[str]:
    """``first`` (those present), then every other key in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return [c for c in first if c in seen] + [c for c in seen if c not in first]


def cell(value: Any) -> str:
    """The text of one cell (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def table_text(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    first: Sequence[str] = (),
    delimiter: str = ",",
) -> str:
    """The rows as CSV (or TSV with ``delimiter="\\t"``) text with a header line."""
    columns = list(columns) if columns is not None else columns_of(rows, first)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return buf.getvalue()


def write_table(
    rows: Sequence[dict[str, Any]],
    path: str | Path,
    columns: Sequence[str] | None = None,
    *,
    first: Sequence[str] = (),
) -> Path:
    """Write ``rows`` to ``path``: CSV for ``.csv``, TSV for ``.tsv``/``.txt``."""
    suffix = Path(path).suffix.lower()
    if suffix not in {".csv", ".tsv", ".txt"}:
        raise InputError("a table file must end in .csv, .tsv or .txt", path)
    delimiter = "," if suffix == ".csv" else "\t"
    return write_text(path, table_text(rows, columns, first=first, delimiter=delimiter))


def read_table(path: str | Path) -> list[dict[str, str]]:
    """The rows of a table written by :func:`write_table` (values as text)."""
    path = Path(path)
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))
