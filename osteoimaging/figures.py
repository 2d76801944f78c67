"""Static pictures (PNG) for the CLI and reports.

:func:`mid_slices_png` draws with :mod:`osteoimaging.render` (Pillow + numpy only, as
3D Slicer bundles them): axial, coronal and sagittal panels in the radiological
convention of Slicer's default views, with orientation letters, slice position, scale bar,
window and a legend of the mask outline.

``plt`` and :func:`save_figure` remain for the cohort, experiment and radiomics plots,
which use matplotlib; matplotlib is imported only when one of them is first used, so
importing this module (and everything the focal measurement imports) does not need it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from osteoimaging.render import Outline, save_png, slice_figure
from osteoimaging.volume import Volume

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def __getattr__(name: str) -> Any:
    """``plt`` on first use: matplotlib's pyplot with the Agg backend (no display)."""
    if name == "plt":
        return _pyplot()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically as PNG and close it."""
    from osteoimaging.atomic import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    _pyplot().close(fig)
    return Path(path)


def mid_slices_png(
    ct: Volume,
    path: str | Path,
    mask: Volume | None = None,
    window: tuple[float, float] = (400.0, 1500.0),
    title: str = "",
    mask_label: str = "vertebral body (input mask)",
) -> Path:
    """Axial, coronal and sagittal slices through the mask centre, the mask outlined.

    ``window`` is (level, width) in the image's units (default: a bone window in HU). The
    field of view fits the mask with a margin (the whole CT without a mask).
    """
    outlines = [Outline(mask, mask_label)] if mask is not None and mask.array.any() else []
    figure = slice_figure(ct, outlines=outlines, window=window, title=title)
    return save_png(figure.image, path)
