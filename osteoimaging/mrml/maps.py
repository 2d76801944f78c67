"""Result maps → scalar volume nodes with a fixed, documented display.

Each map is shown with its own colour table, a fixed window/level (so maps of different
vertebrae and patients are comparable at a glance — Slicer's automatic window/level
would rescale every map to its own range), its units on the node (DICOM/UCUM coded
entries, as Slicer's DICOM import sets them) and in a colour legend. Voxels outside the
region of interest are NaN in the logic layer's maps; they and values below the display
threshold are transparent, so the CT shows through.

Colour tables are perceptually uniform: 5 anchor colours of matplotlib's *viridis*
(densities) and *inferno* (losses/widths) (van der Walt & Smith, "A better default
colormap for matplotlib", SciPy 2015), linearly interpolated to 256 entries.
"""

from __future__ import annotations

import numpy as np
import slicer

from osteoimaging.maps import MAP_KEYS as CATALOGUE_KEYS
from osteoimaging.maps import map_info, ucum_code
from osteoimaging.mrml.volumes import volume_to_node
from osteoimaging.volume import Volume

PALETTES = {
    "viridis": ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"),
    "inferno": ("#000004", "#57106e", "#bc3754", "#f98e09", "#fcffa4"),
}


#: The catalogue's names, as the module files import them.
MAP_KEYS = CATALOGUE_KEYS
style_for = map_info


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


def palette_colours(palette: str, n: int = 256) -> np.ndarray:
    """(n, 3) RGB in [0, 1]: the palette's anchors linearly interpolated."""
    anchors = np.array([_rgb(c) for c in PALETTES[palette]])
    x = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, n)
    return np.stack([np.interp(t, x, anchors[:, c]) for c in range(3)], axis=1)


def colour_table_node(scene, palette: str):
    """The scene's ``OsteoImaging <palette>`` colour table node (created once)."""
    name = f"OsteoImaging {palette}"
    node = scene.GetFirstNodeByName(name)
    if node is not None:
        return node
    node = slicer.vtkMRMLColorTableNode()
    node.SetName(name)
    node.SetTypeToUser()
    node.SetNumberOfColors(256)
    for i, (r, g, b) in enumerate(palette_colours(palette)):
        node.SetColor(i, r, g, b, 1.0)
    node.SetAttribute("Category", "OsteoImaging")
    node.SetHideFromEditors(False)
    scene.AddNode(node)
    return node


def _coded(code: str, meaning: str):
    entry = slicer.vtkCodedEntry()
    entry.SetValueSchemeMeaning(code, "UCUM", meaning)
    return entry


def style_map_node(node, key: str, units: str | None = None) -> None:
    """Apply map ``key``'s display: colour, window/level, threshold, units, legend.

    ``units`` (a map's own units text, e.g. ``mg/cm³ K2HPO4``) overrides the catalogue's.
    """
    style = map_info(key)
    units = style.units if units is None else units
    scene = node.GetScene()
    if node.GetDisplayNode() is None:
        node.CreateDefaultDisplayNodes()
    display = node.GetDisplayNode()
    display.SetAndObserveColorNodeID(colour_table_node(scene, style.colormap).GetID())
    display.SetAutoWindowLevel(False)
    display.SetWindowLevelMinMax(style.display_min, style.display_max)
    display.SetAutoThreshold(False)
    display.SetApplyThreshold(True)
    display.SetThreshold(style.threshold, 1e30)
    display.SetInterpolate(False)
    node.SetVoxelValueUnits(_coded(ucum_code(units), units))
    node.SetAttribute("OsteoImaging.map", key)
    node.SetAttribute("OsteoImaging.units", units)
    add_legend = getattr(slicer.vtkSlicerColorLogic, "AddDefaultColorLegendDisplayNode", None)
    legend = add_legend(node) if add_legend is not None else None  # Slicer ≥ 4.13
    if legend is not None:
        legend.SetTitleText(f"{style.label} ({units})")
        legend.SetLabelFormat(style.label_format)
        legend.SetVisibility(False)


def map_to_node(volume: Volume, scene, key: str, name: str | None = None, node=None):
    """Add (or update) map ``key`` as a styled scalar volume node; float32 voxels, NaN kept.

    The map's ``metadata["units"]`` (as :func:`osteoimaging.focal.measure_focal` sets it)
    names its units.
    """
    array = volume.array.astype(np.float32, copy=False)
    name = name or map_info(key).label
    node = volume_to_node(volume.with_array(array), scene, name, node=node, auto_window=False)
    style_map_node(node, key, volume.metadata.get("units"))
    return node


def legend_node(node):
    """The colour legend display node of a map node (None if there is none)."""
    get_legend = getattr(slicer.vtkSlicerColorLogic, "GetColorLegendDisplayNode", None)
    return get_legend(node) if get_legend is not None else None
