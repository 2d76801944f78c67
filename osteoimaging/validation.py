"""Validation of inputs: CT plausibility, masks and their geometry, label values.

Each check raises :class:`~osteoimaging.errors.InputError` with a one-line message
naming the file and the problem.
"""

from __future__ import annotations

import math
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


#: More distinct values than this in a "mask" make it an image, not a label map
#: (TotalSegmentator's largest label map has 117 labels).
MAX_LABELS = 1000


def parse_label_values(text: str, option: str = "label values") -> list[int]:
    """``"1,2,20"`` → ``[1, 2, 20]``; InputError for anything that is not an integer.

    ``20.7`` is refused rather than truncated to 20, and ``nan`` rather than crashing.
    """
    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            number = float(part)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number != int(number):
            raise InputError(f"{option}: '{part}' is not an integer label value (in '{text}')")
        values.append(int(number))
    if not values:
        raise InputError(f"{option}: no label value in '{text}'")
    return values


def _check_label_map(arr: np.ndarray, path: str | Path | None) -> np.ndarray:
    """The label map as integers; refuse non-integer values, images and negative labels."""
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)):
        finite = np.isfinite(arr)
        if not finite.all():
            raise InputError(
                f"mask has {int((~finite).sum())} NaN or infinite values; expected a label map",
                path,
            )
        rounded = np.rint(arr)
        off = rounded != arr
        if off.any():
            example = float(arr[off].flat[0])
            raise InputError(
                f"mask has non-integer values (e.g. {example:g}); expected a label map", path
            )
        arr = rounded.astype(np.int64)
    if arr.dtype != np.bool_ and arr.size and int(arr.min()) < 0:
        raise InputError(
            f"mask has negative values (min {int(arr.min())}): an image such as a CT, not a "
            "mask or label map",
            path,
        )
    if arr.dtype == np.bool_ or not arr.size or int(arr.max()) - int(arr.min()) < MAX_LABELS:
        return arr
    sample = arr[:: max(1, arr.shape[0] // 16)]
    span = int(sample.max()) - int(sample.min())
    if span < 1 << 24:
        distinct = int(np.count_nonzero(np.bincount((sample - sample.min()).ravel())))
    else:
        distinct = np.unique(sample).size
    if distinct > MAX_LABELS:
        raise InputError(
            f"mask has more than {distinct} distinct values: an image, not a mask or label map",
            path,
        )
    return arr


def mask_from_label(labels: Volume, label: int | None, path: str | Path | None = None) -> Volume:
    """A boolean mask from a label map: voxels equal to ``label`` (or > 0 if None).

    Refuses what is not a label map (negative, non-integer, NaN or too many distinct
    values: e.g. the CT itself), an empty mask and a mask covering the whole image.
    """
    arr = _check_label_map(labels.array, path)
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
    if mask.all():
        raise InputError(
            f"mask covers every voxel of the image ({labels.describe()}): not a segmentation"
            " of a vertebral body",
            path,
        )
    return labels.with_array(mask)


def resample_mask_to(mask: Volume, reference: Volume) -> Volume:
    """Nearest-neighbour resampling of a (label or boolean) mask onto ``reference``'s grid."""
    image = mask.to_sitk()
    ref = reference.reference_image()
    out = sitk.Resample(image, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    return Volume.from_sitk(out, **mask.metadata)


def _grid(volume: Volume, with_direction: bool) -> str:
    text = f"{volume.describe()}, origin {format_triplet(volume.origin)}"
    if with_direction:
        rows = "; ".join(" ".join(f"{v:.4g}" for v in row) for row in volume.direction)
        text += f", direction {rows}"
    return text


def check_mask_geometry(
    mask: Volume, image: Volume, mask_path: str | Path | None = None, *, resample: bool = False
) -> Volume:
    """Return ``mask`` on ``image``'s grid or fail if the grids differ.

    With ``resample=True`` a mask on another grid is resampled by nearest neighbour
    (the caller asked for it explicitly: ``--resample-mask``). The message shows the
    direction cosines when they differ (two grids may differ only there).
    """
    if mask.same_geometry(image):
        return mask
    if resample:
        return resample_mask_to(mask, image)
    directions = not np.allclose(mask.direction, image.direction, atol=1e-4)
    raise InputError(
        f"mask grid ({_grid(mask, directions)}) differs from the image grid "
        f"({_grid(image, directions)}); pass --resample-mask to resample it by nearest "
        "neighbour",
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
