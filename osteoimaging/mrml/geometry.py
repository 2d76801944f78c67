"""IJK→RAS matrices and the LPS↔RAS flip between ITK/DICOM and Slicer.

ITK and DICOM use the LPS patient frame, Slicer's world frame is RAS: x and y change
sign, z is kept (Slicer developer guide, "Coordinate systems"). A
:class:`~osteoimaging.volume.Volume` stores LPS geometry; a volume node stores RAS
geometry, so origin and axis directions are multiplied by ``LPS_TO_RAS``.
"""

from __future__ import annotations

import numpy as np

from osteoimaging.geometry import LPS_TO_RAS
from osteoimaging.volume import Volume


def ijk_to_ras(volume: Volume) -> np.ndarray:
    """The 4×4 homogeneous IJK→RAS matrix of ``volume``'s grid."""
    matrix = np.eye(4)
    matrix[:3, :3] = LPS_TO_RAS @ volume.direction @ np.diag(volume.spacing)
    matrix[:3, 3] = LPS_TO_RAS @ np.asarray(volume.origin)
    return matrix


def geometry_from_ijk_to_ras(matrix: np.ndarray, tol: float = 1e-6) -> dict:
    """Spacing, LPS origin and LPS direction of a 4×4 IJK→RAS matrix.

    Raises ValueError when the axes are not orthogonal (a sheared grid cannot be a
    :class:`Volume`).
    """
    matrix = np.asarray(matrix, dtype=float)
    axes = matrix[:3, :3]
    spacing = np.linalg.norm(axes, axis=0)
    if np.any(spacing <= 0):
        raise ValueError("IJK→RAS matrix has a zero-length axis")
    direction_ras = axes / spacing
    if not np.allclose(direction_ras.T @ direction_ras, np.eye(3), atol=tol):
        raise ValueError("IJK→RAS axes are not orthogonal (sheared or non-rigid transform)")
    return {
        "spacing": tuple(spacing),
        "origin": tuple(LPS_TO_RAS @ matrix[:3, 3]),
        "direction": LPS_TO_RAS @ direction_ras,
    }


def numpy_matrix(matrix) -> np.ndarray:
    """The 4×4 numpy array of a vtkMatrix4x4."""
    return np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
