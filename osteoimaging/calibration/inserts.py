"""Measure calibration inserts in a CT: mean HU inside insert masks or cylinders.

Either a label map (one label value per insert, in insert order) or insert centres
(LPS mm) with a radius: the region is a cylinder of that radius along the image's slice
axis (length ``length_mm``, default 10 mm), or a sphere with ``length_mm=None``. Keep
the radius well inside the rod (e.g. 60–70 % of it) so the partial volume of the rod
wall does not bias the mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume


@dataclass(frozen=True)
class InsertMeasurement:
    """Mean, standard deviation and voxel count of one insert region."""

    mean_hu: float
    sd_hu: float
    n_voxels: int

    def to_dict(self) -> dict:
        return asdict(self)


def _measure(ct: Volume, region: np.ndarray, what: str) -> InsertMeasurement:
    n = int(region.sum())
    if n == 0:
        raise InputError(f"{what} contains no voxel of the image")
    values = ct.array[region].astype(np.float64)
    return InsertMeasurement(float(values.mean()), float(values.std()), n)


def measure_insert_labels(
    ct: Volume, labels: Volume, values: Sequence[int]
) -> list[InsertMeasurement]:
    """Mean HU per insert from a label map on the CT grid; ``values`` in insert order."""
    if not labels.same_geometry(ct):
        raise InputError("insert label map is not on the CT grid")
    arr = labels.array
    return [_measure(ct, arr == v, f"insert label {v}") for v in values]


def insert_region(
    ct: Volume, centre_lps: Sequence[float], radius_mm: float, length_mm: float | None = 10.0
) -> np.ndarray:
    """Boolean region: a cylinder along the slice axis (or a sphere) around a centre."""
    if radius_mm <= 0:
        raise InputError(f"insert radius must be positive, got {radius_mm}")
    centre = np.asarray(centre_lps, dtype=float)
    reach = radius_mm if length_mm is None else max(radius_mm, length_mm / 2)
    c_idx = ct.physical_to_index(centre)
    span = np.ceil(reach / np.asarray(ct.spacing)).astype(int) + 1
    lo = np.maximum(np.floor(c_idx).astype(int) - span, 0)
    hi = np.minimum(np.floor(c_idx).astype(int) + span + 1, np.asarray(ct.size))
    region = np.zeros(ct.shape, dtype=bool)
    if np.any(hi <= lo):
        return region
    kk, jj, ii = np.meshgrid(*(np.arange(lo[a], hi[a]) for a in (2, 1, 0)), indexing="ij")
    pts = ct.index_to_physical(np.stack([ii, jj, kk], axis=-1)) - centre
    axis = ct.direction[:, 2]
    along = pts @ axis
    if length_mm is None:
        inside = np.einsum("...i,...i->...", pts, pts) <= radius_mm**2
    else:
        radial2 = np.einsum("...i,...i->...", pts, pts) - along**2
        inside = (radial2 <= radius_mm**2) & (np.abs(along) <= length_mm / 2)
    region[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]] = inside
    return region


def measure_insert_centres(
    ct: Volume,
    centres_lps: Sequence[Sequence[float]],
    radius_mm: float,
    length_mm: float | None = 10.0,
) -> list[InsertMeasurement]:
    """Mean HU in a cylinder (or sphere) of ``radius_mm`` around each insert centre."""
    return [
        _measure(ct, insert_region(ct, c, radius_mm, length_mm), f"insert {n + 1} region")
        for n, c in enumerate(centres_lps)
    ]
