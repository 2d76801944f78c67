"""The "Save report" HTML: the results table, calibration and parameters, one self-contained file.

Kept free of patient identifiers: the report names the levels and the measurements only.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

from osteoimaging._version import __version__
from osteoimaging.atomic import write_text
from osteoimaging.mrml.tables import table_rows


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}"
    return html.escape(str(value))


def report_html(
    rows: list[dict[str, Any]],
    title: str = "Focal osteoporosis defect",
    notes: dict[str, Any] | None = None,
    image_png: bytes | None = None,
) -> str:
    """A standalone HTML page: title, optional embedded PNG, the table, notes (key: value)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c, ''))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;text-align:right}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
    ]
    if image_png:
        encoded = base64.b64encode(image_png).decode("ascii")
        parts.append(f"<p><img alt='map overlay' src='data:image/png;base64,{encoded}'></p>")
    parts.append(f"<table><tr>{head}</tr>{body}</table>")
    if notes:
        items = "".join(
            f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
            for k, v in notes.items()
        )
        parts.append(f"<ul>{items}</ul>")
    parts.append(f"<p><small>OsteoImaging {__version__}</small></p></body></html>")
    return "\n".join(parts)


def save_report(
    table_node,
    path: str | Path,
    notes: dict[str, Any] | None = None,
    image_png: bytes | None = None,
) -> Path:
    """Write the HTML report of a results table node, atomically."""
    return write_text(path, report_html(table_rows(table_node), notes=notes, image_png=image_png))
