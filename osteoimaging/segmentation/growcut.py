"""GrowCut segmentation of a vertebral body from one click, on a crop around it.

Algorithm: ITK's ``FastGrowCut`` filter from the ``itk-growcut`` package (Zhu L,
Kolesov I, Gao Y, Kikinis R, Tannenbaum A, "An effective interactive medical image
segmentation method using Fast GrowCut", MICCAI Interactive Medical Image Computing
Workshop 2014), the same algorithm as ``vtkImageGrowCutSegment`` behind 3D Slicer's
Segment Editor effect "Grow from seeds". Each unlabelled voxel takes the label of the
seed it reaches along the path of least accumulated intensity difference (a Dijkstra
shortest-path formulation of the cellular automaton of Vezhnevets & Konouchine,
GraphiCon 2005). We use the ITK filter, not Slicer's VTK class, because the logic layer
must run without Slicer (``slicer`` may only be imported in ``osteoimaging.mrml``).

Pipeline: crop around the point → Gaussian smoothing (σ = the larger of ``smoothing_mm`` and
``smoothing_voxels`` × the coarsest spacing, to keep CT noise and trabecular texture from
dominating path costs) → resampling to a working grid no finer than
``growcut_spacing_mm`` (speed: GrowCut's cost grows with the voxel count; the boundary
is refined at the native resolution afterwards) → one-click seeds (:mod:`.seeds`) → FastGrowCut →
foreground resampled back to the native crop (linear, ≥ ½) → clean-up at native
resolution, with the cortex included at half maximum (:mod:`.cleanup`) → mask on the
full CT grid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, report
from osteoimaging.segmentation.cleanup import clean_body_mask
from osteoimaging.segmentation.crop import crop, crop_box, uncrop
from osteoimaging.segmentation.fastgrowcut import fast_growcut
from osteoimaging.segmentation.labels import check_level
from osteoimaging.segmentation.seeds import (
    FOREGROUND,
    SeedingParameters,
    SeedReport,
    one_click_seeds,
)
from osteoimaging.volume import Volume


#: A GrowCut backend: (image [z, y, x] float, seeds [z, y, x] uint8, spacing (x, y, z) mm)
#: → labels [z, y, x] uint8.
GrowCut = Callable[[np.ndarray, np.ndarray, Sequence[float]], np.ndarray]


@dataclass
class SegmentationParameters:
    """Crop, smoothing and clean-up settings (mm) plus the seeding rules."""

    crop_half_size_mm: tuple[float, float, float] = (42.0, 42.0, 36.0)
    smoothing_mm: float = 0.7
    smoothing_voxels: float = 0.5
    opening_mm: float = 1.5
    mask_smoothing_mm: float = 1.0
    cortex_search_mm: float = 2.0
    growcut_spacing_mm: float = 0.8
    seeding: SeedingParameters = field(default_factory=SeedingParameters)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SegmentationResult:
    """The body mask on the CT grid with its level and how it was made."""

    mask: Volume
    level: str | None
    seed_lps: tuple[float, float, float]
    seeds: SeedReport
    runtime_s: float
    method: str = "itk FastGrowCut (one-click seeds)"

    @property
    def volume_ml(self) -> float:
        return float(self.mask.array.sum() * self.mask.voxel_volume_mm3 / 1000.0)


def ras_to_lps(point: Sequence[float]) -> tuple[float, float, float]:
    """RAS (Slicer's convention) → LPS (ITK/DICOM, the Volume class): negate x and y."""
    x, y, z = (float(v) for v in point)
    return (-x, -y, z)


def lps_to_ras(point: Sequence[float]) -> tuple[float, float, float]:
    """LPS → RAS: negate x and y (the map is its own inverse)."""
    return ras_to_lps(point)


def _itk():
    try:
        import itk
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InputError(
            "GrowCut segmentation needs the 'itk-growcut' package: "
            "pip install 'osteoimaging[segment]'"
        ) from exc
    return itk


def grow_cut(image: np.ndarray, seeds: np.ndarray, spacing_xyz: Sequence[float]) -> np.ndarray:
    """Run ITK FastGrowCut: labels (uint8) for every voxel from seed labels (0 = free)."""
    itk = _itk()
    img = itk.image_from_array(np.ascontiguousarray(image, dtype=np.float32))
    img.SetSpacing([float(s) for s in spacing_xyz])
    lab = itk.image_from_array(np.ascontiguousarray(seeds, dtype=np.uint8))
    lab.SetSpacing([float(s) for s in spacing_xyz])
    flt = itk.FastGrowCut[type(img), type(lab)].New()
    flt.SetInput(img)
    flt.SetSeedImage(lab)
    flt.Update()
    return np.asarray(itk.array_from_image(flt.GetOutput())).copy()


def _working_image(image: sitk.Image, spacing_mm: float) -> sitk.Image:
    """``image`` resampled (linear) so that no spacing is finer than ``spacing_mm``."""
    old = np.asarray(image.GetSpacing(), dtype=float)
    new = np.maximum(old, spacing_mm)
    if spacing_mm <= 0 or np.allclose(new, old):
        return image
    size = np.maximum(np.ceil(np.asarray(image.GetSize()) * old / new).astype(int), 2)
    ref = sitk.Image([int(n) for n in size], image.GetPixelID())
    ref.SetSpacing(tuple(new))
    ref.SetOrigin(image.GetOrigin())
    ref.SetDirection(image.GetDirection())
    return sitk.Resample(image, ref, sitk.Transform(), sitk.sitkLinear, 0.0)


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
    """Segment the vertebral body containing ``seed_lps`` (LPS mm) with GrowCut.

    Raises InputError when the point is outside the image or not in bone (in air, fat
    or soft tissue), or when nothing plausible grows from it.
    """
    params = params or SegmentationParameters()
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
    box = crop_box(ct, seed, params.crop_half_size_mm)
    part = crop(ct, box)
    image = sitk.Cast(part.to_sitk(), sitk.sitkFloat32)
    sigma = max(params.smoothing_mm, params.smoothing_voxels * max(part.spacing))
    smooth_img = sitk.SmoothingRecursiveGaussian(image, sigma) if sigma > 0 else image
    work_img = _working_image(smooth_img, params.growcut_spacing_mm)
    work = Volume.from_sitk(work_img)
    report(progress, 0.15, "seeding")
    seeds, seed_report = one_click_seeds(work, work, seed, params.seeding, str(path or ""))
    report(progress, 0.3, "growing")
    grown = (growcut or fast_growcut)(work.array, seeds, work.spacing) == FOREGROUND
    if work_img is not smooth_img:
        fg = sitk.GetImageFromArray(grown.astype(np.float32))
        fg.CopyInformation(work_img)
        back = sitk.Resample(fg, smooth_img, sitk.Transform(), sitk.sitkLinear, 0.0)
        grown = sitk.GetArrayFromImage(back) >= 0.5
    report(progress, 0.8, "cleaning up")
    seed_zyx = np.clip(
        np.rint(part.physical_to_index(seed))[::-1].astype(int), 0, np.asarray(part.shape) - 1
    )
    margin_mm = params.cortex_search_mm + 2 * params.mask_smoothing_mm + 7.0
    sub = _bounding_box(grown, margin_mm, part.spacing_zyx)
    body = np.zeros(part.shape, dtype=bool)
    body[sub] = clean_body_mask(
        grown[sub],
        seed_zyx - np.array([sl.start for sl in sub]),
        part.spacing_zyx,
        image=part.array[sub].astype(np.float32),
        seed_level=seed_report.seed_hu,
        opening_mm=params.opening_mm,
        cortex_search_mm=params.cortex_search_mm,
        smoothing_mm=params.mask_smoothing_mm,
    )
    fg_ml = seed_report.n_foreground * work.voxel_volume_mm3
    if body.sum() * part.voxel_volume_mm3 <= fg_ml:
        raise InputError(
            "nothing grew beyond the seed sphere: is the point inside a vertebral body?", path
        )
    full = uncrop(body, box, ct.shape)
    runtime = time.perf_counter() - t0
    mask = ct.with_array(full, level=level, segmentation="growcut")
    logger.info(
        "GrowCut %s: %.1f ml in %.2f s (disc above %s, below %s, canal %s mm)",
        level or "vertebra",
        float(full.sum() * ct.voxel_volume_mm3 / 1000.0),
        runtime,
        seed_report.disc_above_mm,
        seed_report.disc_below_mm,
        seed_report.canal_mm,
    )
    report(progress, 1.0, "done")
    return SegmentationResult(mask, level, tuple(float(v) for v in seed), seed_report, runtime)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Sørensen–Dice coefficient 2|A∩B| / (|A| + |B|) of two boolean arrays."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0
