"""Display planes in the patient frame, orientation letters, and sampling volumes on them.

Display convention (radiological, as 3D Slicer's default slice views): checked against
``vtkMRMLSliceNode`` presets of slicer-core (SliceToRAS columns = screen right, screen up):

========  =========================  ======================  ==========================
view      screen right (RAS / LPS)   screen up               so the picture shows
========  =========================  ======================  ==========================
axial     −R = L (LPS +x)            A (LPS −y)              patient's right on the left,
                                                             anterior up (seen from the feet)
coronal   L (LPS +x)                 S (LPS +z)              right on the left, superior up
sagittal  −A = P (LPS +y)            S (LPS +z)              anterior on the left, superior up
========  =========================  ======================  ==========================

Images here are stored with rows going *down*, so a plane is given by the LPS unit vectors
of its +column (``right``) and +row (``down``) directions.

Orientation letters (R/L, A/P, S/I) name where a direction points in the patient: for a
displayed axis with LPS components (x, y, z) the letters of its components are listed by
decreasing magnitude (x > 0 → L, x < 0 → R; y > 0 → P, y < 0 → A; z > 0 → S, z < 0 → I),
keeping a component only when ``|c| ≥ 0.1`` (the axis leans more than ~6° towards it) and at
most two letters — the convention of radiology viewers (e.g. dicom3tools, OHIF), which list
every non-zero component; the cut-off hides sub-degree jitter and the third letter, which
says little. Patient-aligned planes therefore get single letters; an oblique (vertebra-
aligned) plane gets e.g. ``AS`` for an axis tilted towards superior.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from osteoimaging.volume import Volume

VIEWS = ("axial", "coronal", "sagittal")
# LPS unit vectors of (screen right, screen down) for the patient-aligned views.
_PATIENT_AXES = {
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}
_LETTERS = (("R", "L"), ("A", "P"), ("I", "S"))  # (negative, positive) per LPS axis
LETTER_THRESHOLD = 0.1
# Slicer labels the slice offset with the RAS axis of the view's normal
# (qMRMLSliceControllerWidget: "S: ", "A: ", "R: ").
_RAS_AXIS = {"axial": ("S", 2, 1.0), "coronal": ("A", 1, -1.0), "sagittal": ("R", 0, -1.0)}


@dataclass(frozen=True)
class SlicePlane:
    """A square-pixel image plane: pixel (col, row) sits at ``centre + (col − c0)·px·right +
    (row − r0)·px·down`` with (c0, r0) the image centre ((width − 1)/2, (height − 1)/2)."""

    view: str
    centre: tuple[float, float, float]  # LPS mm
    right: tuple[float, float, float]  # LPS unit vector of +column
    down: tuple[float, float, float]  # LPS unit vector of +row
    pixel_mm: float
    size: tuple[int, int]  # (width, height) in pixels

    @property
    def normal(self) -> np.ndarray:
        """Unit normal ``right × down`` (LPS)."""
        return np.cross(self.right, self.down)

    def points(self) -> np.ndarray:
        """LPS points (height, width, 3) of every pixel centre."""
        w, h = self.size
        cols = (np.arange(w) - (w - 1) / 2.0) * self.pixel_mm
        rows = (np.arange(h) - (h - 1) / 2.0) * self.pixel_mm
        return (
            np.asarray(self.centre)
            + cols[None, :, None] * np.asarray(self.right)
            + rows[:, None, None] * np.asarray(self.down)
        )

    def pixel_of(self, point_lps: Sequence[float]) -> tuple[float, float]:
        """Continuous (col, row) of the projection of an LPS point onto the plane."""
        d = np.asarray(point_lps, dtype=float) - np.asarray(self.centre)
        w, h = self.size
        col = float(d @ np.asarray(self.right)) / self.pixel_mm + (w - 1) / 2.0
        row = float(d @ np.asarray(self.down)) / self.pixel_mm + (h - 1) / 2.0
        return col, row

    def letters(self) -> dict[str, str]:
        """Orientation letters of the four image sides: ``left``, ``right``, ``top``, ``bottom``."""
        r, d = np.asarray(self.right), np.asarray(self.down)
        return {
            "left": orientation_letters(-r),
            "right": orientation_letters(r),
            "top": orientation_letters(-d),
            "bottom": orientation_letters(d),
        }

    def tilt_deg(self) -> float:
        """Angle between the plane's normal and the nearest patient axis, in degrees."""
        return float(np.degrees(np.arccos(min(1.0, float(np.max(np.abs(self.normal)))))))

    def position_label(self) -> str:
        """Slice position as Slicer shows it, e.g. ``S: 123.4 mm`` (RAS, the view's normal axis).

        Oblique planes (tilt ≥ 0.5°) add the tilt, e.g. ``S: 12.0 mm, tilted 8°``: the
        coordinate is then that of the plane's centre.
        """
        letter, axis, sign = _RAS_AXIS[self.view]
        value = round(sign * self.centre[axis], 1) + 0.0  # + 0.0: no "-0.0"
        text = f"{letter}: {value:.1f} mm"
        tilt = self.tilt_deg()
        return text if tilt < 0.5 else f"{text}, tilted {tilt:.0f}°"


def orientation_letters(direction_lps: Sequence[float], threshold: float = LETTER_THRESHOLD) -> str:
    """Letters of where an LPS direction points, e.g. ``L``, ``AS`` (see the module docstring)."""
    v = np.asarray(direction_lps, dtype=float)
    n = float(np.linalg.norm(v))
    if n == 0:
        raise ValueError("a direction of length 0 has no orientation")
    v = v / n
    order = np.argsort(-np.abs(v), kind="stable")
    out = [_LETTERS[a][int(v[a] > 0)] for a in order[:2] if abs(v[a]) >= threshold]
    return "".join(out)


def patient_plane(view: str, centre_lps: Sequence[float], fov_mm: float, pixels: int) -> SlicePlane:
    """A patient-aligned plane in Slicer's default orientation (see the module table)."""
    if view not in _PATIENT_AXES:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    right, down = _PATIENT_AXES[view]
    return SlicePlane(view, _triplet(centre_lps), right, down, fov_mm / pixels, (pixels, pixels))


def volume_plane(
    view: str,
    centre_lps: Sequence[float],
    fov_mm: float,
    pixels: int,
    grid: Volume,
    radiological: bool = True,
) -> SlicePlane:
    """A plane spanned by two voxel axes of ``grid`` (e.g. the vertebra-aligned analysis grid).

    The grid axes nearest the view's screen-right and screen-down patient axes are used
    (as Slicer's "Rotate to volume plane"). With ``radiological`` their signs are chosen
    so the picture keeps the convention of :func:`patient_plane` as far as the tilt allows;
    without it the axes keep their stored sign, like a plain array display (column index
    increasing to the right; row index increasing downwards in axial, upwards in coronal
    and sagittal, as the former matplotlib figures showed them) — the orientation letters
    then tell the reader where the patient's sides are.
    """
    if view not in _PATIENT_AXES:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    d = np.asarray(grid.direction, dtype=float)
    axes = []
    used: set[int] = set()
    for n, target in enumerate(_PATIENT_AXES[view]):
        score = np.abs(np.asarray(target) @ d)
        col = next(int(c) for c in np.argsort(-score, kind="stable") if int(c) not in used)
        used.add(col)
        v = d[:, col] / np.linalg.norm(d[:, col])
        if radiological:
            v = v if float(np.asarray(target) @ v) >= 0 else -v
        elif n == 1 and view != "axial":
            v = -v  # rows of a stored coronal/sagittal layout go up the array (origin "lower")
        axes.append(tuple(float(c) for c in v))
    return SlicePlane(
        view, _triplet(centre_lps), axes[0], axes[1], fov_mm / pixels, (pixels, pixels)
    )


def _triplet(values: Sequence[float]) -> tuple[float, float, float]:
    v = tuple(float(x) for x in values)
    if len(v) != 3 or not all(np.isfinite(v)):
        raise ValueError(f"a point needs three finite coordinates, got {values!r}")
    return v  # type: ignore[return-value]


def sample(
    volume: Volume, plane: SlicePlane, *, linear: bool = True, outside: float = np.nan
) -> np.ndarray:
    """Values of ``volume`` at the plane's pixel centres, (height, width) float32.

    ``linear``: trilinear interpolation (CT, masks for outlines); otherwise nearest voxel
    (maps: each analysis voxel shown as is). Points farther than half a voxel outside the
    grid get ``outside``. Works on the volume's array in place (no copy of the volume).
    """
    ijk = _plane_indices(volume, plane)  # (N, 3) continuous (i, j, k)
    arr = volume.array
    shape_ijk = np.asarray(arr.shape[::-1])
    inside = np.all((ijk >= -0.5) & (ijk <= shape_ijk - 0.5), axis=1)
    out = np.full(len(ijk), outside, dtype=np.float32)
    q = ijk[inside]
    if q.size:
        if linear:
            out[inside] = _trilinear(arr, q)
        else:
            idx = np.clip(np.floor(q + 0.5).astype(np.intp), 0, shape_ijk - 1)
            out[inside] = arr[idx[:, 2], idx[:, 1], idx[:, 0]]
    w, h = plane.size
    return out.reshape(h, w)


def _plane_indices(volume: Volume, plane: SlicePlane) -> np.ndarray:
    """Continuous voxel indices of every pixel centre, row-major (affine in col and row)."""
    w, h = plane.size
    c, r, d = (
        np.asarray(plane.centre),
        np.asarray(plane.right) * plane.pixel_mm,
        np.asarray(plane.down) * plane.pixel_mm,
    )
    first = c - (w - 1) / 2.0 * r - (h - 1) / 2.0 * d
    i0, i_col, i_row = volume.physical_to_index(np.stack([first, first + r, first + d]))
    cols = np.arange(w, dtype=float)[None, :, None] * (i_col - i0)
    rows = np.arange(h, dtype=float)[:, None, None] * (i_row - i0)
    return (i0 + cols + rows).reshape(-1, 3)


def _trilinear(arr: np.ndarray, q: np.ndarray) -> np.ndarray:
    n = np.asarray(arr.shape[::-1])  # (nx, ny, nz)
    base = np.clip(np.floor(q).astype(np.intp), 0, np.maximum(n - 2, 0))
    frac = np.clip(q - base, 0.0, 1.0)
    frac[:, n < 2] = 0.0
    upper = np.minimum(base + 1, n - 1)
    result = np.zeros(len(q), dtype=np.float64)
    for corner in range(8):
        pick = [(corner >> a) & 1 for a in range(3)]
        ix = [upper[:, a] if pick[a] else base[:, a] for a in range(3)]
        weight = np.ones(len(q))
        for a in range(3):
            weight *= frac[:, a] if pick[a] else 1.0 - frac[:, a]
        result += weight * arr[ix[2], ix[1], ix[0]].astype(np.float64)
    return result.astype(np.float32)
