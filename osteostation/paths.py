"""Path safety: the station reads and lists only files under its data folder.

Every path the station opens is resolved (symbolic links followed, ``..`` removed) and
checked to lie under the resolved data folder; anything else is refused with an
:class:`~osteoimaging.errors.InputError`. Paths never come from URLs: the page names
series and profiles by opaque ids (:mod:`osteostation.series`), which the server maps
back to paths it listed itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from osteoimaging.errors import InputError


def data_root(folder: str | Path) -> Path:
    """The resolved data folder; InputError when it is missing or not a folder."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise InputError("the data folder does not exist or is not a folder", path)
    return path.resolve(strict=True)


def is_under(root: Path, path: Path) -> bool:
    """Whether ``path`` (resolved) is ``root`` or lies below it."""
    resolved = path.resolve()
    return resolved == root or root in resolved.parents


def safe_path(root: Path, relative: str | Path) -> Path:
    """``root / relative`` resolved, refused unless it stays under ``root``.

    ``relative`` must be relative, without NUL bytes; ``..`` and symbolic links that lead
    out of ``root`` are refused (the message names only the relative path).
    """
    text = os.fspath(relative)
    if not text or "\x00" in text:
        raise InputError("empty or invalid path")
    if Path(text).is_absolute() or Path(text).drive:
        raise InputError("absolute paths are not served; give a path inside the data folder", text)
    candidate = (root / text).resolve()
    if not (candidate == root or root in candidate.parents):
        raise InputError("path leads outside the data folder", text)
    return candidate


def relative_name(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (what the page shows)."""
    return path.resolve().relative_to(root).as_posix()
