"""Read MRI volumes and label maps stored as MATLAB v5 ``.mat`` files (or any image file).

The public lumbar MRI test case (``VB3_01.mat``: ``I`` uint8 224×224×77 sagittal image, ``GT``
labels 1–5 = L1–L5) stores no geometry. We read MATLAB's ``V[row, column, slice]`` into a
:class:`~osteoimaging.volume.Volume` array ``[slice, row, column]`` (k, j, i) and assume, for a
sagittal stack: slices run right → left (+x in LPS), rows run superior → inferior (−z), columns
run anterior → posterior (+y). Only the sagittal (slice) axis matters to this package (the ROI
helper picks sagittal layers along it); the in-plane senses are not stored in the file.
Spacing is the user's (``spacing=(column, row, slice)`` mm); the default is 1 mm isotropic and
a warning says so, because shape features (volume, surface/volume) scale with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.volume import Volume

DEFAULT_SPACING = (1.0, 1.0, 1.0)
# Columns of the direction matrix: i (column) → +y (posterior), j (row) → −z (inferior),
# k (slice) → +x (left).
SAGITTAL_DIRECTION = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def read_mat_volume(
    path: str | Path, variable: str, spacing: tuple[float, float, float] | None = None
) -> Volume:
    """One 3-D variable of a MATLAB v4–v7.2 ``.mat`` file as a sagittal Volume (see module doc)."""
    from scipy import io as sio

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path)
    try:
        data = sio.loadmat(str(path), variable_names=[variable])
    except NotImplementedError as exc:  # v7.3 files are HDF5
        raise InputError("MATLAB v7.3 (HDF5) files are not supported; save with -v7", path) from exc
    except (ValueError, OSError, TypeError) as exc:
        raise InputError(f"cannot read MATLAB file ({exc})", path) from exc
    if variable not in data:
        available = [k for k in sio.whosmat(str(path))]
        names = ", ".join(name for name, *_ in available)
        raise InputError(f"variable '{variable}' not in the file (variables: {names})", path)
    array = np.asarray(data[variable])
    if array.ndim != 3:
        raise InputError(f"variable '{variable}' is {array.ndim}-D; a 3-D volume is required", path)
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"variable '{variable}' is not numeric ({array.dtype})", path)
    if spacing is None:
        logger.warning(
            "%s stores no voxel size; assuming 1 mm isotropic (give --spacing)", path.name
        )
        spacing = DEFAULT_SPACING
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != 3 or not all(np.isfinite(s) and s > 0 for s in spacing):
        raise InputError(f"invalid spacing {spacing} (three positive numbers, mm)", path)
    volume = Volume(
        array=np.ascontiguousarray(np.transpose(array, (2, 0, 1))),
        spacing=spacing,
        direction=SAGITTAL_DIRECTION,
        metadata={"format": "mat", "variable": variable, "source": path.name},
    )
    return volume


def read_volume(
    path: str | Path,
    *,
    variable: str = "I",
    spacing: tuple[float, float, float] | None = None,
) -> Volume:
    """An MRI or label volume: ``.mat`` through :func:`read_mat_volume`, else any image format
    :func:`osteoimaging.imageio.read_image` reads (geometry from the file; ``spacing`` is then
    ignored with a warning)."""
    path = Path(path)
    if path.suffix.lower() == ".mat":
        return read_mat_volume(path, variable, spacing)
    from osteoimaging.imageio import read_image

    volume = read_image(path)
    if spacing is not None and not np.allclose(spacing, volume.spacing):
        logger.warning("%s stores its voxel size; the given spacing is ignored", path.name)
    return volume
