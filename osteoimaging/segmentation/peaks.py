"""Peaks of a 1D profile and their topographic prominence, in numpy.

The same rules as ``scipy.signal.find_peaks(x, prominence=p)`` (SciPy's
``_local_maxima_1d`` and ``_peak_prominences`` without a window), written out so that
seeding does not import ``scipy.signal`` (0.4 s on a cold start; see
``../shared/notes/performance-2026-12.md``). The test suite checks it against SciPy.

* A peak is a sample larger than its left neighbour and larger than the first differing
  sample to its right; a flat top (plateau) counts once, at its middle (left index
  rounded down); the first and last samples are never peaks.
* Prominence (the topographic definition): from the peak, walk left while samples are
  not higher than the peak and keep the lowest one; the same to the right; prominence =
  peak − the higher of the two minima.
"""

from __future__ import annotations

import numpy as np


def local_maxima(x: np.ndarray) -> np.ndarray:
    """Indices of the local maxima of ``x`` (plateaus at their middle)."""
    x = np.asarray(x, dtype=float)
    peaks = []
    i, i_max = 1, x.size - 1
    while i < i_max:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < i_max and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                peaks.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    return np.asarray(peaks, dtype=np.intp)


def prominences(x: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Topographic prominence of each peak of ``x``."""
    x = np.asarray(x, dtype=float)
    out = np.empty(len(peaks))
    for n, peak in enumerate(peaks):
        top = x[peak]
        i, left_min = peak, top
        while i >= 0 and x[i] <= top:
            left_min = min(left_min, x[i])
            i -= 1
        i, right_min = peak, top
        while i < x.size and x[i] <= top:
            right_min = min(right_min, x[i])
            i += 1
        out[n] = top - max(left_min, right_min)
    return out


def find_peaks(x: np.ndarray, prominence: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Peaks whose prominence is at least ``prominence``, and their prominences."""
    peaks = local_maxima(x)
    prom = prominences(x, peaks)
    keep = prom >= prominence
    return peaks[keep], prom[keep]
