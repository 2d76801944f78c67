"""Checks of a DICOM series' slice geometry before its voxels are trusted.

ITK stacks the slices of a series in the order GDCM sorts them and takes the slice
spacing from the first and last positions: a missing middle slice silently stretches
the volume (5 slices 2 mm apart with one missing read as 2.667 mm), a duplicated file
gives a wrong spacing, and slices of another orientation are stacked as if parallel.
:func:`check_slice_geometry` looks at every slice's Image Position (Patient)
(0020,0032), Image Orientation (Patient) (0020,0037) and Pixel Spacing (0028,0030)
(DICOM PS3.3 C.7.6.2) and refuses, with what is wrong:

* a slice without position or orientation;
* slices of different orientation (direction cosines differing by more than 1e-4) or
  pixel spacing (more than 1e-4 mm);
* two slices at the same position along the slice normal (duplicates);
* gaps that are not uniform: every gap must equal the median gap within
  :data:`SPACING_TOLERANCE` (1 %) of it — a gap of about twice the median is reported
  as missing slices;
* slices shifted within their plane from one to the next by more than the same
  tolerance of the in-plane pixel spacing (a gantry-tilted acquisition), which a
  rectilinear grid cannot represent.

Deviations within the tolerance (rounding in the stored positions, at most 1 % of the
slice spacing, i.e. less than 0.02 mm at 2 mm) are accepted as they are: the grid's
spacing is the median gap and no slice is off by more than 1 % of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from osteoimaging.errors import InputError

#: Largest accepted deviation of a gap from the median gap, as a fraction of it.
SPACING_TOLERANCE = 0.01
#: Largest accepted difference between direction cosines of two slices.
ORIENTATION_TOLERANCE = 1e-4


def _numbers(text: str | None, n: int) -> np.ndarray | None:
    if text is None:
        return None
    try:
        values = np.array([float(v) for v in text.replace(",", "\\").split("\\") if v.strip()])
    except ValueError:
        return None
    return values if values.size == n and np.all(np.isfinite(values)) else None


def _fmt(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.4g}" for v in values)


def check_slice_geometry(
    positions: Sequence[str | None],
    orientations: Sequence[str | None],
    pixel_spacings: Sequence[str | None],
    files: Sequence[str],
    folder: str | Path,
) -> float | None:
    """Refuse a series whose slices do not form one regular grid; return the slice spacing.

    The arguments are the raw tag values of each slice, in the order the reader stacks
    them, and the slices' file names (for the messages). Returns the median gap (mm)
    along the slice normal, or None for a single slice.
    """
    n = len(files)
    pos, ori = [], []
    for k in range(n):
        p = _numbers(positions[k], 3)
        o = _numbers(orientations[k], 6)
        if p is None or o is None:
            tag = "Image Position (Patient)" if p is None else "Image Orientation (Patient)"
            raise InputError(f"slice {Path(files[k]).name} has no valid {tag}", folder)
        pos.append(p)
        ori.append(o)
    ori_arr = np.array(ori)
    odd = np.flatnonzero(np.abs(ori_arr - ori_arr[0]).max(axis=1) > ORIENTATION_TOLERANCE)
    if odd.size:
        raise InputError(
            f"mixed slice orientations: {odd.size} of {n} slices (e.g. "
            f"{Path(files[odd[0]]).name}: {_fmt(ori_arr[odd[0]])}) are not oriented as "
            f"{Path(files[0]).name} ({_fmt(ori_arr[0])}); one series must be one orientation",
            folder,
        )
    ps = [_numbers(s, 2) for s in pixel_spacings]
    if all(s is not None for s in ps):
        ps_arr = np.array(ps)
        if np.any(ps_arr <= 0):
            raise InputError(
                f"invalid pixel spacing {_fmt(ps_arr[0])} mm (Pixel Spacing (0028,0030) must "
                "be positive)",
                folder,
            )
        odd = np.flatnonzero(np.abs(ps_arr - ps_arr[0]).max(axis=1) > 1e-4)
        if odd.size:
            raise InputError(
                f"mixed pixel spacing: {Path(files[odd[0]]).name} has {_fmt(ps_arr[odd[0]])} mm,"
                f" {Path(files[0]).name} {_fmt(ps_arr[0])} mm",
                folder,
            )
        in_plane = float(ps_arr[0].min())
    else:
        in_plane = None
    if n < 2:
        return None
    row, col = ori_arr[0][:3], ori_arr[0][3:]
    normal = np.cross(row, col)
    pos_arr = np.array(pos)
    along = pos_arr @ normal
    order = np.argsort(along, kind="stable")
    z = along[order]
    gaps = np.diff(z)
    names = [Path(files[i]).name for i in order]
    dup = np.flatnonzero(np.abs(gaps) <= 1e-3 + SPACING_TOLERANCE * np.median(np.abs(gaps)))
    if dup.size:
        k = int(dup[0])
        raise InputError(
            f"{dup.size} duplicate slice position(s): {names[k]} and {names[k + 1]} are both at "
            f"{z[k]:.3f} mm along the slice normal (a file copied twice, or two series mixed?)",
            folder,
        )
    spacing = float(np.median(gaps))
    off = np.abs(gaps - spacing) > SPACING_TOLERANCE * spacing
    if off.any():
        k = int(np.flatnonzero(off)[0])
        ratio = gaps[k] / spacing
        if round(ratio) >= 2 and abs(ratio - round(ratio)) <= SPACING_TOLERANCE * round(ratio):
            missing = int(np.sum(np.round(gaps[off] / spacing) - 1))
            raise InputError(
                f"{missing} slice(s) missing: a gap of {gaps[k]:.3f} mm between {names[k]} and "
                f"{names[k + 1]} (z {z[k]:.3f} → {z[k + 1]:.3f} mm) where the series has "
                f"{spacing:.3f} mm",
                folder,
            )
        raise InputError(
            f"non-uniform slice spacing: gaps from {gaps.min():.3f} to {gaps.max():.3f} mm "
            f"(median {spacing:.3f} mm; first off between {names[k]} and {names[k + 1]}); "
            f"more than {SPACING_TOLERANCE:.0%} apart, so no regular grid fits the slices",
            folder,
        )
    if in_plane is not None:
        shift = pos_arr[order] - np.outer(z, normal)
        step = np.linalg.norm(np.diff(shift, axis=0), axis=1)
        if np.any(step > SPACING_TOLERANCE * in_plane + 1e-3):
            raise InputError(
                f"slices shift within their plane by up to {step.max():.3f} mm from one to the "
                "next (a gantry-tilted acquisition?); resample it to a rectilinear grid first",
                folder,
            )
    return spacing
