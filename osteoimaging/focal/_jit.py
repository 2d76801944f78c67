"""numba for the star-line kernels when it is installed; which path runs is decided per call.

Importing this module is silent: without numba, ``njit`` is a no-op (the kernels stay
importable as plain Python) and :mod:`osteoimaging.focal.starlines` runs the vectorised
numpy path (:mod:`osteoimaging.focal.starlines_numpy`) instead, logging the slowdown once
when it does. ``OSTEO_NO_NUMBA=1`` in the environment (read at every call) forces the numpy
path with numba installed, for tests and benchmarks.
"""

from __future__ import annotations

import os

NO_NUMBA_ENV = "OSTEO_NO_NUMBA"

try:  # pragma: no cover - exercised by whichever branch is installed
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False
    prange = range

    def njit(*args, **kwargs):
        """No-op stand-in for ``numba.njit``."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f


def numba_disabled() -> bool:
    """True when ``OSTEO_NO_NUMBA`` is set to anything but empty, 0, false or no."""
    return os.environ.get(NO_NUMBA_ENV, "").strip().lower() not in ("", "0", "false", "no")


def use_numba() -> bool:
    """numba is installed and not disabled by ``OSTEO_NO_NUMBA`` (read now)."""
    return HAVE_NUMBA and not numba_disabled()


__all__ = ["HAVE_NUMBA", "NO_NUMBA_ENV", "njit", "numba_disabled", "prange", "use_numba"]
