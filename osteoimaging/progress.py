"""Progress reporting shared by the CLI (tqdm) and the Slicer modules (a dialog).

Long computations take an optional ``progress`` callback ``progress(fraction, message)``
with ``fraction`` in [0, 1]. It may return ``False`` to request cancellation, which
the computation honours by raising :class:`osteoimaging.errors.CancelledError` at the
next check. The logic never owns a progress bar; its caller does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from osteoimaging.errors import CancelledError

ProgressCallback = Callable[[float, str], "bool | None"]


def report(progress: ProgressCallback | None, fraction: float, message: str = "") -> None:
    """Call ``progress`` if given; raise CancelledError if it returns ``False``."""
    if progress is None:
        return
    if progress(min(max(float(fraction), 0.0), 1.0), message) is False:
        raise CancelledError("cancelled by the user")


def sub_progress(
    progress: ProgressCallback | None, start: float, stop: float
) -> ProgressCallback | None:
    """A callback mapping [0, 1] onto [start, stop] of ``progress``."""
    if progress is None:
        return None

    def _sub(fraction: float, message: str = "") -> bool | None:
        return progress(start + (stop - start) * fraction, message)

    return _sub


class TqdmProgress:
    """A ``ProgressCallback`` that drives a tqdm bar on stderr (CLI use)."""

    def __init__(self, description: str = "", disable: bool | None = None):
        from tqdm import tqdm

        if disable is None:
            disable = not sys.stderr.isatty()
        self._bar = tqdm(
            total=1000,
            desc=description,
            disable=disable,
            leave=False,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {postfix}",
        )

    def __call__(self, fraction: float, message: str = "") -> bool:
        self._bar.n = round(1000 * fraction)
        if message:
            self._bar.set_postfix_str(message, refresh=False)
        self._bar.refresh()
        return True

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
