"""Step 3: smoothing before the star-line analysis.

Li et al. 2022, as quoted in issue 3: "unsharp masking… in brief, Gaussian filtering with a
sigma of 0.3 mm".
We apply exactly that Gaussian by default; ``unsharp_amount`` a > 0 gives the classic
unsharp mask I + a·(I − G_σ*I) instead (Gonzalez & Woods, *Digital Image Processing*,
§3.6.3) for users who read the paper's wording literally.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi


def smooth(array: np.ndarray, spacing_mm: float, sigma_mm: float, unsharp_amount: float = 0.0):
    """Gaussian (σ in mm on an isotropic grid) or unsharp mask; float32 out."""
    a = np.asarray(array, dtype=np.float32)
    if sigma_mm <= 0:
        return a.copy()
    g = ndi.gaussian_filter(a, sigma=sigma_mm / spacing_mm, mode="nearest", truncate=4.0)
    if unsharp_amount > 0:
        return (a + np.float32(unsharp_amount) * (a - g)).astype(np.float32, copy=False)
    return g
