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
