"""Crops around a point and the physical coordinates of their voxels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from osteoimaging.volume import Volume


def crop_box(
    volume: Volume, centre_lps: Sequence[float], half_size_mm: Sequence[float]
) -> tuple[slice, slice, slice]:
    """Array slices (z, y, x) of the index box covering a physical box around a point.

    The physical box has half sizes (x, y, z) in mm along the LPS axes; its eight
    corners are mapped to indices (any direction cosines), and the bounding index box
    is clipped to the image.
    """
    centre = np.asarray(centre_lps, dtype=float)
    half = np.asarray(half_size_mm, dtype=float)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    idx = volume.physical_to_index(centre + signs * half)
    lo = np.maximum(np.floor(idx.min(axis=0)).astype(int), 0)
    hi = np.minimum(np.ceil(idx.max(axis=0)).astype(int) + 1, np.asarray(volume.size))
    return slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0])


def crop(volume: Volume, box: tuple[slice, slice, slice]) -> Volume:
    """The sub-volume of ``box`` with its exact geometry (origin moved to the box corner)."""
    start = np.array([box[2].start, box[1].start, box[0].start], dtype=float)
    return Volume(
        np.ascontiguousarray(volume.array[box]),
        spacing=volume.spacing,
        origin=tuple(volume.index_to_physical(start)),
        direction=volume.direction,
        metadata=dict(volume.metadata),
    )


def uncrop(part: np.ndarray, box: tuple[slice, slice, slice], shape: tuple[int, ...]) -> np.ndarray:
    """Place a cropped array back into a zero array of the full ``shape``."""
    out = np.zeros(shape, dtype=part.dtype)
    out[box] = part
    return out


def offsets_mm(volume: Volume, point_lps: Sequence[float]) -> np.ndarray:
    """Physical offsets (z, y, x array, last axis = LPS x, y, z) of every voxel from a point."""
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in volume.shape), indexing="ij")
    ijk = np.stack([i, j, k], axis=-1) * np.asarray(volume.spacing, dtype=np.float32)
    d = volume.direction.astype(np.float32)
    p = (np.asarray(volume.origin) - np.asarray(point_lps)).astype(np.float32)
    return ijk @ d.T + p
