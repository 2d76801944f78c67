"""The reference study's ROI: three sagittal layers of each vertebral body, cortex excluded.

The study delineated L1–L4 "on three sagittal layers" (the mid-sagittal slice of the vertebral
body and its two neighbours) "avoiding the cortical bone". From a full vertebral-body label
map we take, per label: the sagittal slice through the label's centroid (rounded to the nearest
slice) ± ``(layers − 1)/2`` slices, and within each layer keep only voxels farther than
``margin_mm`` from the body's outline (2-D Euclidean distance in the layer, physical units),
which removes a cortical rim of that thickness.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume


def sagittal_axis(volume: Volume) -> int:
    """Array axis (0 = k/z, 1 = j/y, 2 = i/x) along which sagittal slices are stacked: the
    voxel axis whose direction is closest to the patient's left–right (LPS x) axis."""
    index_axis = int(np.argmax(np.abs(volume.direction[0, :])))  # 0 = i, 1 = j, 2 = k
    return 2 - index_axis


def three_layer_roi(
    labels: Volume,
    label_values: list[int],
    *,
    layers: int = 3,
    margin_mm: float = 1.0,
    axis: int | None = None,
    min_voxels: int = 10,
) -> Volume:
    """A label map holding, for each of ``label_values``, its sagittal-layer ROI (same values)."""
    if layers < 1 or layers % 2 == 0:
        raise InputError(f"layers must be an odd positive number, got {layers}")
    if margin_mm < 0:
        raise InputError(f"cortical margin must be ≥ 0 mm, got {margin_mm}")
    axis = sagittal_axis(labels) if axis is None else axis
    arr = labels.array
    in_plane = [s for a, s in enumerate(labels.spacing_zyx) if a != axis]
    out = np.zeros(arr.shape, dtype=np.uint16)
    half = layers // 2
    for value in label_values:
        body = arr == value
        if not body.any():
            raise InputError(f"label {value} is absent from the mask")
        centre = int(np.rint(np.argwhere(body)[:, axis].mean()))
        for index in range(centre - half, centre + half + 1):
            if not 0 <= index < arr.shape[axis]:
                continue
            layer = np.take(body, index, axis=axis)
            if margin_mm > 0:
                padded = np.pad(layer, 1)
                distance = ndimage.distance_transform_edt(padded, sampling=in_plane)[1:-1, 1:-1]
                layer = distance > margin_mm
            target = [slice(None)] * 3
            target[axis] = index
            out[tuple(target)][layer] = value
        count = int((out == value).sum())
        if count < min_voxels:
            raise InputError(
                f"label {value}: only {count} voxels left in {layers} sagittal layers after "
                f"removing a {margin_mm:g} mm cortical margin (need ≥ {min_voxels})"
            )
    return labels.with_array(out)
