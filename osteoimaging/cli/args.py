"""Parsing of command-line values shared by the sub-commands (points, number lists)."""

from __future__ import annotations

import math

from osteoimaging.errors import InputError


def parse_point(text: str) -> tuple[float, float, float]:
    """``"X,Y,Z"`` → three finite floats (InputError otherwise)."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError as exc:
        raise InputError(f"bad point '{text}': expected X,Y,Z in mm") from exc
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise InputError(f"bad point '{text}': expected three finite numbers X,Y,Z in mm")
    return values[0], values[1], values[2]


def parse_point_list(text: str) -> list[float]:
    """``"20,21"`` → ``[20.0, 21.0]``; every value finite (InputError otherwise)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise InputError(f"bad number list '{text}'") from exc
    if not values or not all(math.isfinite(v) for v in values):
        raise InputError(f"bad number list '{text}': expected finite numbers")
    return values
