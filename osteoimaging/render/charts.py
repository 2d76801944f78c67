"""Small charts for reports: the sub-region grid of one map and a bar chart across levels."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from osteoimaging.render import annotate as A
from osteoimaging.render.colormaps import apply_colormap, readable_ink
from osteoimaging.render.text import draw_text, text_mask, text_size

ROWS = ("superior", "middle", "inferior")
COLUMNS = ("anterior", "middle", "posterior")
EMPTY_CELL = (225, 225, 225)
FLAG_COLOUR = (215, 95, 0)
REFERENCE_COLOUR = (180, 30, 30)
_PAD = 16


def _range(values: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    if hi <= lo:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    return lo, hi


def subregion_grid_figure(
    grids: Sequence[np.ndarray],
    *,
    panel_titles: Sequence[str] | None = None,
    counts: Sequence[np.ndarray] | None = None,
    title: str = "",
    label: str = "",
    units: str = "",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    row_labels: Sequence[str] = ROWS,
    col_labels: Sequence[str] = COLUMNS,
) -> Image.Image:
    """3×3 grids (rows cranio-caudal, columns antero-posterior) of one measure, coloured.

    One grid per entry of ``grids`` (e.g. right and left halves, in that order — the
    patient's right on the left as in radiological views). Each cell shows its value and,
    with ``counts``, the number of voxels with a value; the text is black on light cells and
    white on dark ones, whichever contrasts more (≥ 4.5:1, WCAG AA). Empty cells (NaN) are
    grey, marked ``n/a``. A colour bar gives ``label (units)``.
    """
    arrays = [np.asarray(g, dtype=float).reshape(3, 3) for g in grids]
    if not arrays:
        raise ValueError("no grid to draw")
    lo, hi = _range(np.concatenate([a.ravel() for a in arrays]), vmin, vmax)
    cell_w, cell_h = 118, 74
    row_w = max(text_size(t, A.LABEL_PT)[0] for t in row_labels) + 12
    head_h = text_size("Xg", A.HEAD_PT)[1] + 6
    col_h = text_size("Xg", A.LABEL_PT)[1] + 6
    grid_w = 3 * cell_w
    gap = 28
    width = 2 * _PAD + row_w + len(arrays) * grid_w + (len(arrays) - 1) * gap
    title_h = text_size("Xg", A.TITLE_PT)[1] + 8 if title else 0
    bar_w = min(360, width - 2 * _PAD)
    bar_h = A.colorbar_size(bar_w)[1]
    height = _PAD + title_h + head_h + col_h + 3 * cell_h + 16 + bar_h + _PAD
    image = Image.new("RGB", (width, height), A.PAPER)
    draw = ImageDraw.Draw(image)
    y = _PAD
    if title:
        draw_text(image, (_PAD, y), title, A.TITLE_PT, A.INK)
        y += title_h
    top = y + head_h + col_h
    for r, name in enumerate(row_labels):
        draw_text(
            image, (_PAD + row_w - 10, top + (r + 0.5) * cell_h), name, A.LABEL_PT, A.INK, "rm"
        )
    for n, grid in enumerate(arrays):
        x0 = _PAD + row_w + n * (grid_w + gap)
        if panel_titles is not None:
            draw_text(image, (x0 + grid_w / 2, y), panel_titles[n], A.HEAD_PT, A.INK, "mt")
        for c, name in enumerate(col_labels):
            draw_text(image, (x0 + (c + 0.5) * cell_w, y + head_h), name, A.LABEL_PT, A.INK, "mt")
        rgb = apply_colormap(grid, lo, hi, cmap)
        for r in range(3):
            for c in range(3):
                v = grid[r, c]
                box = (
                    x0 + c * cell_w,
                    top + r * cell_h,
                    x0 + (c + 1) * cell_w - 1,
                    top + (r + 1) * cell_h - 1,
                )
                fill = tuple(int(k) for k in rgb[r, c]) if np.isfinite(v) else EMPTY_CELL
                draw.rectangle(box, fill=fill, outline=A.PAPER, width=2)
                ink = readable_ink(np.asarray(fill))
                cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                text = A.format_value(v) if np.isfinite(v) else "n/a"
                if counts is not None:
                    draw_text(image, (cx, cy - 2), text, A.HEAD_PT + 1, ink, "mb")
                    k = np.asarray(counts[n], dtype=float).reshape(3, 3)[r, c]
                    draw_text(image, (cx, cy + 2), f"n = {int(k)}", A.SMALL_PT - 1, ink, "mt")
                else:
                    draw_text(image, (cx, cy), text, A.HEAD_PT + 1, ink, "mm")
    bar_label = f"{label} ({units})" if units else label
    A.colorbar(image, _PAD, top + 3 * cell_h + 16, bar_w, cmap, lo, hi, bar_label)
    return image


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    errors: Sequence[float | None] | None = None,
    flags: Sequence[str | None] | None = None,
    title: str = "",
    label: str = "",
    units: str = "",
    reference: tuple[float, str] | None = None,
    colour: tuple[int, int, int] = (66, 110, 170),
) -> Image.Image:
    """One bar per level (e.g. T12 … L4) of one measure, with ± ``errors`` and ``flags``.

    A flagged bar (flag text not empty) is drawn in orange with ``!`` by its value and the
    flag listed under the chart; a missing value (NaN/None) is written ``n/a``.
    ``reference`` = (value, name) draws a dashed line (e.g. a diagnostic threshold), named
    under the chart.
    """
    n = len(labels)
    if n == 0 or len(values) != n:
        raise ValueError("labels and values must be non-empty and of equal length")
    vals = np.array([np.nan if v is None else float(v) for v in values])
    errs = np.array([np.nan if e is None else float(e) for e in (errors or [None] * n)])
    flag_list = [f or "" for f in (flags or [""] * n)]
    span = np.concatenate([vals - np.nan_to_num(errs), vals + np.nan_to_num(errs), [0.0]])
    if reference is not None:
        span = np.append(span, reference[0])
    lo, hi = float(np.nanmin(span)), float(np.nanmax(span))
    if hi <= lo:
        hi = lo + 1.0
    room = (hi - lo) * 0.12  # for the value written beyond each bar end
    lo, hi = (lo - room if lo < 0 else lo), hi + room
    ticks = A.nice_ticks(lo, hi, 6)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    tick_w = max(text_size(A.format_value(t, step), A.SMALL_PT)[0] for t in ticks)
    axis_x = _PAD + text_size("Xg", A.LABEL_PT)[1] + 8 + tick_w + 8
    plot_w = max(n * 84, 300)
    slot = plot_w / n
    footnotes = [f"! {lab}: {f}" for lab, f in zip(labels, flag_list, strict=True) if f]
    if reference is not None:
        footnotes.insert(0, f"- - -  {reference[1]}")
    foot_h = len(footnotes) * (text_size("Xg", A.SMALL_PT)[1] + 4)
    title_h = text_size("Xg", A.TITLE_PT)[1] + 10 if title else 0
    plot_h = 300
    width = max(axis_x + plot_w + _PAD + 10, 420)
    height = _PAD + title_h + plot_h + text_size("Xg", A.LABEL_PT)[1] + 14 + foot_h + _PAD
    image = Image.new("RGB", (width, height), A.PAPER)
    draw = ImageDraw.Draw(image)
    if title:
        draw_text(image, (_PAD, _PAD), title, A.TITLE_PT, A.INK)
    top = _PAD + title_h
    bottom = top + plot_h

    def y_of(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * plot_h

    for t in ticks:
        ty = y_of(t)
        draw.line((axis_x, ty, axis_x + plot_w, ty), fill=(225, 225, 225))
        draw.line((axis_x - 5, ty, axis_x, ty), fill=A.INK)
        draw_text(image, (axis_x - 8, ty), A.format_value(t, step), A.SMALL_PT, A.INK, "rm")
    y_label = f"{label} ({units})" if units else label
    if y_label:
        rotated = text_mask(y_label, A.LABEL_PT).rotate(90, expand=True)
        image.paste(A.INK, (_PAD, int(top + plot_h / 2 - rotated.height / 2)), rotated)
    zero = y_of(0.0)
    for i in range(n):
        cx = axis_x + (i + 0.5) * slot
        draw_text(image, (cx, bottom + 8), labels[i], A.LABEL_PT, A.INK, "mt")
        v = vals[i]
        if not math.isfinite(v):
            text = "n/a !" if flag_list[i] else "n/a"
            draw_text(image, (cx, zero - 4), text, A.SMALL_PT, A.MUTED, "mb")
            continue
        fill = FLAG_COLOUR if flag_list[i] else colour
        y0, y1 = sorted((y_of(v), zero))
        draw.rectangle((cx - slot * 0.32, y0, cx + slot * 0.32, max(y1, y0 + 1)), fill=fill)
        e = errs[i]
        tip = y_of(v)
        if math.isfinite(e) and e > 0:
            ya, yb = y_of(v - e), y_of(v + e)
            draw.line((cx, ya, cx, yb), fill=A.INK, width=2)
            for yy in (ya, yb):
                draw.line((cx - 8, yy, cx + 8, yy), fill=A.INK, width=2)
            tip = min(tip, yb) if v >= 0 else max(tip, ya)
        text = A.format_value(v) + (" !" if flag_list[i] else "")
        if v >= 0:
            draw_text(image, (cx, tip - 4), text, A.SMALL_PT, A.INK, "mb")
        else:
            draw_text(image, (cx, tip + 4), text, A.SMALL_PT, A.INK, "mt")
    draw.line((axis_x, top, axis_x, bottom), fill=A.INK)
    draw.line((axis_x, zero, axis_x + plot_w, zero), fill=A.INK)
    if reference is not None:
        ry = y_of(reference[0])
        for sx in range(int(axis_x), int(axis_x + plot_w), 12):
            draw.line((sx, ry, min(sx + 6, axis_x + plot_w), ry), fill=REFERENCE_COLOUR, width=2)
    fy = bottom + text_size("Xg", A.LABEL_PT)[1] + 14
    for line in footnotes:
        ink = FLAG_COLOUR if line.startswith("!") else REFERENCE_COLOUR
        draw_text(image, (_PAD, fy), line, A.SMALL_PT, ink)
        fy += text_size("Xg", A.SMALL_PT)[1] + 4
    return image
