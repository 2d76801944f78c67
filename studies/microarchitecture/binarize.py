"""Binarisation of greyscale bone images: a fixed threshold or Otsu's method.

Li et al. (JOR Spine 2022;5:e1195) binarised their high-resolution CT at a fixed
200 mg/cm³; greyscale micro-CT without a density calibration is usually segmented by
Otsu's between-class-variance threshold (Otsu, IEEE Trans Syst Man Cybern 1979;9:62–66).
"""

from __future__ import annotations

import numpy as np
from skimage.filters import threshold_otsu

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

#: The paper's HR-CT bone threshold (mg/cm³ hydroxyapatite).
PAPER_THRESHOLD_MG_CM3 = 200.0


def binarize(
    image: Volume, threshold: float | None = PAPER_THRESHOLD_MG_CM3, *, method: str = "fixed"
) -> tuple[Volume, float]:
    """Bone = voxels ≥ threshold. Returns (boolean volume, threshold used).

    ``method="fixed"`` uses ``threshold`` (in the image's units, default 200 mg/cm³);
    ``method="otsu"`` ignores it and uses Otsu's threshold of the whole image.
    """
    arr = image.array
    if arr.size == 0:
        raise InputError("image is empty")
    if method == "otsu":
        if np.unique(arr[:: max(1, arr.shape[0] // 16)]).size < 2:
            raise InputError("image is constant; Otsu's threshold is undefined")
        threshold = float(threshold_otsu(arr))
    elif method == "fixed":
        if threshold is None or not np.isfinite(threshold):
            raise InputError("a finite threshold is needed for method='fixed'")
        threshold = float(threshold)
    else:
        raise ValueError(f"unknown binarisation method {method!r} (fixed, otsu)")
    return image.with_array(arr >= threshold), threshold
