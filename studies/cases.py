"""Simulated cases: a small vertebra phantom, its routine-CT scans, and its high-res truth.

The vertebra is smaller than the phantom module's default (32 × 26 × 20 mm, no posterior
elements) so that the whole validation runs in minutes; after the paper's 6 mm erosion
the ROI is still ~2 ml of trabecular bone. Everything else (bone model, PSF, sampling,
noise, calibration) is :mod:`osteoimaging.phantoms` unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from osteoimaging.calibration import LinearCalibration
from osteoimaging.phantoms import (
    CTProtocol,
    FocalDefect,
    VertebraPhantom,
    VertebraSpec,
    simulate_ct,
)
from osteoimaging.phantoms.vertebra import _body_bmd_hires, _distance_to_body_surface
from osteoimaging.volume import Volume
from studies.microarchitecture import Morphometry, morphometry
from studies.microarchitecture.binarize import PAPER_THRESHOLD_MG_CM3

BODY_MM = (32.0, 26.0, 20.0)
FOCAL_KEYS = (
    "focal_bmc_loss_mm",
    "focal_bmd_loss",
    "intercept_width_mm",
    "trabecular_bmd",
    "void_coverage",
    "roi_voxels",
)


def case_spec(
    bvtv: float,
    tb_th_mm: float,
    defects: list[FocalDefect] | None = None,
    seed: int = 0,
    body_mm: tuple[float, float, float] = BODY_MM,
) -> VertebraSpec:
    """The validation vertebra: BV/TV and Tb.Th of the trabecular bone, optional defects."""
    w, d, h = body_mm
    return VertebraSpec(
        width_mm=w,
        depth_mm=d,
        height_mm=h,
        bvtv=bvtv,
        tb_th_mm=tb_th_mm,
        posterior_elements=False,
        defects=list(defects or []),
        seed=seed,
    )


def random_defects(
    rng: np.random.Generator,
    n: int,
    radius_mm: tuple[float, float] = (2.5, 4.5),
    body_mm: tuple[float, float, float] = BODY_MM,
) -> list[FocalDefect]:
    """``n`` spherical voids centred in the inner 60% of the 6 mm-eroded ROI of the body."""
    half = [max(0.6 * (e / 2 - 6.0), 0.0) for e in body_mm]
    out = []
    for _ in range(n):
        centre = tuple(float(rng.uniform(-a, a)) for a in half)
        out.append(FocalDefect(centre, (float(rng.uniform(*radius_mm)),) * 3, 0.0))
    return out


def calibration_of(spec: VertebraSpec) -> LinearCalibration:
    """The phantom's own HU → BMD calibration (known exactly)."""
    return LinearCalibration(spec.calibration_slope, spec.calibration_intercept, "phantom")


def scan(phantom: VertebraPhantom, protocol: CTProtocol) -> tuple[Volume, Volume]:
    """One routine-CT acquisition of the phantom and its exact body mask on that grid."""
    ct = simulate_ct(phantom.scene, protocol)
    return ct, phantom.body_mask_on(ct)


def rescan_protocol(rng: np.random.Generator, base: CTProtocol, seed: int) -> CTProtocol:
    """Independent noise, a sub-voxel shift (±0.3 mm) and a small rotation (±2°)."""
    return replace(
        base,
        seed=seed,
        shift_mm=tuple(float(v) for v in rng.uniform(-0.3, 0.3, 3)),
        rotation_deg=tuple(float(v) for v in rng.uniform(-2.0, 2.0, 3)),
    )


def _hires_box(spec: VertebraSpec) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Origin and shape of the body's high-resolution box exactly as ``make_vertebra``."""
    factor = round(spec.scene_mm / spec.hires_mm)
    a, b, h = spec.width_mm / 2, spec.depth_mm / 2, spec.height_mm / 2
    lo = np.array([-(a + 12.0), -(b + 8.0), -(h + spec.discs_mm + 4.0)])
    ss = spec.scene_mm
    i0, j0, k0 = (int(np.floor((-e - 1.0 - lo[n]) / ss)) for n, e in enumerate((a, b, h)))
    i1, j1, k1 = (int(np.ceil((e + 1.0 - lo[n]) / ss)) for n, e in enumerate((a, b, h)))
    shape = ((k1 - k0) * factor, (j1 - j0) * factor, (i1 - i0) * factor)
    origin = lo + ss * np.array([i0, j0, k0]) + spec.hires_mm / 2
    return origin, shape


def hires_truth(spec: VertebraSpec, erosion_mm: float = 6.0) -> tuple[Volume, Volume, float]:
    """The phantom's high-resolution bone and the VOI ≥ ``erosion_mm`` inside the body.

    Regenerates the very realisation ``make_vertebra`` used (same seed and box), binarised
    at the paper's 200 mg/cm³, cropped to the VOI's bounding box. Returns (bone, voi,
    trabecular BV/TV of the whole body as the phantom reported it).
    """
    origin, shape = _hires_box(spec)
    bmd, truth = _body_bmd_hires(spec, origin, shape)
    s = spec.hires_mm
    z = (origin[2] + s * np.arange(shape[0], dtype=np.float32))[:, None, None]
    y = (origin[1] + s * np.arange(shape[1], dtype=np.float32))[None, :, None]
    x = (origin[0] + s * np.arange(shape[2], dtype=np.float32))[None, None, :]
    voi = _distance_to_body_surface(spec, x, y, z) >= erosion_mm
    idx = np.argwhere(voi)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    sl = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    bone = np.nan_to_num(bmd[sl], nan=0.0) >= PAPER_THRESHOLD_MG_CM3
    crop_origin = origin + s * lo[::-1]
    geom = {"spacing": (s, s, s), "origin": tuple(crop_origin)}
    return (
        Volume(bone, **geom),
        Volume(np.ascontiguousarray(voi[sl]), **geom),
        float(truth["bvtv_trabecular"]),
    )


def truth_morphometry(spec: VertebraSpec, erosion_mm: float = 6.0) -> tuple[Morphometry, float]:
    """Local-thickness indices of the phantom's true bone inside the focal ROI's region."""
    bone, voi, bvtv_reported = hires_truth(spec, erosion_mm)
    return morphometry(bone, voi), bvtv_reported


def defect_fraction_in_roi(
    spec: VertebraSpec, defect: FocalDefect, erosion_mm: float = 6.0, step_mm: float = 0.2
) -> float:
    """Fraction of the ``erosion_mm``-eroded body occupied by ``defect`` (grid estimate)."""
    a, b, h = spec.width_mm / 2, spec.depth_mm / 2, spec.height_mm / 2
    z = np.arange(-h, h, step_mm, dtype=np.float32)[:, None, None]
    y = np.arange(-b, b, step_mm, dtype=np.float32)[None, :, None]
    x = np.arange(-a, a, step_mm, dtype=np.float32)[None, None, :]
    roi = _distance_to_body_surface(spec, x, y, z) >= erosion_mm
    c, r = np.asarray(defect.center_mm), np.asarray(defect.radii_mm)
    ell = ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1
    return float((roi & ell).sum() / roi.sum())
