"""Reading-grade figures with Pillow, numpy and SimpleITK only (what 3D Slicer bundles).

* :func:`slice_figure` — axial, coronal and sagittal panels of a CT through a point, with
  colour maps (:class:`Overlay`) and outlines (:class:`Outline`) on any grid of the same
  patient frame, orientation letters, slice position, scale bar, window, colour bars with
  units, a legend and a title; radiological convention as Slicer's default views.
* :func:`subregion_grid_figure` — 3×3 (×2) sub-region values; :func:`bar_chart` — one
  measure across levels.
* :func:`save_png` (atomic) and :func:`png_bytes`.

No matplotlib: colour tables are embedded (:mod:`.colormaps`), text uses Pillow's
built-in font (:mod:`.text`).
"""

from osteoimaging.render.charts import bar_chart, subregion_grid_figure
from osteoimaging.render.colormaps import apply_colormap, colormap
from osteoimaging.render.output import png_bytes, save_png
from osteoimaging.render.planes import (
    SlicePlane,
    orientation_letters,
    patient_plane,
    sample,
    volume_plane,
)
from osteoimaging.render.slices import (
    Outline,
    Overlay,
    PanelInfo,
    SliceFigure,
    render_view,
    slice_figure,
)

__all__ = [
    "Outline",
    "Overlay",
    "PanelInfo",
    "SliceFigure",
    "SlicePlane",
    "apply_colormap",
    "bar_chart",
    "colormap",
    "orientation_letters",
    "patient_plane",
    "png_bytes",
    "render_view",
    "sample",
    "save_png",
    "slice_figure",
    "subregion_grid_figure",
    "volume_plane",
]
