"""The two patient frames: LPS (ITK, DICOM, :class:`~osteoimaging.volume.Volume`) and RAS
(3D Slicer's world frame, and the coordinates Slicer shows for a clicked point).

x and y change sign between them, z is kept (Slicer developer guide, "Coordinate
systems"); the flip is its own inverse. This is the one place that converts points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def lps_to_ras(points: np.ndarray | Sequence[float]) -> np.ndarray:
    """RAS coordinates of LPS points (shape (…, 3))."""
    return np.asarray(points, dtype=float) @ LPS_TO_RAS


def ras_to_lps(points: np.ndarray | Sequence[float]) -> np.ndarray:
    """LPS coordinates of RAS points (shape (…, 3))."""
    return np.asarray(points, dtype=float) @ LPS_TO_RAS


def point_tuple(point: np.ndarray | Sequence[float]) -> tuple[float, float, float]:
    """A point as a tuple of three Python floats."""
    x, y, z = (float(v) for v in np.asarray(point, dtype=float).reshape(3))
    return x, y, z
