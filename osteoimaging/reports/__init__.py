"""The one HTML report builder: Jinja2 templates for the focal, radiomics and statistics
reports.

Every report is one self-contained page (figures embedded as PNG data URIs, no network
access) extending ``templates/base.html``, which holds the shared layout and the print
style (A4 through the browser's print). Templates are rendered with autoescaping and
strict undefined variables, so a missing value is an error here, not a blank in a
report. Jinja2 is imported on first use: in 3D Slicer it is installed after the user
confirms (it is not among the packages Slicer bundles).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from osteoimaging._version import __version__

TEMPLATES = Path(__file__).with_name("templates")


def number(value: Any, pattern: str = "{:.3g}") -> str:
    """A number for people: ``n/a`` for None/NaN/inf, else ``pattern`` applied."""
    if value is None or value == "":
        return "n/a"
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    if isinstance(value, int | float):
        return pattern.format(value)
    return str(value)


def data_uri(png: bytes | None) -> str:
    """``data:image/png;base64,…`` of PNG bytes (empty for None)."""
    if not png:
        return ""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class TableColumn:
    """One column of a report table: ``pattern`` formats numbers (``None``: text)."""

    key: str
    label: str
    pattern: str | None = None

    @property
    def numeric(self) -> bool:
        return self.pattern is not None


@dataclass
class Table:
    """A report table: columns and rows (dicts keyed by ``TableColumn.key``).

    ``transposed``: show one column per row (for tables with many columns and few rows),
    headed by ``row_labels``; ``key_columns`` then name the rows' identifying columns.
    ``notes``: footnotes that long text cells point to as ``[1]``, ``[2]``….
    """

    columns: list[TableColumn]
    rows: list[dict[str, Any]]
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    key_columns: list[str] = field(default_factory=list)
    transposed: bool = False

    @property
    def row_labels(self) -> list[str]:
        return [
            " · ".join(str(r[k]) for k in self.key_columns if r[k] is not None) for r in self.rows
        ]

    @property
    def value_columns(self) -> list[TableColumn]:
        """The columns that are not key columns (the template's value cells)."""
        return [c for c in self.columns if c.key not in self.key_columns]


def _plain(value: Any) -> Any:
    """A plain Python value: numpy scalars unboxed, missing values (NaN, NA, NaT) as None."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value).__name__ in {"NAType", "NaTType"}:
        return None
    return value


def frame_rows(frame: Any) -> list[dict[str, Any]]:
    """The rows of a pandas DataFrame as dicts of plain Python values (None for missing).

    For :func:`osteoimaging.tables.write_table` (so CSV cells of missing values are empty
    and floats keep full precision) and for report tables. Column names become text.
    """
    keys = [str(c) for c in frame.columns]
    return [
        {k: _plain(v) for k, v in zip(keys, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def column_pattern(values: list[Any], float_pattern: str = "{:.4g}") -> str | None:
    """The number format of a column of plain values: ``{:d}`` for whole numbers (ints,
    or floats that are all whole), ``float_pattern`` for other numbers, ``None`` (text)
    when any present value is not a number (booleans count as text)."""
    present = [v for v in values if v is not None]
    if not present or any(isinstance(v, bool) or not isinstance(v, int | float) for v in present):
        return None
    finite = [v for v in present if math.isfinite(v)]
    if all(isinstance(v, int) for v in present):
        return "{:d}"
    if finite and all(float(v).is_integer() and abs(v) < 1e15 for v in finite):
        return "{:.0f}"
    return float_pattern


def frame_table(
    frame: Any,
    caption: str = "",
    float_pattern: str = "{:.4g}",
    *,
    max_columns: int = 12,
    max_transposed_rows: int = 8,
    note_length: int = 40,
) -> Table:
    """A report :class:`Table` of a pandas DataFrame.

    Each column's number format comes from its values (:func:`column_pattern`); labels
    are the column names (as in the CSV files). Text longer than ``note_length`` becomes
    a footnote (equal texts share one). A table wider than ``max_columns`` with at most
    ``max_transposed_rows`` rows is shown transposed, its rows named by the leading text
    columns.
    """
    rows = frame_rows(frame)
    keys = [str(c) for c in frame.columns]
    columns = [TableColumn(k, k, column_pattern([r[k] for r in rows], float_pattern)) for k in keys]
    notes: dict[str, int] = {}
    for row in rows:
        for column in columns:
            value = row[column.key]
            if not column.numeric and isinstance(value, str) and len(value) > note_length:
                number_ = notes.setdefault(value, len(notes) + 1)
                row[column.key] = f"[{number_}]"
    leading: list[str] = []
    for column in columns:
        if column.numeric:
            break
        leading.append(column.key)
    transposed = len(columns) > max_columns and len(rows) <= max_transposed_rows and bool(leading)
    return Table(
        columns,
        rows,
        caption,
        notes=[f"[{n}] {text}" for text, n in notes.items()],
        key_columns=leading if transposed else [],
        transposed=transposed,
    )


@lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment over ``templates/`` (cached)."""
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - Jinja2 is a core dependency
        raise ImportError("HTML reports need the Jinja2 package: pip install jinja2") from exc
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.filters["data_uri"] = data_uri
    env.globals["software_version"] = __version__
    return env


def render(template: str, **context: Any) -> str:
    """The HTML text of ``template`` (a file in ``templates/``) with ``context``."""
    return environment().get_template(template).render(**context)
