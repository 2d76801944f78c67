"""Automatic alignment of the vertebral body's axis: the analysis grid's direction matrix.

Li et al. (JOR Spine 2022;5:e1195) aligned "the vertebral column's axis" to z by hand
before drawing star lines in axial slices. Here the axis is found from the body mask:

* ``"endplates"`` (default): the cranio-caudal axis is the mean normal of planes fitted
  to the superior and inferior end plates. End-plate voxels are the mask's surface
  voxels whose outward normal (gradient of the smoothed mask) lies within
  ``max_angle_deg`` of the current axis estimate (start: the scanner's z); each set is
  fitted by a least-squares plane (normal = smallest principal axis of its points), and
  the estimate is refined twice. Side walls, whose normals are perpendicular to the
  axis, do not take part — this is why it is preferred to principal axes: a lumbar body
  is about as deep as it is high (30 vs 25–28 mm), so its two smaller second moments
  are nearly equal and their eigenvectors are ill-defined.
* ``"pca"``: the principal axis of the body's voxel cloud closest to the scanner's z
  (inertia-tensor alignment; reliable only for bodies clearly flatter than deep).

Rotation about the axis: the left–right axis is the cross-section's major principal axis
(a body is wider than deep) when the two in-plane moments differ by more than 20 %,
otherwise the scanner's x projected onto the axial plane. The returned 3×3 matrix has
columns (left, posterior, superior) in LPS — a right-handed frame whose third column is
the cranio-caudal axis — and is passed as ``grid_direction`` to the focal measurement,
which resamples into that frame. Manual override: ``align="none"`` (scanner axes, i.e.
``grid_direction=None``) or an explicit rotation (matrix, or angles about x, y, z).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume


@dataclass
class Alignment:
    """The analysis frame and how it was found."""

    direction: np.ndarray | None
    method: str
    tilt_deg: float

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "tilt_deg": self.tilt_deg,
            "direction": None if self.direction is None else self.direction.tolist(),
        }


def _points_mm(mask: Volume, array: np.ndarray | None = None) -> np.ndarray:
    idx = np.argwhere(mask.array if array is None else array)[:, ::-1].astype(float)
    return mask.index_to_physical(idx)


def frame_from_axis(axis: np.ndarray, points: np.ndarray | None = None) -> np.ndarray:
    """Right-handed frame (columns left, posterior, superior; LPS) around ``axis``."""
    e3 = np.asarray(axis, dtype=float)
    e3 = e3 / np.linalg.norm(e3)
    if e3[2] < 0:
        e3 = -e3
    x = np.array([1.0, 0.0, 0.0])
    e1 = x - (x @ e3) * e3
    if points is not None and len(points) > 10:
        centred = points - points.mean(axis=0)
        flat = centred - np.outer(centred @ e3, e3)
        w, v = np.linalg.eigh(flat.T @ flat / len(flat))
        # w ascending: w[2] the largest in-plane moment, w[1] the other, w[0] ~ 0 (axis).
        if w[2] > 1.2 * w[1]:
            e1 = v[:, 2]
    e1 = e1 / np.linalg.norm(e1)
    if e1[0] < 0:
        e1 = -e1
    e2 = np.cross(e3, e1)
    return np.column_stack([e1, e2, e3])


def _plane_normal(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    _, v = np.linalg.eigh(centred.T @ centred)
    return v[:, 0]


def endplate_axis(
    mask: Volume, *, max_angle_deg: float = 45.0, iterations: int = 3, sigma_mm: float = 1.0
) -> np.ndarray:
    """Cranio-caudal axis (unit, LPS) from plane fits of the two end plates."""
    arr = mask.array.astype(bool)
    pad = 3
    m = np.pad(arr, pad).astype(np.float32)
    sig = [sigma_mm / s for s in mask.spacing_zyx]
    sm = ndi.gaussian_filter(m, sig)
    grads = np.gradient(sm, *mask.spacing_zyx)  # d/dz, d/dy, d/dx in index axes
    surface = arr & ~ndi.binary_erosion(arr)
    idx = np.argwhere(surface)
    g = np.stack(
        [
            grads[2][tuple((idx + pad).T)],
            grads[1][tuple((idx + pad).T)],
            grads[0][tuple((idx + pad).T)],
        ],
        axis=1,
    )
    # Index-axis gradient (per mm along i, j, k) → physical outward normal.
    normals = -np.einsum("nj,kj->nk", g, mask.direction)  # no BLAS threads: see Volume
    norms = np.linalg.norm(normals, axis=1)
    ok = norms > 1e-6
    normals, idx = normals[ok] / norms[ok, None], idx[ok]
    pts = mask.index_to_physical(idx[:, ::-1].astype(float))
    axis = np.array([0.0, 0.0, 1.0])
    cos_max = np.cos(np.deg2rad(max_angle_deg))
    for _ in range(iterations):
        c = normals @ axis
        top, bottom = pts[c >= cos_max], pts[c <= -cos_max]
        if len(top) < 10 or len(bottom) < 10:
            raise InputError("cannot find both end plates of the body mask for alignment")
        n_top, n_bot = _plane_normal(top), _plane_normal(bottom)
        n_top = n_top if n_top @ axis > 0 else -n_top
        n_bot = n_bot if n_bot @ axis > 0 else -n_bot
        axis = n_top + n_bot
        axis /= np.linalg.norm(axis)
    return axis


def pca_axis(mask: Volume) -> np.ndarray:
    """The principal axis of the mask's voxel cloud closest to the scanner's z."""
    pts = _points_mm(mask)
    centred = pts - pts.mean(axis=0)
    _, v = np.linalg.eigh(centred.T @ centred / len(pts))
    best = int(np.argmax(np.abs(v[2, :])))
    return v[:, best]


def rotation_from_angles(angles_deg: Sequence[float]) -> np.ndarray:
    """R = Rz·Ry·Rx for rotations (degrees) about the LPS x, y, z axes."""
    ax, ay, az = np.deg2rad(np.asarray(angles_deg, dtype=float))
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def check_rotation(matrix: np.ndarray) -> np.ndarray:
    """A proper rotation (orthonormal, det +1), or an InputError."""
    r = np.asarray(matrix, dtype=float)
    if r.shape != (3, 3) or not np.all(np.isfinite(r)):
        raise InputError(f"rotation must be a finite 3×3 matrix, got shape {r.shape}")
    if not np.allclose(r.T @ r, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
        raise InputError("rotation must be orthonormal with determinant +1")
    return r


def tilt_deg(direction: np.ndarray | None) -> float:
    """Angle between the frame's third column and the scanner's z (degrees)."""
    if direction is None:
        return 0.0
    return float(np.degrees(np.arccos(np.clip(abs(direction[2, 2]), -1.0, 1.0))))


def align_body(mask: Volume, align: str | np.ndarray | Sequence[float] = "endplates") -> Alignment:
    """The analysis frame for a body mask.

    ``align``: ``"endplates"`` or ``"auto"`` (end-plate fit), ``"pca"``, ``"none"``
    (scanner axes: direction None), a 3×3 rotation matrix (columns = grid axes in LPS),
    or three angles in degrees about x, y, z (:func:`rotation_from_angles`).
    """
    if isinstance(align, str):
        key = align.lower()
        if key == "none":
            return Alignment(None, "none", 0.0)
        if key in {"auto", "endplates"}:
            axis = endplate_axis(mask)
        elif key == "pca":
            axis = pca_axis(mask)
        else:
            raise InputError(f"unknown alignment '{align}' (endplates, pca, none or a rotation)")
        direction = frame_from_axis(axis, _points_mm(mask))
        return Alignment(direction, "endplates" if key == "auto" else key, tilt_deg(direction))
    arr = np.asarray(align, dtype=float)
    direction = check_rotation(rotation_from_angles(arr) if arr.shape == (3,) else arr)
    return Alignment(direction, "manual", tilt_deg(direction))
