"""Per-voxel reference of the star-line analysis (steps 6–9 of Li et al., JOR Spine
2022;5:e1195), written for obviousness, not speed.

For every ROI voxel and every orientation: the line through the voxel centre, sampled
every ``sample_step`` both ways by trilinear interpolation (``scipy.ndimage.map_coordinates``,
order 1), kept while the samples' nearest voxel is in the ROI (the run containing the
centre); voids by :func:`osteoimaging.focal.profiles.find_voids` (``half_level``); the void
containing the centre (offset 0) gives the values ("local"; ``width="half"``: the half width
on the centre's side of the minimum), or the mean over all voids ("line"; half widths: half
of each void's width).
Used by the agreement tests and by ``bench/bench_focal.py``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage as ndi

from osteoimaging.focal import profiles
from osteoimaging.focal.parameters import FocalParameters
from osteoimaging.focal.starlines import directions as directions_3d


def reference_directions(params: FocalParameters) -> np.ndarray:
    """θ = k·step in the axial plane (2D); the hemisphere set of the package in 3D."""
    if params.mode == "3d":
        return directions_3d(params)
    n = math.ceil(180.0 / params.angle_step_deg - 1e-9)
    return np.array(
        [
            (math.cos(math.radians(k * params.angle_step_deg)),
             math.sin(math.radians(k * params.angle_step_deg)), 0.0)
            for k in range(n)
        ]
    )  # fmt: skip


def _inside(roi: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    idx = np.floor(xyz + 0.5).astype(int)
    nz, ny, nx = roi.shape
    ok = (
        (idx[:, 0] >= 0) & (idx[:, 0] < nx) & (idx[:, 1] >= 0) & (idx[:, 1] < ny)
        & (idx[:, 2] >= 0) & (idx[:, 2] < nz)
    )  # fmt: skip
    out = np.zeros(len(xyz), dtype=bool)
    out[ok] = roi[idx[ok, 2], idx[ok, 1], idx[ok, 0]]
    return out


def voxel_orientation_values(
    bmd: np.ndarray, roi: np.ndarray, voxel_xyz, direction, params: FocalParameters
) -> tuple[float, float, float] | None:
    """(width mm, BMD loss, BMC loss mm) of one voxel at one orientation, or None."""
    step_px = params.sample_step_mm / params.spacing_mm
    m_max = int(np.ceil(sum(roi.shape) / step_px)) + 2
    m = np.arange(-m_max, m_max + 1)
    xyz = np.asarray(voxel_xyz, float)[None, :] + (m * step_px)[:, None] * np.asarray(direction)
    inside = _inside(roi, xyz)
    c = m_max
    if not inside[c]:
        return None
    lo = c
    while lo - 1 >= 0 and inside[lo - 1]:
        lo -= 1
    hi = c
    while hi + 1 < len(m) and inside[hi + 1]:
        hi += 1
    pts = xyz[lo : hi + 1]
    profile = ndi.map_coordinates(
        bmd.astype(np.float64), [pts[:, 2], pts[:, 1], pts[:, 0]], order=1, mode="nearest"
    )
    voids = profiles.find_voids(profile, params.min_valley_depth, params.half_level)
    scale = 0.5 if params.width == "half" else 1.0
    if params.aggregation == "line":
        if not voids:
            return None
        w = [v.width(params.sample_step_mm) * scale for v in voids]
        loss = [v.bmd_loss(profile, params.tissue_bmd) for v in voids]
        return float(np.mean(w)), float(np.mean(loss)), float(np.mean(np.multiply(w, loss)))
    void = profiles.void_at(voids, c - lo)
    if void is None:
        return None
    w = void.width_at(params.sample_step_mm, c - lo, params.width)
    loss = void.bmd_loss(profile, params.tissue_bmd)
    return w, loss, w * loss


def reference_values(
    bmd: np.ndarray, roi: np.ndarray, params: FocalParameters, voxels: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Mean width, BMD loss, BMC loss and count per voxel (rows of ``voxels``: (z, y, x)
    indices; default all ROI voxels in ``np.argwhere`` order)."""
    if voxels is None:
        voxels = np.argwhere(roi)
    dirs = reference_directions(params)
    n = len(voxels)
    sums = np.zeros((n, 3))
    count = np.zeros(n, int)
    for i, (z, y, x) in enumerate(voxels):
        for d in dirs:
            v = voxel_orientation_values(bmd, roi, (x, y, z), d, params)
            if v is not None:
                sums[i] += v
                count[i] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / np.where(count > 0, count, np.nan)[:, None]
    return {
        "intercept_width": mean[:, 0],
        "focal_bmd_loss": mean[:, 1],
        "focal_bmc_loss": mean[:, 2],
        "coverage": count,
    }
