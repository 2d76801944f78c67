"""Reading the JSON documents OsteoImaging writes (calibration profiles, radscore models).

Each document carries a ``"format"`` tag; anything else gets an :class:`InputError` naming
the file and the problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from osteoimaging.errors import InputError


def read_json_document(path: str | Path, fmt: str, what: str) -> dict[str, Any]:
    """The JSON object in ``path`` whose ``"format"`` is ``fmt``; ``what`` names it in errors."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a JSON {what} ({exc})", path) from exc
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise InputError(f"not an OsteoImaging {what} (format '{fmt}')", path)
    return data
