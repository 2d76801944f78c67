"""Our :class:`~osteoimaging.volume.Volume` grid ↔ DICOM multi-frame plane geometry.

A Volume's array ``[k, j, i]`` is stored as frames ``k`` of ``Rows = nj`` by
``Columns = ni`` pixels: Image Orientation (Patient) = (direction[:, 0], direction[:, 1])
(the row and column direction cosines, LPS), Image Position (Patient) of frame k =
``index_to_physical((0, 0, k))``, Pixel Spacing = (spacing_j, spacing_i) (between rows,
between columns), Slice Thickness = Spacing Between Slices = spacing_k.
"""

from __future__ import annotations

import numpy as np
from highdicom import (
    CoordinateSystemNames,
    PixelMeasuresSequence,
    PlaneOrientationSequence,
    PlanePositionSequence,
)

from osteoimaging.volume import Volume

PATIENT = CoordinateSystemNames.PATIENT
POSITION_TOL_MM = 1e-4  # DS strings hold ~16 significant digits


def plane_positions(volume: Volume) -> list[PlanePositionSequence]:
    """One Plane Position (Patient) per frame k."""
    return [
        PlanePositionSequence(
            PATIENT, [float(v) for v in volume.index_to_physical(np.array([0.0, 0.0, k]))]
        )
        for k in range(volume.shape[0])
    ]


def plane_orientation(volume: Volume) -> PlaneOrientationSequence:
    d = volume.direction
    return PlaneOrientationSequence(PATIENT, [float(v) for v in (*d[:, 0], *d[:, 1])])


def pixel_measures(volume: Volume) -> PixelMeasuresSequence:
    sx, sy, sz = volume.spacing
    return PixelMeasuresSequence(
        pixel_spacing=[float(sy), float(sx)],
        slice_thickness=float(sz),
        spacing_between_slices=float(sz),
    )


def from_highdicom(volume, **metadata) -> Volume:
    """A highdicom ``Volume`` (array ``[slice, row, column]``, 4×4 LPS affine mapping those
    indices to mm) as our Volume (same array, columns of the affine as i, j, k axes)."""
    affine = np.asarray(volume.affine, dtype=float)
    axes = affine[:3, :3]
    # our i = highdicom column (affine column 2), j = row (1), k = slice (0)
    vectors = np.stack([axes[:, 2], axes[:, 1], axes[:, 0]], axis=1)
    spacing = np.linalg.norm(vectors, axis=0)
    return Volume(
        array=np.asarray(volume.array),
        spacing=tuple(spacing),
        origin=tuple(affine[:3, 3]),
        direction=vectors / spacing,
        metadata=dict(metadata),
    )
