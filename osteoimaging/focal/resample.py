"""Step 2: the isotropic analysis grid, the CT on it (linear) and the mask on it.

Li et al. 2022 analyse isotropic 0.3 mm voxels (issue 3, step 2). The grid
covers the mask's bounding box plus a margin, has the requested direction cosines (the
CT's own, or an aligned frame given by the caller) and, in that frame, sits on multiples
of the spacing from the CT origin, so a CT already at the grid spacing and direction is
reproduced voxel for voxel.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage as ndi
import SimpleITK as sitk

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

AIR_HU = -1024.0


def check_direction(direction: np.ndarray | None) -> np.ndarray | None:
    """A 3×3 orthonormal direction matrix, or an InputError."""
    if direction is None:
        return None
    d = np.asarray(direction, dtype=float)
    if d.shape != (3, 3) or not np.all(np.isfinite(d)):
        raise InputError(f"grid_direction must be a finite 3×3 matrix, got shape {d.shape}")
    if not np.allclose(d.T @ d, np.eye(3), atol=1e-6):
        raise InputError("grid_direction must be orthonormal (columns = unit, orthogonal axes)")
    return d


def analysis_grid(
    ct: Volume,
    mask: Volume,
    spacing_mm: float,
    direction: np.ndarray | None = None,
    margin_mm: float = 2.0,
) -> Volume:
    """An empty (uint8) volume: the isotropic grid covering the mask's bounding box."""
    d = ct.direction if direction is None else np.asarray(direction, dtype=float)
    idx = np.argwhere(mask.array)
    lo = idx.min(axis=0)[::-1] - 0.5
    hi = idx.max(axis=0)[::-1] + 0.5
    corners = np.array(
        [[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])]
    )
    phys = ct.index_to_physical(corners)
    q = (phys - np.asarray(ct.origin)) @ d  # coordinates along the grid axes
    s = float(spacing_mm)
    q_lo = np.floor((q.min(axis=0) - margin_mm) / s) * s
    q_hi = q.max(axis=0) + margin_mm
    size = [max(2, math.ceil((h - lo_) / s) + 1) for lo_, h in zip(q_lo, q_hi, strict=True)]
    origin = np.asarray(ct.origin) + d @ q_lo
    shape = (size[2], size[1], size[0])
    return Volume(np.zeros(shape, np.uint8), (s, s, s), tuple(origin), d)


def resample_linear(volume: Volume, grid: Volume, default: float = AIR_HU) -> Volume:
    """``volume`` on ``grid`` by (tri)linear interpolation, float32."""
    image = sitk.Cast(volume.to_sitk(), sitk.sitkFloat32)
    out = sitk.Resample(image, grid.reference_image(), sitk.Transform(), sitk.sitkLinear, default)
    return grid.with_array(sitk.GetArrayFromImage(out).astype(np.float32, copy=False))


def signed_distance_mm(mask: Volume) -> Volume:
    """Signed distance (mm) to the mask surface: negative inside, zero half-way between the
    centres of the last inside and the first outside voxel."""
    m = np.pad(mask.array.astype(bool), 1)
    sampling = mask.spacing_zyx
    inside = ndi.distance_transform_edt(m, sampling=sampling)
    outside = ndi.distance_transform_edt(~m, sampling=sampling)
    phi = (0.5 * (outside - inside))[1:-1, 1:-1, 1:-1].astype(np.float32)
    return mask.with_array(phi)


def resample_mask(mask: Volume, grid: Volume, method: str = "nearest") -> Volume:
    """The mask on ``grid``: nearest neighbour, or ``"distance"`` = linear interpolation of
    the signed distance map, thresholded at 0 (smoother surfaces from thick slices)."""
    if method == "nearest":
        image = mask.to_sitk()
        if image.GetPixelID() != sitk.sitkUInt8:
            image = sitk.Cast(image != 0, sitk.sitkUInt8)
        out = sitk.Resample(
            image, grid.reference_image(), sitk.Transform(), sitk.sitkNearestNeighbor, 0
        )
        return grid.with_array(sitk.GetArrayFromImage(out) > 0)
    if method == "distance":
        phi = resample_linear(signed_distance_mm(mask), grid, default=1e6)
        return grid.with_array(phi.array < 0)
    raise InputError(f"unknown mask resampling {method!r} (nearest or distance)")
