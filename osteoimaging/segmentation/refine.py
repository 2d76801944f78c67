"""Where the body is: probes from the click to the body's centre, its columns and discs.

One GrowCut *probe* from a point (on a coarse working grid) grows the body between the
surroundings and the neighbouring vertebrae (:func:`.seeds.probe_seeds`); from the grown
region it measures

* the body's **footprint**: the in-plane cross-section of the grown region within
  ± ``slab_mm`` of the point, holes filled, opened by a disc of ``opening_mm`` (cuts the
  pedicles, ribs and osteophytes attached to the body) and its largest part; the **core**
  is the footprint eroded by ``core_erosion_mm``;
* in every core column (a cell of an in-plane raster in LPS x, y), the body's upper and
  lower **boundary** — the highest and lowest grown voxel: where the competition with the
  neighbouring vertebrae and the surroundings stopped, at the end plates;
* the **centre**: the footprint's centroid in-plane, the median mid-height of the core
  columns cranio-caudally.

:func:`refine_point` repeats probes from the centre until it moves less than
``tolerance_mm``; so clicks anywhere in the body converge to nearly the same centre and
the same columns, and the final seeds (:func:`body_seeds`) do not depend on where the
click landed. The profile of the mean intensity over the core columns confirms the discs
(:func:`confirm_discs`): a darker valley beyond each end plate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

from osteoimaging.errors import InputError
from osteoimaging.segmentation.cleanup import component_at
from osteoimaging.segmentation.crop import offsets_mm
from osteoimaging.segmentation.peaks import find_peaks
from osteoimaging.segmentation.seeds import (
    BACKGROUND,
    FOREGROUND,
    NEIGHBOUR,
    SeedingParameters,
    background,
    locate_canal,
    neighbour_seeds,
    probe_seeds,
    seed_level,
    squared_norm,
)
from osteoimaging.volume import Volume

GrowCut = Callable[[np.ndarray, np.ndarray, Sequence[float]], np.ndarray]


@dataclass
class RefineParameters:
    """How the click is moved to the body's centre (mm unless stated)."""

    probe_spacing_mm: float = 1.6
    max_probes: int = 3
    tolerance_mm: float = 2.0
    reseed_mm: float = 6.0
    max_shift_mm: float = 25.0
    slab_mm: float = 3.0
    opening_mm: float = 4.5
    core_erosion_mm: float = 4.0
    foreground_height_fraction: float = 0.25
    disc_window_mm: float = 12.0
    disc_prominence_hu: float = 8.0
    min_area_mm2: float = 500.0
    min_height_mm: float = 12.0


@dataclass
class Columns:
    """The body's footprint on an in-plane raster of LPS (x, y) cells around ``origin``,
    with the upper and lower boundary (absolute LPS z, mm) of every core column."""

    origin: np.ndarray
    cell_mm: float
    half: int
    footprint: np.ndarray
    core: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    voxel_z_mm: float

    def cell_index(self, points: np.ndarray) -> np.ndarray:
        """Flat raster index of each point's (x, y) (−1 outside the raster)."""
        rel = (points[..., :2] - self.origin[:2]) / self.cell_mm
        ix = np.rint(rel[..., 0]).astype(np.int64) + self.half
        iy = np.rint(rel[..., 1]).astype(np.int64) + self.half
        n = 2 * self.half + 1
        ok = (ix >= 0) & (ix < n) & (iy >= 0) & (iy < n)
        return np.where(ok, iy * n + ix, -1)

    def in_core(self, cells: np.ndarray) -> np.ndarray:
        return (cells >= 0) & self.core.ravel()[np.maximum(cells, 0)]


@dataclass
class Probe:
    """One probe: where it seeded, what it grew and where it puts the body's centre."""

    point: tuple[float, float, float]
    seed_hu: float
    canal_mm: float | None
    volume_ml: float
    centre: tuple[float, float, float] | None = None
    area_mm2: float = 0.0
    height_mm: float = 0.0
    top_reached: str | None = None
    bottom_reached: str | None = None
    problem: str | None = None
    columns: Columns | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "point_lps": list(self.point),
            "centre_lps": None if self.centre is None else list(self.centre),
            "seed_hu": self.seed_hu,
            "canal_mm": self.canal_mm,
            "volume_ml": self.volume_ml,
            "footprint_mm2": self.area_mm2,
            "height_mm": self.height_mm,
            "problem": self.problem,
        }


def cranio_caudal_spacing(volume: Volume) -> float:
    """Spacing of the array axis closest to the LPS z (cranio-caudal) direction."""
    return float(volume.spacing[int(np.argmax(np.abs(volume.direction[2])))])


def voxel_index(volume: Volume, point: Sequence[float]) -> tuple[int, int, int]:
    """Nearest array index (z, y, x) of a point, clipped to the array."""
    ijk = np.rint(volume.physical_to_index(np.asarray(point, dtype=float)))[::-1]
    return tuple(int(v) for v in np.clip(ijk, 0, np.asarray(volume.shape) - 1))


def _opened(mask: np.ndarray, radius_cells: float) -> np.ndarray:
    """2D opening by a disc (Euclidean distance maps), then the largest component."""
    if radius_cells > 0:
        eroded = ndi.distance_transform_edt(np.pad(mask, 1)) > radius_cells
        if eroded.any():
            mask = (ndi.distance_transform_edt(~eroded) <= radius_cells)[1:-1, 1:-1] & mask
    lab, n = ndi.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


def body_columns(
    grown: np.ndarray,
    work: Volume,
    offsets: np.ndarray,
    point: np.ndarray,
    params: RefineParameters,
) -> Columns | None:
    """Footprint, core and per-column boundaries of the grown region (None if empty)."""
    cell = float(min(work.spacing))
    half = int(np.ceil(np.abs(offsets[..., :2]).max() / cell)) + 1
    cols = Columns(
        origin=np.asarray(point, dtype=float),
        cell_mm=cell,
        half=half,
        footprint=np.zeros((2 * half + 1,) * 2, dtype=bool),
        core=np.zeros((2 * half + 1,) * 2, dtype=bool),
        top=np.full((2 * half + 1,) * 2, np.nan),
        bottom=np.full((2 * half + 1,) * 2, np.nan),
        voxel_z_mm=cranio_caudal_spacing(work),
    )
    cells = cols.cell_index(offsets + point)
    slab = grown & (np.abs(offsets[..., 2]) <= params.slab_mm)
    if not slab.any():
        return None
    fp = np.zeros(cols.footprint.size, dtype=bool)
    fp[cells[slab]] = True
    fp = ndi.binary_fill_holes(fp.reshape(cols.footprint.shape))
    fp = _opened(fp, params.opening_mm / cell)
    if not fp.any():
        return None
    core = ndi.distance_transform_edt(np.pad(fp, 1))[1:-1, 1:-1] * cell > params.core_erosion_mm
    cols.footprint, cols.core = fp, core if core.any() else fp
    sel = grown & cols.in_core(cells)
    z = offsets[..., 2][sel] + point[2]
    top = np.full(fp.size, -np.inf)
    bottom = np.full(fp.size, np.inf)
    np.maximum.at(top, cells[sel], z)
    np.minimum.at(bottom, cells[sel], z)
    ok = np.isfinite(top)
    cols.top.ravel()[ok] = top[ok]
    cols.bottom.ravel()[ok] = bottom[ok]
    cols.core &= np.isfinite(cols.top)
    return cols if cols.core.any() else None


def _reached(boundary: float, limit_mm: float, crop_edge_mm: float, voxel_mm: float) -> str | None:
    """Why a column boundary (offset from the point) is not an end plate, if it is not."""
    if abs(boundary) >= crop_edge_mm - 1.5 * voxel_mm:
        return "the edge of the image or crop"
    if abs(boundary) >= limit_mm - voxel_mm:
        return "the neighbour seeds"
    return None


def run_probe(
    smooth: Volume,
    point: Sequence[float],
    growcut: GrowCut,
    seeding: SeedingParameters,
    params: RefineParameters,
    path: str | Path | None = None,
) -> Probe:
    """Grow the body from ``point`` on ``smooth`` (a working grid around it) and measure it.

    Raises InputError (naming ``path``) when the point is not in bone.
    """
    point = np.asarray(point, dtype=float)
    offsets = offsets_mm(smooth, point)
    level = seed_level(smooth, offsets, seeding, path)
    canal = locate_canal(smooth, point, level, seeding)
    seeds = probe_seeds(smooth, offsets, canal, seeding)
    labels = growcut(smooth.array, seeds, smooth.spacing)
    grown = component_at(labels == FOREGROUND, voxel_index(smooth, point))
    probe = Probe(
        point=tuple(float(v) for v in point),
        seed_hu=level,
        canal_mm=canal,
        volume_ml=float(grown.sum() * smooth.voxel_volume_mm3 / 1000.0),
    )
    cols = body_columns(grown, smooth, offsets, point, params)
    if cols is None:
        probe.problem = "nothing grew around the point"
        return probe
    core = cols.core
    probe.columns = cols
    z_range = offsets[..., 2]
    limit = seeding.neighbour_offset_mm - seeding.neighbour_radius_mm
    upper = float(np.median(cols.top[core])) - point[2]
    lower = float(np.median(cols.bottom[core])) - point[2]
    probe.top_reached = _reached(upper, limit, float(z_range.max()), cols.voxel_z_mm)
    probe.bottom_reached = _reached(lower, limit, float(-z_range.min()), cols.voxel_z_mm)
    top, bottom = cols.top[core], cols.bottom[core]
    probe.area_mm2 = float(cols.footprint.sum() * cols.cell_mm**2)
    probe.height_mm = float(np.median(top - bottom) + cols.voxel_z_mm)
    iy, ix = np.nonzero(cols.footprint)
    centre_xy = point[:2] + cols.cell_mm * (np.array([ix.mean(), iy.mean()]) - cols.half)
    centre_z = float(np.median(0.5 * (top + bottom)))
    probe.centre = (float(centre_xy[0]), float(centre_xy[1]), centre_z)
    if probe.area_mm2 < params.min_area_mm2:
        probe.problem = f"footprint {probe.area_mm2:.0f} mm² < {params.min_area_mm2:g} mm²"
    elif probe.height_mm < params.min_height_mm:
        probe.problem = f"height {probe.height_mm:.1f} mm < {params.min_height_mm:g} mm"
    return probe


def _try_probe(
    make_grid: Callable[[np.ndarray, float], Volume],
    point: np.ndarray,
    growcut: GrowCut,
    seeding: SeedingParameters,
    params: RefineParameters,
) -> Probe:
    """A probe from a point other than the click: a point not in bone gives a failed probe."""
    try:
        return run_probe(make_grid(point, params.probe_spacing_mm), point, growcut, seeding, params)
    except InputError as exc:
        failed = Probe(tuple(float(v) for v in point), float("nan"), None, 0.0)
        failed.problem = exc.problem
        return failed


def _consistent(probes: list[Probe]) -> Probe | None:
    """The probe without a problem whose centre is nearest to the others' (the medoid)."""
    good = [p for p in probes if p.problem is None and p.centre is not None]
    if not good:
        return None
    centres = np.array([p.centre for p in good])
    spread = np.linalg.norm(centres[:, None] - centres[None], axis=-1).sum(axis=1)
    return good[int(np.argmin(spread))]


def refine_point(
    make_grid: Callable[[np.ndarray, float], Volume],
    click: Sequence[float],
    growcut: GrowCut,
    seeding: SeedingParameters,
    params: RefineParameters,
    path: str | Path | None = None,
) -> list[Probe]:
    """Probes from the click, then from each probe's centre, until the centre settles.

    ``make_grid(point, spacing_mm)`` returns the smoothed working grid around a point. The
    first probe raises InputError when the click is not in bone. When a probe grows nothing
    plausible (a click in a bright bone island, in a vein, on the cortex), probes are
    re-seeded once from the six points ``reseed_mm`` away from its point along the axes,
    and the one whose centre agrees best with the others' is continued. The search stops
    when the centre moves less than ``tolerance_mm`` (at least one probe voxel), after
    ``max_probes`` steps, or when a probe fails again.
    """
    click = np.asarray(click, dtype=float)
    first = run_probe(
        make_grid(click, params.probe_spacing_mm), click, growcut, seeding, params, path
    )
    probes = [first]
    steps, reseeded = 1, False
    while True:
        last = probes[-1]
        if last.problem is not None or last.centre is None:
            if reseeded:
                break
            reseeded = True
            around = np.asarray(last.point)
            shell = [
                around + params.reseed_mm * np.roll([sign, 0.0, 0.0], axis)
                for axis in range(3)
                for sign in (1.0, -1.0)
            ]
            probes += [_try_probe(make_grid, p, growcut, seeding, params) for p in shell]
            start = _consistent(probes[-len(shell) :])
            if start is None:
                break
            probes.append(probes.pop(probes.index(start)))
            continue
        if steps >= params.max_probes:
            break
        centre = np.asarray(last.centre)
        step = max(params.tolerance_mm, last.columns.cell_mm, last.columns.voxel_z_mm)
        if np.linalg.norm(centre - np.asarray(last.point)) < step:
            break
        if np.linalg.norm(centre - click) > params.max_shift_mm:
            break
        probes.append(_try_probe(make_grid, centre, growcut, seeding, params))
        steps += 1
    return probes


def best_probe(probes: list[Probe], click: Sequence[float], max_shift_mm: float) -> Probe:
    """The last probe without a problem whose centre is within ``max_shift_mm`` of the
    click (else the first probe)."""
    click = np.asarray(click, dtype=float)
    for probe in reversed(probes):
        if (
            probe.problem is None
            and probe.centre is not None
            and np.linalg.norm(np.asarray(probe.centre) - click) <= max_shift_mm
        ):
            return probe
    return probes[0]


@dataclass
class BodySeeds:
    """The final seed labels and the landmarks they were placed at (offsets in mm from
    the centre; None when not found)."""

    labels: np.ndarray
    canal_mm: float | None
    disc_above_mm: float | None
    disc_below_mm: float | None


def body_seeds(
    smooth: Volume,
    centre: Sequence[float],
    probe: Probe,
    seeding: SeedingParameters,
    params: RefineParameters,
) -> BodySeeds:
    """Final seed labels around the refined ``centre`` from a probe's columns.

    Foreground: the middle ``2 × foreground_height_fraction`` of every core column and a
    ball at the centre. Background: the surroundings (canal found from the centre, else
    the probe's), the neighbours, and the discs: in every core column, from half-way
    between the probe's upper (lower) boundary and the disc's middle — the valley of the
    core profile (:func:`confirm_discs`) — to ``disc_seed_thickness_mm`` past that middle,
    placed relative to each column's boundary so that the slab follows a tilted end plate
    (a slab of ``2 × disc_seed_thickness_mm`` just beyond the boundary when no valley is
    found). No disc
    seeds on a side where the probe ran to the image edge or the neighbour seeds.
    """
    centre = np.asarray(centre, dtype=float)
    offsets = offsets_mm(smooth, centre)
    canal = locate_canal(smooth, centre, probe.seed_hu, seeding)
    if canal is None and probe.canal_mm is not None:
        canal = probe.canal_mm + probe.point[1] - centre[1]
    seeds = np.zeros(smooth.shape, dtype=np.uint8)
    seeds[background(smooth, offsets, canal, seeding)] = BACKGROUND
    seeds[neighbour_seeds(offsets, seeding)] = NEIGHBOUR
    cols = probe.columns
    above = below = None
    if cols is not None:
        cells = cols.cell_index(offsets + centre)
        core = cols.in_core(cells)
        idx = np.maximum(cells, 0)
        z = offsets[..., 2] + centre[2]
        top = cols.top.ravel()[idx]
        bottom = cols.bottom.ravel()[idx]
        upper = float(np.median(cols.top[cols.core])) - centre[2]
        lower = float(np.median(cols.bottom[cols.core])) - centre[2]
        above, below = confirm_discs(*core_profile(smooth, centre, cols), upper, lower, params)
        half = max(seeding.disc_seed_thickness_mm, 0.5 * float(min(smooth.spacing)))
        edge = 0.5 * cols.voxel_z_mm
        up = max(edge + half, (above - upper) if above is not None else 0.0)
        down = max(edge + half, (lower - below) if below is not None else 0.0)
        with np.errstate(invalid="ignore"):
            disc_up = core & (z > top + max(edge, 0.5 * up)) & (z <= top + up + half)
            disc_down = core & (z < bottom - max(edge, 0.5 * down)) & (z >= bottom - down - half)
            fg_half = params.foreground_height_fraction * (top - bottom)
            fg = core & (np.abs(z - 0.5 * (top + bottom)) <= fg_half)
        if probe.top_reached is None:
            seeds[disc_up] = BACKGROUND
        if probe.bottom_reached is None:
            seeds[disc_down] = BACKGROUND
        seeds[fg] = FOREGROUND
    seeds[squared_norm(offsets) <= seeding.foreground_radius_mm**2] = FOREGROUND
    return BodySeeds(seeds, canal, above, below)


def core_profile(
    smooth: Volume, centre: Sequence[float], cols: Columns
) -> tuple[np.ndarray, np.ndarray]:
    """Mean smoothed intensity over the core columns per cranio-caudal position, in bins of
    the grid's cranio-caudal spacing aligned with its voxels (positions: bin centres as
    offsets from the centre; bins less than half as full as the fullest are NaN)."""
    centre = np.asarray(centre, dtype=float)
    offsets = offsets_mm(smooth, centre)
    core = cols.in_core(cols.cell_index(offsets + centre))
    step = cols.voxel_z_mm
    z = offsets[..., 2]
    z0 = float(z.min())
    bins = np.floor((z[core] - z0) / step + 0.5).astype(np.int64)
    counts = np.bincount(bins)
    sums = np.bincount(bins, weights=smooth.array[core].astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts >= 0.5 * counts.max(initial=0), sums / counts, np.nan)
    return z0 + np.arange(means.size) * step, means


def confirm_discs(
    positions: np.ndarray,
    means: np.ndarray,
    upper_mm: float,
    lower_mm: float,
    params: RefineParameters,
) -> tuple[float | None, float | None]:
    """Offsets of the darker valleys (discs) of the core profile nearest to each boundary.

    A valley is a local minimum of topographic prominence ≥ ``disc_prominence_hu``
    (:mod:`.peaks`), within ``disc_window_mm`` of the boundary on its far side or at it;
    None when there is none (the boundary is then not confirmed by a disc).
    """
    ok = np.isfinite(means)
    if ok.sum() < 5:
        return None, None
    p = np.where(ok, means, np.nanmax(means))
    idx, _ = find_peaks(-p, prominence=params.disc_prominence_hu)
    found = []
    for boundary, sign in ((upper_mm, 1.0), (lower_mm, -1.0)):
        beyond = sign * (positions[idx] - boundary)
        near = idx[(beyond >= -0.5 * params.disc_window_mm) & (beyond <= params.disc_window_mm)]
        if near.size == 0:
            found.append(None)
        else:
            found.append(float(positions[near[np.argmin(np.abs(positions[near] - boundary))]]))
    return found[0], found[1]
