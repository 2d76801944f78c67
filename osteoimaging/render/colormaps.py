"""Colour lookup tables and value → colour mapping, without matplotlib.

*magma* and *viridis* are the perceptually uniform maps of Smith, van der Walt and Firing
("mpl-colormaps", https://github.com/BIDS/colormap, CC0 1.0), stored as their published
256 × RGB tables in ``colormaps.json`` (written once by ``scripts/make_colormaps.py``).
``grey`` is the linear ramp used for CT windows.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import numpy as np

COLORMAPS = ("magma", "viridis", "grey")


@cache
def colormap(name: str) -> np.ndarray:
    """The (256, 3) float table of ``name`` (values in [0, 1]); read-only."""
    if name in ("grey", "gray"):
        table = np.repeat(np.linspace(0.0, 1.0, 256)[:, None], 3, axis=1)
    else:
        text = resources.files("osteoimaging.render").joinpath("colormaps.json").read_text("utf-8")
        maps = json.loads(text)["maps"]
        if name not in maps:
            raise ValueError(f"unknown colormap {name!r}; known: {', '.join(COLORMAPS)}")
        table = np.asarray(maps[name], dtype=float)
    table.setflags(write=False)
    return table


def colormap_u8(name: str) -> np.ndarray:
    """The (256, 3) uint8 table of ``name``."""
    return np.round(colormap(name) * 255.0).astype(np.uint8)


def normalise(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """``(values - vmin) / (vmax - vmin)`` clipped to [0, 1]; NaN stays NaN."""
    span = float(vmax) - float(vmin)
    if not np.isfinite(span) or span <= 0:
        span = 1.0
    return np.clip((np.asarray(values, dtype=float) - float(vmin)) / span, 0.0, 1.0)


def apply_colormap(values: np.ndarray, vmin: float, vmax: float, name: str) -> np.ndarray:
    """RGB uint8 array (…, 3) of ``values`` through the table; NaN → black (mask it yourself)."""
    t = normalise(values, vmin, vmax)
    index = np.zeros(t.shape, dtype=np.intp)
    finite = np.isfinite(t)
    index[finite] = np.round(t[finite] * 255.0).astype(np.intp)
    rgb = colormap_u8(name)[index]
    rgb[~finite] = 0
    return rgb


def window_to_grey(values: np.ndarray, level: float, width: float) -> np.ndarray:
    """uint8 grey of ``values`` in the window (level, width), as a CT viewer shows it.

    Linear from ``level − width/2`` (black) to ``level + width/2`` (white), clipped; NaN
    (outside the volume) is black.
    """
    t = normalise(values, level - width / 2.0, level + width / 2.0)
    return np.nan_to_num(np.round(t * 255.0), nan=0.0).astype(np.uint8)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance of sRGB colours (WCAG 2: linearised sRGB, ITU-R BT.709 weights)."""
    c = np.asarray(rgb, dtype=float) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def contrast_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """WCAG 2 contrast ratio (L_light + 0.05) / (L_dark + 0.05) of two RGB colours, 1–21."""
    la, lb = float(luminance(np.asarray(a))), float(luminance(np.asarray(b)))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def readable_ink(fill: np.ndarray) -> tuple[int, int, int]:
    """Black or white, whichever contrasts more with ``fill`` (always ≥ 4.58:1, WCAG AA)."""
    black, white = (0, 0, 0), (255, 255, 255)
    fill = np.asarray(fill)
    return black if contrast_ratio(fill, black) >= contrast_ratio(fill, white) else white
