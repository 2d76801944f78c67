"""Slice panels of a CT with colour maps and outlines, as a reading-grade PNG figure.

Each view (axial, coronal, sagittal) is resampled onto a plane through one centre point
(:mod:`osteoimaging.render.planes` has the display convention and the letter rule). Maps
and masks may live on any grid in the same patient frame (e.g. the oblique 0.3 mm analysis
grid): every layer is sampled at the same pixel centres in LPS mm, so they line up
exactly as in Slicer. Every panel carries orientation letters on its four sides, the
slice position (RAS, as Slicer's slice controller), a scale bar and the CT window; the
figure has a title, a colour bar with units per map and a legend of the outlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from PIL import Image

from osteoimaging.render import annotate as A
from osteoimaging.render.colormaps import apply_colormap, window_to_grey
from osteoimaging.render.planes import VIEWS, SlicePlane, patient_plane, sample, volume_plane
from osteoimaging.render.text import draw_text, text_size
from osteoimaging.volume import Volume

OUTLINE_COLOURS = ((0, 215, 255), (60, 230, 60), (255, 70, 200), (255, 255, 255))
_PAD, _GAP, _MARGIN = 16, 12, 28  # figure padding, gap between panels, letter margin


@dataclass(frozen=True)
class Overlay:
    """A colour map on any grid in the patient frame, with its name and units."""

    volume: Volume
    label: str
    units: str = ""
    cmap: str = "magma"
    vmin: float | None = None  # default: 0, or the minimum when values are negative
    vmax: float | None = None  # default: 99th percentile of the finite values
    opacity: float = 1.0
    clear_below: float | None = None  # values ≤ this are not coloured (None: all finite)

    @cached_property
    def value_range(self) -> tuple[float, float, bool, bool] | None:
        """(vmin, vmax, values below vmin exist, values above vmax exist); None if no values."""
        values = self.volume.array
        finite = values[np.isfinite(values)].astype(np.float64)
        if finite.size == 0:
            return None
        lo = self.vmin if self.vmin is not None else min(0.0, float(finite.min()))
        hi = self.vmax if self.vmax is not None else float(np.percentile(finite, 99))
        if hi <= lo:
            hi = max(float(finite.max()), lo + (abs(lo) * 1e-3 or 1.0))
        return lo, hi, bool(finite.min() < lo), bool(finite.max() > hi)


@dataclass(frozen=True)
class Outline:
    """A mask (non-zero = inside) drawn as a contour, named in the legend."""

    mask: Volume
    label: str
    colour: tuple[int, int, int] | None = None  # default: from OUTLINE_COLOURS in order
    width: int = 2

    @cached_property
    def inside(self) -> Volume:
        """The mask as booleans (converted once, shared by the views)."""
        arr = self.mask.array
        return self.mask if arr.dtype == bool else self.mask.with_array(arr != 0)


@dataclass
class PanelInfo:
    """Where one view sits in the figure, for callers and tests."""

    plane: SlicePlane
    image_box: tuple[int, int, int, int]  # (x0, y0, x1, y1) of the slice picture, x1/y1 excl.
    letters: dict[str, str]
    position: str
    scale_bar_mm: float
    scale_bar_px: tuple[int, int, int]  # drawn bar: (x0, x1) inclusive, and its middle row y


@dataclass
class SliceFigure:
    """The figure and the layout of its panels."""

    image: Image.Image
    panels: list[PanelInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "focal BMC loss: no values"


def render_view(
    ct: Volume,
    plane: SlicePlane,
    window: tuple[float, float] = (400.0, 1500.0),
    overlays: Sequence[Overlay] = (),
    outlines: Sequence[Outline] = (),
) -> np.ndarray:
    """The RGB picture (height, width, 3) of one plane: CT in the window, maps, outlines."""
    level, width = window
    grey = window_to_grey(sample(ct, plane, linear=True), level, width)
    rgb = np.repeat(grey[..., None], 3, axis=2).astype(np.float32)
    for ov in overlays:
        rng = ov.value_range
        if rng is None:
            continue
        values = sample(ov.volume, plane, linear=False)
        show = np.isfinite(values)
        if ov.clear_below is not None:
            show &= values > ov.clear_below
        colour = apply_colormap(values, rng[0], rng[1], ov.cmap).astype(np.float32)
        a = float(np.clip(ov.opacity, 0.0, 1.0))
        rgb[show] = (1 - a) * rgb[show] + a * colour[show]
    for n, ol in enumerate(outlines):
        edge = _edge(_mask_on(ol.inside, plane), max(1, ol.width))
        rgb[edge] = _outline_colour(ol, n)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _mask_on(mask: Volume, plane: SlicePlane) -> np.ndarray:
    return sample(mask, plane, linear=True, outside=0.0) >= 0.5


def _edge(inside: np.ndarray, width: int) -> np.ndarray:
    """The inner ``width``-pixel rim of a 2D mask (4-neighbour erosion)."""
    core = inside.copy()
    for _ in range(width):
        padded = np.pad(core, 1, constant_values=False)
        core = (
            padded[1:-1, 1:-1]
            & padded[:-2, 1:-1]
            & padded[2:, 1:-1]
            & padded[1:-1, :-2]
            & padded[1:-1, 2:]
        )
    return inside & ~core


def _outline_colour(outline: Outline, n: int) -> tuple[int, int, int]:
    return outline.colour or OUTLINE_COLOURS[n % len(OUTLINE_COLOURS)]


def _first_support(overlays: Sequence[Overlay], outlines: Sequence[Outline]):
    """(grid, boolean support) of the first non-empty outline, else of the first map."""
    for outline in outlines:
        if outline.inside.array.any():
            return outline.mask, outline.inside.array
    for overlay in overlays:
        finite = np.isfinite(overlay.volume.array)
        if finite.any():
            return overlay.volume, finite
    return None, None


def _profiles(inside: np.ndarray) -> list[np.ndarray]:
    """Voxel counts along i, j, k (projections of the support)."""
    return [inside.sum(axis=axes, dtype=np.int64) for axes in ((0, 1), (0, 2), (1, 2))]


def default_centre(
    ct: Volume, overlays: Sequence[Overlay] = (), outlines: Sequence[Outline] = ()
) -> tuple[float, float, float]:
    """LPS centre: of the first outline's voxels, else the first map's values, else the CT."""
    vol, inside = _first_support(overlays, outlines)
    if vol is None:
        return tuple(float(c) for c in _corners(ct, None).mean(axis=0))  # type: ignore[return-value]
    mean_ijk = [float(p @ np.arange(len(p))) / float(p.sum()) for p in _profiles(inside)]
    return tuple(float(c) for c in vol.index_to_physical(np.asarray(mean_ijk)))  # type: ignore[return-value]


def _corners(vol: Volume, inside: np.ndarray | None) -> np.ndarray:
    """LPS corners (8, 3) of the voxel-edge bounding box of ``inside`` (None: whole grid)."""
    if inside is None:
        lo, hi = np.full(3, -0.5), np.asarray(vol.size, dtype=float) - 0.5
    else:
        nz = [np.flatnonzero(p) for p in _profiles(inside)]
        lo = np.array([n[0] for n in nz]) - 0.5
        hi = np.array([n[-1] for n in nz]) + 0.5
    grid = np.array(
        [[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])]
    )
    return vol.index_to_physical(grid)


def default_fov(
    ct: Volume, centre, overlays: Sequence[Overlay] = (), outlines: Sequence[Outline] = ()
) -> float:
    """Square field of view (mm): the first outline (else map) with a margin, else the CT."""
    ct_half = float(np.abs(_corners(ct, None) - np.asarray(centre)).max())
    vol, inside = _first_support(overlays, outlines)
    if vol is None:
        return 2 * ct_half
    half = float(np.abs(_corners(vol, inside) - np.asarray(centre)).max())
    return 2 * min(max(half * 1.4 + 15.0, 25.0), ct_half)


def slice_figure(
    ct: Volume,
    centre_lps: Sequence[float] | None = None,
    *,
    overlays: Sequence[Overlay] = (),
    outlines: Sequence[Outline] = (),
    window: tuple[float, float] = (400.0, 1500.0),
    window_units: str = "HU",
    title: str = "",
    views: Sequence[str] = VIEWS,
    planes: str = "patient",
    grid: Volume | None = None,
    radiological: bool = True,
    fov_mm: float | None = None,
    panel_px: int = 330,
) -> SliceFigure:
    """Axial/coronal/sagittal panels through ``centre_lps`` with letters, scale, legend.

    ``window`` is (level, width) in ``window_units``. ``planes="patient"`` uses Slicer's
    default views; ``"volume"`` the voxel planes of ``grid`` (default: the CT), e.g. the
    vertebra-aligned analysis grid (see :func:`~osteoimaging.render.planes.volume_plane`).
    ``title`` is the caller's text (level, input name) — never patient data.
    """
    if planes not in ("patient", "volume"):
        raise ValueError("planes must be 'patient' or 'volume'")
    centre = (
        tuple(float(c) for c in centre_lps)
        if centre_lps is not None
        else default_centre(ct, overlays, outlines)
    )
    fov = float(fov_mm) if fov_mm else default_fov(ct, centre, overlays, outlines)
    if planes == "patient":
        plane_list = [patient_plane(v, centre, fov, panel_px) for v in views]
    else:
        plane_list = [
            volume_plane(v, centre, fov, panel_px, grid or ct, radiological) for v in views
        ]
    pictures = [render_view(ct, p, window, overlays, outlines) for p in plane_list]

    head_h = text_size("Xg", A.HEAD_PT)[1] + 8
    w_text = _window_text(window, window_units)
    bar_w = max(_bar_width(p) for p in plane_list) if plane_list else 0
    two_lines = bar_w + 16 + text_size(w_text, A.SMALL_PT)[0] > panel_px
    foot_h = 34 + (text_size("Xg", A.SMALL_PT)[1] + 4 if two_lines else 0)
    panel_w = panel_px + 2 * _MARGIN
    panel_h = head_h + panel_px + 2 * _MARGIN + foot_h
    width = 2 * _PAD + len(views) * panel_w + (len(views) - 1) * _GAP
    title_h = text_size("Xg", A.TITLE_PT)[1] + 6 if title else 0
    note = _plane_note(planes, plane_list)
    note_h = text_size("Xg", A.SMALL_PT)[1] + 8
    bottom, bottom_h = _bottom_strip(width - 2 * _PAD, overlays, outlines)
    height = _PAD + title_h + note_h + panel_h + (bottom_h + 10 if bottom_h else 0) + _PAD
    image = Image.new("RGB", (width, height), A.PAPER)
    y = _PAD
    if title:
        draw_text(image, (_PAD, y), title, A.TITLE_PT, A.INK)
        y += title_h
    draw_text(image, (_PAD, y), note, A.SMALL_PT, A.MUTED)
    y += note_h
    panels = []
    for n, (plane, picture) in enumerate(zip(plane_list, pictures, strict=True)):
        x = _PAD + n * (panel_w + _GAP)
        panels.append(_draw_panel(image, x, y, head_h, plane, picture, w_text, two_lines))
    if bottom is not None:
        image.paste(bottom, (_PAD, y + panel_h + 10))
    notes = [f"{ov.label}: no values" for ov in overlays if ov.value_range is None]
    return SliceFigure(image, panels, notes)


def _plane_note(planes: str, plane_list: Sequence[SlicePlane]) -> str:
    if planes == "patient":
        return (
            "Radiological convention (as Slicer): patient's right on the image left; "
            "planes along the patient axes."
        )
    tilt = max((p.tilt_deg() for p in plane_list), default=0.0)
    return (
        "Radiological convention; planes along the voxel axes of the analysis grid "
        f"(up to {tilt:.0f}° from the patient axes: see the letters)."
    )


def _draw_panel(
    image: Image.Image,
    x: int,
    y: int,
    head_h: int,
    plane: SlicePlane,
    picture: np.ndarray,
    w_text: str,
    two_lines: bool,
) -> PanelInfo:
    size = plane.size[0]
    ix, iy = x + _MARGIN, y + head_h + _MARGIN
    draw_text(image, (ix, y + head_h - 4), plane.view.capitalize(), A.HEAD_PT, A.INK, "lb")
    position = plane.position_label()
    draw_text(image, (ix + size, y + head_h - 4), position, A.LABEL_PT, A.INK, "rb")
    image.paste(Image.fromarray(picture, "RGB"), (ix, iy))
    letters = plane.letters()
    mid_x, mid_y = ix + size / 2, iy + size / 2
    draw_text(image, (mid_x, iy - _MARGIN / 2), letters["top"], A.HEAD_PT, A.INK, "mm")
    draw_text(image, (mid_x, iy + size + _MARGIN / 2), letters["bottom"], A.HEAD_PT, A.INK, "mm")
    draw_text(image, (ix - _MARGIN / 2, mid_y), letters["left"], A.HEAD_PT, A.INK, "mm")
    draw_text(image, (ix + size + _MARGIN / 2, mid_y), letters["right"], A.HEAD_PT, A.INK, "mm")
    bar_mm = A.nice_length(0.3 * size * plane.pixel_mm)
    bar_px = round(bar_mm / plane.pixel_mm)
    bar_y = iy + size + _MARGIN + 16
    extent = A.scale_bar(image, ix, bar_y, bar_px, f"{A.format_value(bar_mm)} mm")
    if two_lines:
        draw_text(image, (ix + size, bar_y + 14), w_text, A.SMALL_PT, A.INK, "rt")
    else:
        draw_text(image, (ix + size, bar_y), w_text, A.SMALL_PT, A.INK, "rm")
    return PanelInfo(
        plane, (ix, iy, ix + size, iy + size), letters, position, bar_mm, (*extent, bar_y)
    )


def _window_text(window: tuple[float, float], units: str) -> str:
    level, width = window
    return f"W {A.format_value(width)}  L {A.format_value(level)} {units}".rstrip()


def _bar_width(plane: SlicePlane) -> int:
    """Pixels taken by the scale bar and its label."""
    mm = A.nice_length(0.3 * plane.size[0] * plane.pixel_mm)
    return round(mm / plane.pixel_mm) + 8 + text_size(f"{A.format_value(mm)} mm", A.SMALL_PT)[0]


def _bottom_strip(
    width: int, overlays: Sequence[Overlay], outlines: Sequence[Outline]
) -> tuple[Image.Image | None, int]:
    items = [(o.label, _outline_colour(o, n)) for n, o in enumerate(outlines)]
    bar_w = min(380, width // 2 - 20)
    bar_h = A.colorbar_size(bar_w)[1]
    bars_h = len(overlays) * (bar_h + 8)
    leg_w, leg_h = A.legend_size(items)
    height = max(bars_h, leg_h)
    if height == 0:
        return None, 0
    strip = Image.new("RGB", (width, height), A.PAPER)
    for n, ov in enumerate(overlays):
        label = f"{ov.label} ({ov.units})" if ov.units else ov.label
        if ov.clear_below is not None:
            label += f"; values <= {A.format_value(ov.clear_below)} not coloured"
        rng = ov.value_range
        top = n * (bar_h + 8)
        if rng is None:
            A.colorbar(
                strip, 0, top, bar_w, ov.cmap, 0.0, 1.0, label, note="no values (map is empty)"
            )
            continue
        A.colorbar(
            strip,
            0,
            top,
            bar_w,
            ov.cmap,
            rng[0],
            rng[1],
            label,
            extend_low=rng[2],
            extend_high=rng[3],
        )
    if items:
        A.legend(strip, width - leg_w if overlays else 0, 0, items)
    return strip, height
