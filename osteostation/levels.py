"""Which vertebra comes next: the station's level logic.

The station measures the levels the Slicer module offers
(:data:`osteoimaging.mrml.focal_workflow.LEVELS`, T11 to L5, cranial to caudal). After a
level is measured the next click is named after the next level down (L1 → L2), unless the
reader chooses another; "next"/"previous vertebra" step along the same list.
"""

from __future__ import annotations

from osteoimaging.errors import InputError
from osteoimaging.mrml.focal_workflow import LEVELS


def check_station_level(level: str) -> str:
    """``level`` as the station accepts it (T11 … L5), else InputError."""
    name = str(level).strip().upper()
    if name not in LEVELS:
        raise InputError(f"vertebra level must be one of {', '.join(LEVELS)}, got {level!r}")
    return name


def next_level(level: str | None) -> str | None:
    """The level below ``level`` (None after the last one, L1 when nothing was measured)."""
    if level is None:
        return "L1"
    index = LEVELS.index(check_station_level(level))
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


def previous_level(level: str | None) -> str | None:
    """The level above ``level`` (None before the first one)."""
    if level is None:
        return None
    index = LEVELS.index(check_station_level(level))
    return LEVELS[index - 1] if index > 0 else None


def level_for_click(chosen: str | None, last_measured: str | None) -> str:
    """The level a click is measured as: the reader's choice, else the one after the last
    measured level; InputError when the last level was already the lowest."""
    if chosen:
        return check_station_level(chosen)
    following = next_level(last_measured)
    if following is None:
        raise InputError(f"{last_measured} is the last level; choose the level of this vertebra")
    return following


def level_after(level: str) -> str:
    """The level the selector moves to after ``level`` was measured (stays on the last)."""
    return next_level(level) or check_station_level(level)
