"""One-click seeding: foreground and background GrowCut seeds from one point in the body.

What a user paints in Slicer's Segment Editor before "Grow from seeds", derived from the
image around the clicked point (all distances physical, in the LPS patient frame, so any
voxel size and direction cosines work):

* **foreground** (label 1): a sphere around the point, of radius half the distance to
  the nearest landmark found below (disc centre, or canal centre minus
  ``canal_wall_mm``), clipped to [``foreground_radius_mm``, ``max_foreground_radius_mm``];
* **background** (label 2):
  - fat and air: voxels of the smoothed image below ``fat_hu`` that are connected to the
    crop's border (fatty marrow inside the body is not connected to it, so it stays free);
  - the discs above and below: the cranio-caudal intensity profile through the point
    (averaged over a disc of ``profile_radius_mm`` to suppress trabecular texture and
    small defects) has its end plate as a maximum and the disc as the next minimum,
    darker than the seed's level and at least ``disc_contrast_hu`` below the end plate; a
    thin slab of ``disc_seed_radius_mm`` at each disc's centre is background;
  - the posterior elements: the antero-posterior profile behind the point finds the
    spinal canal — the first run of at least ``canal_min_mm`` below ``canal_hu`` (CSF and
    epidural fat; also ``valley_margin_hu`` below the seed's level); its centre is the
    middle of the run (at most ``canal_wall_mm`` behind its front). The canal and
    everything posterior to its centre (pedicles' posterior parts, laminae, processes)
    is background. A fat-filled defect of the body larger than ``canal_min_mm`` right
    behind the point could be mistaken for the canal: click in intact bone;
  - the surroundings: voxels farther than ``background_radius_mm`` in-plane or
    ``background_height_mm`` cranio-caudally from the point, and the crop's border.

Foreground wins where a rule would put both. The point must lie inside bone: the median
of the smoothed image in the foreground sphere must exceed ``min_seed_hu``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.ndimage as ndi

from osteoimaging.errors import InputError
from osteoimaging.segmentation.crop import offsets_mm
from osteoimaging.volume import Volume

FOREGROUND, BACKGROUND = 1, 2


@dataclass
class SeedingParameters:
    """Distances in mm, intensities in HU."""

    foreground_radius_mm: float = 4.0
    max_foreground_radius_mm: float = 8.0
    canal_wall_mm: float = 8.0
    fat_hu: float = -30.0
    air_hu: float = -300.0
    min_seed_hu: float = 40.0
    background_radius_mm: float = 38.0
    background_height_mm: float = 32.0
    profile_radius_mm: float = 5.0
    disc_search_mm: float = 45.0
    disc_seed_radius_mm: float = 12.0
    disc_seed_thickness_mm: float = 1.5
    canal_search_mm: float = 55.0
    canal_seed_radius_mm: float = 3.0
    fallback_posterior_mm: float = 30.0
    valley_margin_hu: float = 30.0
    disc_contrast_hu: float = 50.0
    canal_hu: float = 40.0
    canal_min_mm: float = 6.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SeedReport:
    """Where the landmarks were found (offsets from the point, mm; None if not found)."""

    seed_hu: float
    disc_above_mm: float | None
    disc_below_mm: float | None
    canal_mm: float | None
    n_foreground: int
    n_background: int

    def to_dict(self) -> dict:
        return asdict(self)


def _profile(
    smooth: Volume, point: np.ndarray, axis: np.ndarray, steps: np.ndarray, radius: float
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


def find_valley(
    profile: np.ndarray,
    steps: np.ndarray,
    below: float,
    min_drop: float = 0.0,
    min_prominence: float = 20.0,
    relative: float = 0.5,
) -> float | None:
    """Offset of the first prominent valley of a profile (None if there is none).

    Valleys are local minima with a peak on both sides (scipy's topographic
    prominence); only those deeper than ``below`` and at least ``min_prominence`` are
    candidates, and only when the profile between the start and the valley rises at
    least ``min_drop`` above the valley (the bright end plate in front of the disc,
    which a fluctuation of the trabecular density lacks); the nearest one whose prominence
    reaches ``relative`` × the largest is returned. Used for the disc beyond an end
    plate (cranio-caudal profile) and for the spinal canal behind the posterior wall
    (antero-posterior profile): both are bounded by bright bone on either side, unlike
    a small defect inside the body.
    """
    from scipy.signal import find_peaks

    p = np.asarray(profile, dtype=float)
    ok = np.isfinite(p)
    if ok.sum() < 5:
        return None
    p = np.where(ok, p, np.nanmax(p[ok]))
    idx, props = find_peaks(-p, prominence=min_prominence)
    front_peak = np.array([p[: i + 1].max() for i in idx])
    keep = (p[idx] < below) & (front_peak - p[idx] >= min_drop)
    idx, prom = idx[keep], props["prominences"][keep]
    if idx.size == 0:
        return None
    first = int(np.flatnonzero(prom >= relative * prom.max())[0])
    return float(steps[idx[first]])


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


def one_click_seeds(
    image: Volume,
    smooth: Volume,
    point_lps: Sequence[float],
    params: SeedingParameters | None = None,
    path: str | None = None,
) -> tuple[np.ndarray, SeedReport]:
    """GrowCut seed labels (0 free, 1 foreground, 2 background) on ``image``'s grid.

    ``smooth`` is the Gaussian-smoothed image on the same grid (used for all intensity
    rules). Raises InputError when the point is in air, fat or soft tissue.
    """
    params = params or SeedingParameters()
    point = np.asarray(point_lps, dtype=float)
    d = offsets_mm(image, point)
    dist2 = np.einsum("...i,...i->...", d, d)
    fg = dist2 <= params.foreground_radius_mm**2
    if not fg.any():
        raise InputError("the seed point lies outside the image", path)
    seed_hu = float(np.median(smooth.array[fg]))
    if seed_hu < params.air_hu:
        raise InputError(
            f"the seed point is in air ({seed_hu:.0f} HU), not in a vertebral body", path
        )
    if seed_hu < params.min_seed_hu:
        raise InputError(
            f"the seed point is in fat or soft tissue ({seed_hu:.0f} HU < "
            f"{params.min_seed_hu:g} HU), not inside a vertebral body",
            path,
        )
    sm = smooth.array
    bg = np.zeros(image.shape, dtype=bool)
    # Fat and air connected to the crop border.
    low = sm < params.fat_hu
    lab, _ = ndi.label(low)
    border = np.unique(
        np.concatenate(
            [
                lab[0].ravel(),
                lab[-1].ravel(),
                lab[:, 0].ravel(),
                lab[:, -1].ravel(),
                lab[:, :, 0].ravel(),
                lab[:, :, -1].ravel(),
            ]
        )
    )
    bg |= np.isin(lab, border[border > 0])
    # Surroundings beyond the margins, and the crop's border.
    radial2 = d[..., 0] ** 2 + d[..., 1] ** 2
    bg |= radial2 > params.background_radius_mm**2
    bg |= np.abs(d[..., 2]) > params.background_height_mm
    bg[[0, -1]] = True
    bg[:, [0, -1]] = True
    bg[:, :, [0, -1]] = True
    # Discs above and below.
    steps = np.arange(0.0, params.disc_search_mm, min(image.spacing) / 2)
    discs = []
    for sign in (1.0, -1.0):
        axis = np.array([0.0, 0.0, sign])
        prof = _profile(smooth, point, axis, steps, params.profile_radius_mm)
        off = find_valley(
            prof,
            steps,
            below=seed_hu,
            min_drop=params.disc_contrast_hu,
        )
        discs.append(None if off is None else sign * off)
        if off is not None:
            slab = (np.abs(d[..., 2] - sign * off) <= params.disc_seed_thickness_mm) & (
                radial2 <= params.disc_seed_radius_mm**2
            )
            bg |= slab
    # Posterior elements: behind the spinal canal's centre (LPS +y is posterior).
    steps_y = np.arange(0.0, params.canal_search_mm, min(image.spacing) / 2)
    prof_y = _profile(smooth, point, np.array([0.0, 1.0, 0.0]), steps_y, 2.0)
    canal = find_canal(
        prof_y,
        steps_y,
        min(params.canal_hu, seed_hu - params.valley_margin_hu),
        params.canal_min_mm,
        params.canal_wall_mm,
    )
    if canal is not None:
        bg |= d[..., 1] > canal
        canal_pt = np.array([0.0, canal, 0.0])
        bg |= np.einsum("...i,...i->...", d - canal_pt, d - canal_pt) <= (
            params.canal_seed_radius_mm**2
        )
    else:
        bg |= d[..., 1] > params.fallback_posterior_mm
    landmarks = [abs(v) for v in discs if v is not None]
    if canal is not None:
        landmarks.append(max(canal - params.canal_wall_mm, 0.0))
    if landmarks:
        radius = float(
            np.clip(
                0.5 * min(landmarks), params.foreground_radius_mm, params.max_foreground_radius_mm
            )
        )
        fg = dist2 <= radius**2
    seeds = np.zeros(image.shape, dtype=np.uint8)
    seeds[bg] = BACKGROUND
    seeds[fg] = FOREGROUND
    report = SeedReport(
        seed_hu=seed_hu,
        disc_above_mm=discs[0],
        disc_below_mm=discs[1],
        canal_mm=canal,
        n_foreground=int(fg.sum()),
        n_background=int((seeds == BACKGROUND).sum()),
    )
    return seeds, report
