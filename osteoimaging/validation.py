"""Validation of inputs: CT plausibility, masks and their geometry, label values.

Each check raises :class:`~osteoimaging.errors.InputError` with a one-line message
naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from osteoimaging.errors import InputError
from osteoimaging.imageio import read_image
from osteoimaging.volume import Volume, format_triplet

#: CT numbers outside this range are not physical HU (−1024 is air; scanners pad with
#: −2048/−3024 outside the field of view; dense metal saturates at 3071 or, with
#: extended scales, ~30000).
HU_PLAUSIBLE = (-3100.0, 32767.0)


def check_ct_hu(volume: Volume, path: str | Path | None = None) -> None:
    """Fail unless the values look like a CT in Hounsfield units.

    A body CT in HU contains fat or air (values below −50 HU) and no values below
    −3100 HU. MRI, already-calibrated BMD maps and most masks fail: they have no
    negative values or are binary. Tight crops inside bone may fail too; callers can
    skip the check on purpose (``--no-hu-check``).
    """
    arr = volume.array
    if arr.size == 0:
        raise InputError("image is empty", path)
    sample = arr[:: max(1, arr.shape[0] // 32)].astype(np.float32, copy=False)
    if not np.all(np.isfinite(sample)):
        raise InputError("image contains NaN or infinite values; not a CT in HU", path)
    lo, hi = float(arr.min()), float(arr.max())
    if lo < HU_PLAUSIBLE[0] or hi > HU_PLAUSIBLE[1]:
        raise InputError(f"values {lo:g}..{hi:g} are outside any CT range in HU", path)
    if np.unique(sample).size <= 2:
        raise InputError(f"only {np.unique(sample).size} distinct values: a mask, not a CT", path)
    if lo > -50.0:
        raise InputError(
            f"values {lo:g}..{hi:g} contain nothing below -50 HU (no fat or air): not a CT in HU"
            " (an MRI or a calibrated BMD image?); use --no-hu-check if it is",
            path,
        )


def check_finite_spacing(volume: Volume, path: str | Path | None = None) -> None:
    """Fail on zero, negative or non-finite spacing."""
    sp = np.asarray(volume.spacing, dtype=float)
    if not np.all(np.isfinite(sp)) or np.any(sp <= 0):
        raise InputError(f"invalid voxel spacing {format_triplet(volume.spacing)} mm", path)


def mask_from_label(labels: Volume, label: int | None, path: str | Path | None = None) -> Volume:
    """A boolean mask from a label map: voxels equal to ``label`` (or > 0 if None)."""
    arr = labels.array
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)):
        rounded = np.rint(arr)
        if not np.allclose(rounded, arr):
            raise InputError("mask has non-integer values; expected a label map", path)
        arr = rounded.astype(np.int64)
    if label is None:
        mask = arr > 0
    else:
        mask = arr == label
        if not mask.any():
            present = [int(v) for v in np.unique(arr) if v != 0][:20]
            raise InputError(
                f"label {label} is absent (labels present: "
                f"{', '.join(map(str, present)) or 'none'})",
                path,
            )
    if not mask.any():
        raise InputError("mask is empty (no foreground voxel)", path)
    return labels.with_array(mask)


def resample_mask_to(mask: Volume, reference: Volume) -> Volume:
    """Nearest-neighbour resampling of a (label or boolean) mask onto ``reference``'s grid."""
    image = mask.to_sitk()
    ref = sitk.Image(reference.size, sitk.sitkUInt8)
    ref.SetSpacing(reference.spacing)
    ref.SetOrigin(reference.origin)
    ref.SetDirection(tuple(reference.direction.ravel()))
    out = sitk.Resample(image, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    return Volume.from_sitk(out, **mask.metadata)


def check_mask_geometry(
    mask: Volume, image: Volume, mask_path: str | Path | None = None, *, resample: bool = False
) -> Volume:
    """Return ``mask`` on ``image``'s grid or fail if the grids differ.

    With ``resample=True`` a mask on another grid is resampled by nearest neighbour
    (the caller asked for it explicitly: ``--resample-mask``).
    """
    if mask.same_geometry(image):
        return mask
    if resample:
        return resample_mask_to(mask, image)
    raise InputError(
        f"mask grid ({mask.describe()}, origin {format_triplet(mask.origin)}) differs from the "
        f"image grid ({image.describe()}, origin {format_triplet(image.origin)}); pass "
        "--resample-mask to resample it by nearest neighbour",
        mask_path,
    )


def read_ct(path: str | Path, *, series_uid: str | None = None, check_hu: bool = True) -> Volume:
    """Read a CT and check that it is plausibly in HU (unless ``check_hu`` is False)."""
    volume = read_image(path, series_uid=series_uid)
    if check_hu:
        check_ct_hu(volume, path)
    return volume


def read_mask(
    path: str | Path, reference: Volume, *, label: int | None = None, resample: bool = False
) -> Volume:
    """Read a mask or label map, select ``label``, and put it on ``reference``'s grid."""
    labels = read_image(path)
    labels = check_mask_geometry(labels, reference, path, resample=resample)
    return mask_from_label(labels, label, path)
