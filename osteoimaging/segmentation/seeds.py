"""GrowCut seeds from one point in a vertebral body.

What a user paints in Slicer's Segment Editor before "Grow from seeds", derived from the
smoothed image around a point (all distances physical, in the LPS patient frame, so any
voxel size and direction cosines work). Labels: 1 the body (:data:`FOREGROUND`),
2 the surroundings (:data:`BACKGROUND`), 3 the neighbouring vertebrae (:data:`NEIGHBOUR`).

* **the point must be in bone**: the median of the smoothed image in a ball of
  ``foreground_radius_mm`` must reach ``min_seed_hu`` (else "in air" below ``air_hu``, or
  "in fat or soft tissue");
* **surroundings** (:func:`background`): smoothed voxels below ``fat_hu`` connected to the
  crop's border (fatty marrow inside the body is not connected to it, so it stays free);
  voxels farther than ``background_radius_mm`` in-plane from the point; the crop's faces;
  the spinal canal and everything posterior to its centre (pedicles' posterior parts,
  laminae, processes). The canal (:func:`find_canal`) is the first run of at least
  ``canal_min_mm`` below min(``canal_hu``, seed level − ``valley_margin_hu``) (CSF,
  epidural fat) on the antero-posterior profile behind the point; its centre is the middle
  of the run, at most ``canal_wall_mm`` behind its front. Without a canal, everything more
  than ``fallback_posterior_mm`` behind the point is background;
* **neighbours** (:func:`neighbour_seeds`): balls of ``neighbour_radius_mm`` at
  ± ``neighbour_offset_mm`` cranio-caudally and everything beyond them. 30 mm from a point
  near the middle of a body is past its end plates (adult T11–L5 bodies are about 20–30 mm
  tall) and inside the next body or its disc, so GrowCut's competition puts the body's
  upper and lower boundaries at the end plates, wherever the discs are;
* **discs** (used once the body's extent is known, :mod:`.refine`): a slab of
  ``disc_seed_thickness_mm`` just beyond the body's upper and lower boundary in every
  column of its core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

FOREGROUND, BACKGROUND, NEIGHBOUR = 1, 2, 3


@dataclass
class SeedingParameters:
    """Distances in mm, intensities in HU (of the smoothed image)."""

    foreground_radius_mm: float = 4.0
    fat_hu: float = -30.0
    air_hu: float = -300.0
    min_seed_hu: float = 40.0
    background_radius_mm: float = 38.0
    neighbour_offset_mm: float = 30.0
    neighbour_radius_mm: float = 5.0
    disc_seed_thickness_mm: float = 1.5
    canal_search_mm: float = 55.0
    canal_seed_radius_mm: float = 3.0
    canal_profile_radius_mm: float = 2.0
    fallback_posterior_mm: float = 30.0
    valley_margin_hu: float = 30.0
    canal_hu: float = 40.0
    canal_min_mm: float = 6.0
    canal_wall_mm: float = 8.0

    def to_dict(self) -> dict:
        return asdict(self)


def squared_norm(d: np.ndarray) -> np.ndarray:
    """|d|² over the last axis."""
    return np.einsum("...i,...i->...", d, d)


def seed_level(
    smooth: Volume,
    offsets: np.ndarray,
    params: SeedingParameters,
    path: str | Path | None = None,
) -> float:
    """Median smoothed intensity in the foreground ball; InputError unless it is bone."""
    ball = squared_norm(offsets) <= params.foreground_radius_mm**2
    if not ball.any():
        raise InputError("the seed point lies outside the image", path)
    level = float(np.median(smooth.array[ball]))
    if level < params.air_hu:
        raise InputError(
            f"the seed point is in air ({level:.0f} HU), not in a vertebral body", path
        )
    if level < params.min_seed_hu:
        raise InputError(
            f"the seed point is in fat or soft tissue ({level:.0f} HU < "
            f"{params.min_seed_hu:g} HU), not inside a vertebral body",
            path,
        )
    return level


def profile(
    smooth: Volume,
    point: np.ndarray,
    axis: np.ndarray,
    steps: np.ndarray,
    radius: float,
) -> np.ndarray:
    """Mean of the smoothed image along ``point + s·axis`` over parallel lines in a disc."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    offsets = [np.zeros(3)]
    if radius > 0:
        for r in (radius / 2, radius):
            for a in np.linspace(0, 2 * np.pi, 8, endpoint=False):
                offsets.append(r * (np.cos(a) * u + np.sin(a) * v))
    pts = np.concatenate([point + o + steps[:, None] * axis for o in offsets])
    ijk = smooth.physical_to_index(pts)
    vals = ndi.map_coordinates(
        smooth.array, ijk[:, ::-1].T, order=1, mode="constant", cval=np.nan
    ).reshape(len(offsets), steps.size)
    # Samples outside the crop are NaN; a position with none inside stays NaN.
    finite = np.isfinite(vals)
    counts = finite.sum(axis=0)
    sums = np.where(finite, vals, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def find_canal(
    profile: np.ndarray, steps: np.ndarray, level: float, min_mm: float, max_half_mm: float
) -> float | None:
    """Centre of the first run of the profile below ``level`` lasting ``min_mm`` or more."""
    p = np.asarray(profile, dtype=float)
    low = np.isfinite(p) & (p < level)
    step = float(steps[1] - steps[0]) if steps.size > 1 else 1.0
    n_min = max(int(np.ceil(min_mm / step)), 1)
    i = 0
    while i < low.size:
        if low[i]:
            j = i
            while j < low.size and low[j]:
                j += 1
            if j - i >= n_min or (j == low.size and (j - i) * step >= min_mm / 2):
                return float(min(0.5 * (steps[i] + steps[j - 1]), steps[i] + max_half_mm))
            i = j
        else:
            i += 1
    return None


def locate_canal(
    smooth: Volume, point: Sequence[float], level: float, params: SeedingParameters
) -> float | None:
    """Offset (mm, LPS +y = posterior) of the spinal canal's centre behind ``point``."""
    steps = np.arange(0.0, params.canal_search_mm, min(smooth.spacing) / 2)
    prof = profile(
        smooth,
        np.asarray(point, dtype=float),
        np.array([0.0, 1.0, 0.0]),
        steps,
        params.canal_profile_radius_mm,
    )
    return find_canal(
        prof,
        steps,
        min(params.canal_hu, level - params.valley_margin_hu),
        params.canal_min_mm,
        params.canal_wall_mm,
    )


def _border_connected(low: np.ndarray) -> np.ndarray:
    lab, _ = ndi.label(low)
    faces = np.concatenate(
        [
            lab[0].ravel(),
            lab[-1].ravel(),
            lab[:, 0].ravel(),
            lab[:, -1].ravel(),
            lab[:, :, 0].ravel(),
            lab[:, :, -1].ravel(),
        ]
    )
    keep = np.unique(faces)
    return np.isin(lab, keep[keep > 0])


def background(
    smooth: Volume, offsets: np.ndarray, canal_mm: float | None, params: SeedingParameters
) -> np.ndarray:
    """Fat and air reaching the border, far surroundings, the crop's faces, the canal and
    everything behind it (``offsets``: LPS offsets of every voxel from the point)."""
    bg = _border_connected(smooth.array < params.fat_hu)
    bg |= offsets[..., 0] ** 2 + offsets[..., 1] ** 2 > params.background_radius_mm**2
    bg[[0, -1]] = True
    bg[:, [0, -1]] = True
    bg[:, :, [0, -1]] = True
    if canal_mm is None:
        bg |= offsets[..., 1] > params.fallback_posterior_mm
    else:
        bg |= offsets[..., 1] > canal_mm
        canal = np.array([0.0, canal_mm, 0.0], dtype=offsets.dtype)
        bg |= squared_norm(offsets - canal) <= params.canal_seed_radius_mm**2
    return bg


def neighbour_seeds(offsets: np.ndarray, params: SeedingParameters) -> np.ndarray:
    """Balls at ± ``neighbour_offset_mm`` cranio-caudally and everything beyond them."""
    out = np.zeros(offsets.shape[:-1], dtype=bool)
    for sign in (1.0, -1.0):
        centre = np.array([0.0, 0.0, sign * params.neighbour_offset_mm], dtype=offsets.dtype)
        out |= squared_norm(offsets - centre) <= params.neighbour_radius_mm**2
        out |= sign * offsets[..., 2] > params.neighbour_offset_mm + params.neighbour_radius_mm
    return out


def probe_seeds(
    smooth: Volume, offsets: np.ndarray, canal_mm: float | None, params: SeedingParameters
) -> np.ndarray:
    """Seed labels (uint8) for a probe from the point: a foreground ball, the surroundings
    and the neighbouring vertebrae."""
    seeds = np.zeros(smooth.shape, dtype=np.uint8)
    seeds[background(smooth, offsets, canal_mm, params)] = BACKGROUND
    seeds[neighbour_seeds(offsets, params)] = NEIGHBOUR
    seeds[squared_norm(offsets) <= params.foreground_radius_mm**2] = FOREGROUND
    return seeds


@dataclass
class SeedReport:
    """Landmarks of the final seeds (offsets in mm from the refined centre; None if not
    found) and the seed counts."""

    seed_hu: float
    disc_above_mm: float | None
    disc_below_mm: float | None
    canal_mm: float | None
    n_foreground: int
    n_background: int

    def to_dict(self) -> dict:
        return asdict(self)
