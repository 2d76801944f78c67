"""Figure furniture drawn with Pillow: scale bar, colour bar, legend, tick values.

Sizes are in pixels of the final PNG (no DPI scaling): figures are made at the size they
are read at (≈ 1200 px wide for three slice panels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from osteoimaging.render.colormaps import colormap_u8
from osteoimaging.render.text import draw_text, text_size

INK = (25, 25, 25)
MUTED = (95, 95, 95)
PAPER = (255, 255, 255)
TITLE_PT, HEAD_PT, LABEL_PT, SMALL_PT = 22, 17, 15, 14


def nice_length(max_mm: float) -> float:
    """The largest 1·10ⁿ, 2·10ⁿ or 5·10ⁿ mm not above ``max_mm`` (scale-bar length)."""
    if not math.isfinite(max_mm) or max_mm <= 0:
        raise ValueError("a scale bar needs a positive length")
    exp = math.floor(math.log10(max_mm))
    for m in (5.0, 2.0, 1.0):
        if m * 10.0**exp <= max_mm * (1 + 1e-9):
            return m * 10.0**exp
    return 10.0 ** (exp - 1) * 5.0


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10ⁿ) within [lo, hi], about ``target``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    exp = math.floor(math.log10((hi - lo) / max(1, target - 1)))
    steps = [m * 10.0**e for e in (exp - 1, exp, exp + 1) for m in (1.0, 2.0, 2.5, 5.0)]

    def count(step: float) -> int:
        return math.floor(hi / step + 1e-9) - math.ceil(lo / step - 1e-9) + 1

    step = min(steps, key=lambda st: (abs(count(st) - target), -st))
    first = math.ceil(lo / step - 1e-9)
    return [round(n * step, 12) + 0.0 for n in range(first, first + count(step))]


def format_value(v: float, step: float | None = None) -> str:
    """A tick or cell value: as many decimals as ``step`` needs (3 significant otherwise)."""
    if not math.isfinite(v):
        return "n/a"
    if step is not None and step > 0:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        if abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
            decimals += 1
        return f"{v:.{decimals}f}"
    if abs(v) >= 1000 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.3g}"


def scale_bar(image: Image.Image, x: int, y: int, length_px: int, label: str) -> tuple[int, int]:
    """A horizontal bar ``|——|`` of ``length_px`` from (x, y) (its vertical middle), label after.

    Returns the bar's pixel extent (x0, x1) inclusive of the end ticks.
    """
    draw = ImageDraw.Draw(image)
    x1 = x + length_px - 1
    draw.rectangle((x, y - 2, x1, y + 1), fill=INK)
    draw.rectangle((x, y - 6, x + 1, y + 5), fill=INK)
    draw.rectangle((x1 - 1, y - 6, x1, y + 5), fill=INK)
    draw_text(image, (x1 + 8, y), label, SMALL_PT, INK, "lm")
    return x, x1


def colorbar_size(width: int) -> tuple[int, int]:
    """(width, height) of a colour bar drawn by :func:`colorbar`."""
    return width, text_size("Xg", LABEL_PT)[1] + 4 + 16 + 6 + text_size("0", SMALL_PT)[1] + 2


def colorbar(
    image: Image.Image,
    x: int,
    y: int,
    width: int,
    cmap: str,
    vmin: float,
    vmax: float,
    label: str,
    *,
    extend_low: bool = False,
    extend_high: bool = False,
    note: str = "",
) -> None:
    """A horizontal colour bar with its label (e.g. ``focal BMC loss (mm)``) and ticks.

    ``extend_*`` draw a triangle at an end: values beyond it are shown in the end colour.
    With ``note`` (e.g. ``no values``) the bar is replaced by that text.
    """
    draw = ImageDraw.Draw(image)
    top = draw_text(image, (x, y), label, LABEL_PT, INK, "lt")[3] + 4
    bar_h = 16
    if note:
        draw_text(image, (x, top + bar_h / 2), note, LABEL_PT, MUTED, "lm")
        return
    tri = bar_h // 2 + 2
    x0, x1 = x + (tri if extend_low else 0), x + width - (tri if extend_high else 0)
    ramp = colormap_u8(cmap)[np.round(np.linspace(0, 255, max(2, x1 - x0))).astype(int)]
    strip = Image.fromarray(np.repeat(ramp[None, :, :], bar_h, axis=0), "RGB")
    image.paste(strip, (x0, top))
    draw.rectangle((x0 - 1, top - 1, x0 + strip.width, top + bar_h), outline=INK)
    lut = colormap_u8(cmap)
    if extend_low:
        draw.polygon(
            [(x0 - 1, top), (x, top + bar_h / 2), (x0 - 1, top + bar_h - 1)],
            fill=tuple(int(c) for c in lut[0]),
            outline=INK,
        )
    if extend_high:
        draw.polygon(
            [(x1, top), (x + width, top + bar_h / 2), (x1, top + bar_h - 1)],
            fill=tuple(int(c) for c in lut[-1]),
            outline=INK,
        )
    ticks = nice_ticks(vmin, vmax, 5)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else None
    span = (vmax - vmin) or 1.0
    last_right = -(10**9)
    for t in ticks:
        tx = x0 + (t - vmin) / span * (x1 - x0 - 1)
        draw.line((tx, top + bar_h, tx, top + bar_h + 4), fill=INK, width=1)
        text = format_value(t, step)
        tw = text_size(text, SMALL_PT)[0]
        tx_text = min(max(tx, x + tw / 2), x + width - tw / 2)  # keep the label on the bar
        if tx_text - tw / 2 > last_right + 6:
            box = draw_text(image, (tx_text, top + bar_h + 6), text, SMALL_PT, INK, "mt")
            last_right = box[2]


def legend_size(items: Sequence[tuple[str, tuple[int, int, int]]]) -> tuple[int, int]:
    """(width, height) of :func:`legend`."""
    if not items:
        return 0, 0
    widths = [text_size(label, LABEL_PT)[0] for label, _ in items]
    line_h = text_size("Xg", LABEL_PT)[1] + 6
    return 40 + max(widths), line_h * len(items)


def legend(
    image: Image.Image, x: int, y: int, items: Sequence[tuple[str, tuple[int, int, int]]]
) -> None:
    """One line per outline: a short stroke in its colour, then what it is."""
    draw = ImageDraw.Draw(image)
    line_h = text_size("Xg", LABEL_PT)[1] + 6
    for n, (label, colour) in enumerate(items):
        cy = y + n * line_h + line_h / 2
        draw.rectangle((x, cy - 3, x + 30, cy + 2), fill=colour, outline=INK)
        draw_text(image, (x + 40, cy), label, LABEL_PT, INK, "lm")
