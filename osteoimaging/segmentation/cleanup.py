"""Clean a grown body mask: seed component, opening, hole filling, smoothing.

All radii are physical (mm) and applied through Euclidean distance transforms with the
voxel spacing, so anisotropic voxels are handled exactly (Maurer-type EDT as in
``scipy.ndimage.distance_transform_edt``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.ndimage as ndi


def component_at(mask: np.ndarray, index_zyx: Sequence[int] | None = None) -> np.ndarray:
    """The 6-connected component containing ``index_zyx`` (or the largest one)."""
    lab, n = ndi.label(mask)
    if n == 0:
        return mask.copy()
    if index_zyx is not None:
        value = lab[tuple(int(v) for v in index_zyx)]
        if value > 0:
            return lab == value
    counts = np.bincount(lab.ravel())
    counts[0] = 0
    return lab == int(np.argmax(counts))


def open_mm(mask: np.ndarray, radius_mm: float, spacing_zyx: Sequence[float]) -> np.ndarray:
    """Morphological opening by a ball of ``radius_mm`` (erode then dilate, via EDT)."""
    if radius_mm <= 0:
        return mask
    pad = int(np.ceil(radius_mm / min(spacing_zyx))) + 1
    m = np.pad(mask, pad)
    eroded = ndi.distance_transform_edt(m, sampling=spacing_zyx) > radius_mm
    if not eroded.any():
        return mask
    opened = ndi.distance_transform_edt(~eroded, sampling=spacing_zyx) <= radius_mm
    return opened[pad:-pad, pad:-pad, pad:-pad] & mask


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill enclosed holes in 3D and then in every axial slice."""
    out = ndi.binary_fill_holes(mask)
    for k in range(out.shape[0]):
        if out[k].any():
            out[k] = ndi.binary_fill_holes(out[k])
    return out


def smooth_mask(mask: np.ndarray, sigma_mm: float, spacing_zyx: Sequence[float]) -> np.ndarray:
    """Gaussian smoothing of the mask's indicator, thresholded at ½ (volume-preserving)."""
    if sigma_mm <= 0:
        return mask
    sigma = [sigma_mm / s for s in spacing_zyx]
    return ndi.gaussian_filter(mask.astype(np.float32), sigma, mode="constant") >= 0.5


def include_cortex(
    mask: np.ndarray,
    image: np.ndarray,
    seed_level: float,
    spacing_zyx: Sequence[float],
    *,
    search_mm: float = 2.0,
    band_mm: float = 1.5,
    shell_mm: tuple[float, float] = (3.0, 6.0),
) -> np.ndarray:
    """Add the bright cortical rim that GrowCut splits with the background.

    GrowCut puts the label boundary where the two seeds' path costs meet, which on a
    bright cortex is near its crest, so about half the shell is lost. The body edge is
    placed at half maximum of the step from the surroundings to the cortex: the
    surroundings' level is the median of the non-bone voxels (below the seed's level) in
    a shell ``shell_mm`` outside the mask, the cortex level the 95th percentile of the
    voxels within ``band_mm`` of the mask's boundary; voxels up to ``search_mm`` outside
    the mask that reach the half-way level, and are connected to it, are added. Both
    distances are at least one voxel (coarse scans).
    """
    coarse = 1.01 * max(spacing_zyx)
    search_mm, band_mm = max(search_mm, coarse), max(band_mm, coarse)
    outside = ndi.distance_transform_edt(~mask, sampling=spacing_zyx)
    inside = ndi.distance_transform_edt(mask, sampling=spacing_zyx)
    shell = (outside > shell_mm[0]) & (outside <= shell_mm[1]) & (image < seed_level)
    band = ((outside > 0) & (outside <= band_mm)) | (mask & (inside <= band_mm))
    if not shell.any() or not band.any():
        return mask
    surroundings = float(np.median(image[shell]))
    crest = float(np.percentile(image[band], 95))
    if crest <= seed_level:
        return mask
    threshold = 0.5 * (surroundings + crest)
    candidates = (outside <= search_mm) & (image >= threshold)
    lab, _ = ndi.label(mask | candidates)
    keep = np.unique(lab[mask])
    return np.isin(lab, keep[keep > 0])


def clean_body_mask(
    grown: np.ndarray,
    seed_zyx: Sequence[int],
    spacing_zyx: Sequence[float],
    *,
    image: np.ndarray | None = None,
    seed_level: float | None = None,
    opening_mm: float = 1.5,
    smoothing_mm: float = 1.0,
    cortex_search_mm: float = 2.0,
) -> np.ndarray:
    """Seed component → opening (cuts thin bridges to pedicles) → seed component →
    cortex inclusion (with ``image`` and ``seed_level``) → hole filling → smoothing
    → seed component."""
    mask = component_at(grown, seed_zyx)
    opened = component_at(open_mm(mask, opening_mm, spacing_zyx), seed_zyx)
    if opened.any():
        mask = opened
    if image is not None and seed_level is not None and cortex_search_mm > 0:
        mask = include_cortex(mask, image, seed_level, spacing_zyx, search_mm=cortex_search_mm)
    mask = fill_holes(mask)
    smoothed = smooth_mask(mask, smoothing_mm, spacing_zyx)
    if smoothed.any():
        mask = component_at(smoothed, seed_zyx)
    return mask
