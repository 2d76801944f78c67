"""numba when installed (the fast path), else plain Python with the same code (slow)."""

from __future__ import annotations

try:  # pragma: no cover - exercised by whichever branch is installed
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    from osteoimaging.log import logger

    HAVE_NUMBA = False
    prange = range
    logger.warning(
        "numba is not installed: the star-line analysis runs as plain Python "
        "(minutes per vertebra instead of about a second); pip install numba"
    )

    def njit(*args, **kwargs):
        """No-op stand-in for ``numba.njit``."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f


__all__ = ["HAVE_NUMBA", "njit", "prange"]
