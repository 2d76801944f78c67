"""Static pictures (PNG) for the CLI and reports.

:func:`mid_slices_png` draws with :mod:`osteoimaging.render` (Pillow + numpy only, as
3D Slicer bundles them): axial, coronal and sagittal panels in the radiological
convention of Slicer's default views, with orientation letters, slice position, scale bar,
window and a legend of the mask outline.

The cohort, experiment and radiomics plots use matplotlib through its object API only:
:func:`new_figure` makes a :class:`matplotlib.figure.Figure` on its own Agg canvas,
:func:`figure_png` renders it to PNG bytes and :func:`save_figure` writes them atomically.
Neither ``matplotlib.pyplot`` nor ``matplotlib.use`` is touched, so plotting inside a 3D
Slicer process (which has its own backend and pyplot state) changes nothing there, and no
figure is kept in a global registry (a figure is freed when its last reference goes).
matplotlib is imported only when a figure is made, so importing this module (and
everything the focal measurement imports) does not need it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osteoimaging.render import Outline, save_png, slice_figure
from osteoimaging.volume import Volume

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: Resolution of report and CLI plots (dots per inch).
DPI = 120


def new_figure(
    figsize: tuple[float, float] = (5.0, 4.0),
    nrows: int = 1,
    ncols: int = 1,
    **subplots: Any,
) -> tuple[Figure, Any]:
    """A figure on its own Agg canvas and its axes (as ``Figure.subplots`` returns them).

    ``subplots`` go to :meth:`matplotlib.figure.Figure.subplots` (``squeeze``, ``sharex``…).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **subplots)


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The PNG bytes of ``fig`` (tight bounding box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically; return the path."""
    from osteoimaging.atomic import write_bytes

    return write_bytes(path, figure_png(fig, dpi))


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
