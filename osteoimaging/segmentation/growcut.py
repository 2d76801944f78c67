"""GrowCut segmentation of a vertebral body from one click, robust to where the click lands.

Algorithm: Fast GrowCut (Zhu L, Kolesov I, Gao Y, Kikinis R, Tannenbaum A, "An effective
interactive medical image segmentation method using Fast GrowCut", MICCAI Interactive
Medical Image Computing Workshop 2014), the algorithm of Slicer's Segment Editor effect
"Grow from seeds": each unlabelled voxel takes the label of the seed it reaches along the
path of least accumulated intensity difference. The default backend is our numba kernel
(:mod:`.fastgrowcut`), label for label identical to Slicer's ``vtkImageGrowCutSegment``
(:func:`osteoimaging.mrml.growcut.vtk_growcut`, what the Slicer module passes) and ITK's
``FastGrowCut``; any callable with the same signature can be passed as ``growcut``.

Pipeline: crop around the click → Gaussian smoothing (σ = the larger of ``smoothing_mm``
and ``smoothing_voxels`` × the coarsest spacing, so that CT noise and trabecular texture do
not dominate path costs) → probes on a coarse working grid (:mod:`.refine`: GrowCut between
the click, the surroundings and the neighbouring vertebrae, then from the grown body's
centre, until the centre settles) → final seeds from the refined centre and the probe's
body columns (:func:`.refine.body_seeds`) → GrowCut on a working grid no finer than
``growcut_spacing_mm`` → foreground resampled to the native grid (linear, ≥ ½) → clean-up
at native resolution, with the cortex included at half maximum (:mod:`.cleanup`) → checks
(volume, scan edges, end plates, discs) reported as ``flags`` on the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from osteoimaging.errors import InputError
from osteoimaging.geometry import lps_to_ras
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, report
from osteoimaging.segmentation.cleanup import clean_body_mask, component_at
from osteoimaging.segmentation.crop import crop, crop_box, uncrop
from osteoimaging.segmentation.fastgrowcut import fast_growcut
from osteoimaging.segmentation.labels import check_level
from osteoimaging.segmentation.refine import (
    Probe,
    RefineParameters,
    best_probe,
    body_seeds,
    refine_point,
    voxel_index,
)
from osteoimaging.segmentation.seeds import (
    BACKGROUND,
    FOREGROUND,
    SeedingParameters,
    SeedReport,
)
from osteoimaging.volume import Volume

#: A GrowCut backend: (image [z, y, x] float, seeds [z, y, x] uint8 with 0 = free,
#: spacing (x, y, z) mm) → labels [z, y, x] uint8.
GrowCut = Callable[[np.ndarray, np.ndarray, Sequence[float]], np.ndarray]


@dataclass
class SegmentationParameters:
    """Crop, smoothing, clean-up and plausibility settings (mm, ml) plus the seeding and
    refinement rules."""

    crop_half_size_mm: tuple[float, float, float] = (42.0, 42.0, 40.0)
    smoothing_mm: float = 0.7
    smoothing_voxels: float = 0.5
    opening_mm: float = 1.5
    mask_smoothing_mm: float = 1.0
    cortex_search_mm: float = 2.0
    growcut_spacing_mm: float = 0.8
    volume_range_ml: tuple[float, float] = (10.0, 80.0)
    seeding: SeedingParameters = field(default_factory=SeedingParameters)
    refine: RefineParameters = field(default_factory=RefineParameters)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SegmentationResult:
    """The body mask on the CT grid with its level and how it was made.

    ``seed_lps`` is the click, ``refined_seed_lps`` the body centre the final seeds were
    placed around; ``attempts`` lists the probes (where each seeded, what it grew, where it
    put the centre); ``flags`` say what a reader should check (empty when every check
    passed). Whether a flag makes a case an error is for the caller's quality checks.
    """

    mask: Volume
    level: str | None
    seed_lps: tuple[float, float, float]
    seeds: SeedReport
    runtime_s: float
    refined_seed_lps: tuple[float, float, float] | None = None
    attempts: list[dict] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    method: str = "Fast GrowCut (Zhu et al. 2014), one click refined to the body's centre"

    @property
    def volume_ml(self) -> float:
        return float(self.mask.array.sum() * self.mask.voxel_volume_mm3 / 1000.0)

    def to_dict(self) -> dict:
        """What happened, JSON-ready (no mask)."""
        return {
            "level": self.level,
            "method": self.method,
            "seed_lps": list(self.seed_lps),
            "refined_seed_lps": None
            if self.refined_seed_lps is None
            else list(self.refined_seed_lps),
            "volume_ml": self.volume_ml,
            "runtime_s": self.runtime_s,
            "seeds": self.seeds.to_dict(),
            "attempts": self.attempts,
            "flags": list(self.flags),
        }


def _grid_around(
    smooth: sitk.Image, centre: np.ndarray, half_size_mm: Sequence[float], spacing_mm: float
) -> Volume:
    """``smooth`` resampled (linear) on the box around ``centre``, no spacing finer than
    ``spacing_mm``, axes as the image's (the box is clipped to the image)."""
    old = np.asarray(smooth.GetSpacing(), dtype=float)
    new = np.maximum(old, spacing_mm)
    direction = np.asarray(smooth.GetDirection(), dtype=float).reshape(3, 3)
    origin = np.asarray(smooth.GetOrigin(), dtype=float)
    size = np.asarray(smooth.GetSize())
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    corners = centre + signs * np.asarray(half_size_mm)
    idx = np.linalg.solve(direction, (corners - origin).T).T / old
    # Whole voxels of the image, so that a grid as coarse as the image is the image.
    lo = np.clip(np.floor(idx.min(axis=0)), 0, size - 1)
    hi = np.clip(np.ceil(idx.max(axis=0)), 0, size - 1)
    n = np.maximum(np.floor((hi - lo) * old / new).astype(int) + 1, 3)
    ref = sitk.Image([int(v) for v in n], sitk.sitkFloat32)
    ref.SetSpacing(tuple(float(v) for v in new))
    ref.SetOrigin(tuple(float(v) for v in origin + direction @ (lo * old)))
    ref.SetDirection(smooth.GetDirection())
    out = sitk.Resample(smooth, ref, sitk.Transform(), sitk.sitkLinear, 0.0)
    return Volume.from_sitk(out)


def _bounding_box(
    mask: np.ndarray, margin_mm: float, spacing_zyx: Sequence[float]
) -> tuple[slice, ...]:
    """Slices of the mask's bounding box grown by ``margin_mm`` (the whole array if empty)."""
    if not mask.any():
        return tuple(slice(0, n) for n in mask.shape)
    idx = np.argwhere(mask)
    pad = np.ceil(margin_mm / np.asarray(spacing_zyx)).astype(int)
    lo = np.maximum(idx.min(axis=0) - pad, 0)
    hi = np.minimum(idx.max(axis=0) + pad + 1, mask.shape)
    return tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))


def _edge_flags(ct: Volume, full: np.ndarray) -> list[str]:
    """Which edges of the scan the mask touches."""
    flags = []
    cc_axis = 2 - int(np.argmax(np.abs(ct.direction[2])))  # array axis closest to LPS z
    up_at_end = ct.direction[2, 2 - cc_axis] > 0
    for axis in range(3):
        first = np.take(full, 0, axis=axis).any()
        last = np.take(full, -1, axis=axis).any()
        if not (first or last):
            continue
        if axis == cc_axis:
            sides = [n for n, hit in ((up_at_end, last), (not up_at_end, first)) if hit]
            where = "/".join("top" if s else "bottom" for s in sides)
            flags.append(f"body touches the scan's {where} edge: partial vertebra")
        else:
            flags.append("body touches the edge of the field of view: partial vertebra")
    return flags


def _check_nan(part: Volume, path: str | Path | None) -> None:
    bad = ~np.isfinite(part.array)
    if bad.any():
        raise InputError(
            f"the CT has NaN values near the seed ({int(bad.sum())} voxels within the crop "
            "around it); GrowCut cannot cross them: fill them (e.g. with -1024) or check "
            "the reconstruction",
            path,
        )


def _probe_flags(probes: list[Probe], chosen: Probe, params: RefineParameters) -> list[str]:
    flags = []
    if chosen.problem is not None or chosen.centre is None:
        flags.append(
            f"could not refine the click to the body's centre ({chosen.problem}): "
            "the seeds are placed around the click"
        )
        return flags
    cols = chosen.columns
    step = max(params.tolerance_mm, 1.5 * max(cols.cell_mm, cols.voxel_z_mm))
    moved = float(np.linalg.norm(np.subtract(chosen.centre, chosen.point)))
    if moved >= step:
        flags.append(f"the refined centre had not settled (its last move: {moved:.1f} mm)")
    for side, reached in (("upper", chosen.top_reached), ("lower", chosen.bottom_reached)):
        if reached is not None:
            flags.append(f"no {side} end plate found: the body's {side} boundary is {reached}")
    return flags


def segment_vertebral_body(
    ct: Volume,
    seed_lps: Sequence[float],
    *,
    level: str | None = None,
    params: SegmentationParameters | None = None,
    progress: ProgressCallback | None = None,
    path: str | Path | None = None,
    growcut: GrowCut | None = None,
) -> SegmentationResult:
    """Segment the vertebral body containing ``seed_lps`` (LPS mm, the click) with GrowCut.

    ``growcut`` is the GrowCut backend (default :func:`.fastgrowcut.fast_growcut`; in
    Slicer :func:`osteoimaging.mrml.growcut.vtk_growcut`); ``path`` names the CT in
    error messages. Raises InputError when the point is outside the image or not in
    bone (air, fat or soft tissue), when the CT has NaN values near it, or when nothing
    grows beyond the seeds. Anything doubtful (implausible volume, a partial vertebra, an
    end plate not found, a refinement that failed) is reported in ``flags``.
    """
    params = params or SegmentationParameters()
    backend = growcut or fast_growcut
    level = check_level(level)
    t0 = time.perf_counter()
    seed = np.asarray(seed_lps, dtype=float)
    idx = ct.physical_to_index(seed)
    if np.any(idx < -0.5) or np.any(idx > np.asarray(ct.size) - 0.5):
        raise InputError(
            "the seed point "
            + ", ".join(f"{v:.1f}" for v in lps_to_ras(seed))
            + " (RAS mm) lies outside the image",
            path,
        )
    report(progress, 0.0, "cropping")
    reach = np.asarray(params.crop_half_size_mm) + params.refine.max_shift_mm
    part = crop(ct, crop_box(ct, seed, reach))
    _check_nan(part, path)
    image = sitk.Cast(part.to_sitk(), sitk.sitkFloat32)
    sigma = max(params.smoothing_mm, params.smoothing_voxels * max(part.spacing))
    smooth = sitk.SmoothingRecursiveGaussian(image, sigma) if sigma > 0 else image

    def grid(point: np.ndarray, spacing_mm: float) -> Volume:
        return _grid_around(smooth, point, params.crop_half_size_mm, spacing_mm)

    report(progress, 0.1, "finding the body's centre")
    probes = refine_point(grid, seed, backend, params.seeding, params.refine, path)
    chosen = best_probe(probes, seed, params.refine.max_shift_mm)
    refined = chosen.centre is not None and chosen.problem is None
    centre = np.asarray(chosen.centre) if refined else seed
    flags = _probe_flags(probes, chosen, params.refine)

    report(progress, 0.4, "growing")
    work = grid(centre, params.growcut_spacing_mm)
    # Without a refined centre the probe's columns are not the body's: seed the ball only.
    basis = chosen if refined else replace(chosen, columns=None)
    final = body_seeds(work, centre, basis, params.seeding, params.refine)
    seeds = final.labels
    grown = component_at(
        backend(work.array, seeds, work.spacing) == FOREGROUND, voxel_index(work, centre)
    )

    report(progress, 0.8, "cleaning up")
    box = crop_box(ct, centre, params.crop_half_size_mm)
    native = crop(ct, box)
    fg = sitk.GetImageFromArray(grown.astype(np.float32))
    fg.CopyInformation(work.to_sitk())
    grown = (
        sitk.GetArrayFromImage(
            sitk.Resample(fg, native.to_sitk(), sitk.Transform(), sitk.sitkLinear, 0.0)
        )
        >= 0.5
    )
    margin_mm = params.cortex_search_mm + 2 * params.mask_smoothing_mm + 7.0
    sub = _bounding_box(grown, margin_mm, native.spacing_zyx)
    start = np.array([s.start for s in sub])
    body = np.zeros(native.shape, dtype=bool)
    body[sub] = clean_body_mask(
        grown[sub],
        np.asarray(voxel_index(native, centre)) - start,
        native.spacing_zyx,
        image=native.array[sub].astype(np.float32),
        seed_level=chosen.seed_hu,
        opening_mm=params.opening_mm,
        cortex_search_mm=params.cortex_search_mm,
        smoothing_mm=params.mask_smoothing_mm,
    )
    n_fg = int((seeds == FOREGROUND).sum())
    body_ml = float(body.sum() * native.voxel_volume_mm3 / 1000.0)
    if body_ml <= n_fg * work.voxel_volume_mm3 / 1000.0:
        raise InputError(
            f"the grown mask is too small ({body_ml:.2f} ml, no more than its seeds): "
            "is the point inside a vertebral body?",
            path,
        )
    full = uncrop(body, box, ct.shape)

    lo, hi = params.volume_range_ml
    if not lo <= body_ml <= hi:
        flags.append(f"grown volume {body_ml:.1f} ml outside the plausible range {lo:g}–{hi:g} ml")
    flags.extend(_edge_flags(ct, full))
    if chosen.columns is not None and refined:
        for side, disc, reached in (
            ("above", final.disc_above_mm, chosen.top_reached),
            ("below", final.disc_below_mm, chosen.bottom_reached),
        ):
            if disc is None and reached is None:
                flags.append(f"no darker disc {side} the body's end plate in the profile")

    runtime = time.perf_counter() - t0
    seed_report = SeedReport(
        seed_hu=chosen.seed_hu,
        disc_above_mm=final.disc_above_mm,
        disc_below_mm=final.disc_below_mm,
        canal_mm=final.canal_mm,
        n_foreground=n_fg,
        n_background=int((seeds == BACKGROUND).sum()),
    )
    mask = ct.with_array(full, level=level, segmentation="growcut")
    name = getattr(backend, "__name__", type(backend).__name__)
    result = SegmentationResult(
        mask,
        level,
        tuple(float(v) for v in seed),
        seed_report,
        runtime,
        refined_seed_lps=tuple(float(v) for v in centre) if refined else None,
        attempts=[p.to_dict() for p in probes],
        flags=flags,
        method=f"Fast GrowCut (Zhu et al. 2014, backend {name}), "
        "one click refined to the body's centre",
    )
    logger.info(
        "GrowCut %s: %.1f ml in %.2f s after %d probe(s)%s",
        level or "vertebra",
        result.volume_ml,
        runtime,
        len(probes),
        "; " + "; ".join(flags) if flags else "",
    )
    report(progress, 1.0, "done")
    return result


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Sørensen–Dice coefficient 2|A∩B| / (|A| + |B|) of two boolean arrays."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0
