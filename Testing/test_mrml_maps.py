"""Result maps as overlays: exact RAS overlay on the CT, display settings, rendered slice views."""

from __future__ import annotations

import numpy as np
import pytest
from mrml_harness import field_value, linear_field, node_value_at_ras, oblique_direction

from osteoimaging.volume import Volume

COEFFS = (0.02, -0.03, 0.01)  # values 2.5 ± 0.7 over the grids: inside the maps' scales
OFFSET = 2.5


def _ct_and_map():
    """An oblique 0.4×0.4×0.7 mm CT and an oblique 0.3 mm map sharing one voxel centre.

    Both hold the same linear function of position, so the value at any voxel centre is
    known; the map is NaN outside a central box and 0 (no loss) in one corner of it.
    """
    ct_grid = Volume(
        np.zeros((30, 60, 60), np.float32),
        (0.4, 0.4, 0.7),
        (-12.0, -12.0, -10.0),
        oblique_direction((0.0, 0.0, 10.0)),
    )
    ct = linear_field(ct_grid, COEFFS, OFFSET)
    shared_lps = ct.index_to_physical(np.array([30, 30, 15]))
    direction = oblique_direction((0.0, 0.0, -20.0))
    spacing = (0.3, 0.3, 0.3)
    centre_index = np.array([20, 20, 20])
    origin = shared_lps - direction @ (np.asarray(spacing) * centre_index)
    grid = Volume(np.zeros((41, 41, 41), np.float32), spacing, origin, direction)
    values = linear_field(grid, COEFFS, OFFSET).array
    values[:, :, :5] = np.nan  # outside the ROI
    values[:, :5, :] = 0.0  # no loss: below the display threshold
    return ct, grid.with_array(values), shared_lps


def test_map_overlays_ct_exactly_in_ras(slicer_app):
    from osteoimaging.mrml.maps import map_to_node
    from osteoimaging.mrml.volumes import volume_to_node

    ct, loss, lps = _ct_and_map()
    ct_node = volume_to_node(ct, slicer_app.scene, "ct")
    map_node = map_to_node(loss, slicer_app.scene, "focal_bmc_loss")
    ras = lps * [-1, -1, 1]
    expected = field_value(lps, COEFFS, OFFSET)
    assert node_value_at_ras(ct_node, ras) == pytest.approx(expected, abs=1e-3)
    assert node_value_at_ras(map_node, ras) == pytest.approx(expected, abs=1e-3)
    # A second shared point 3 map voxels along the map's own k axis: in the map only.
    step = loss.direction[:, 2] * 0.9
    assert node_value_at_ras(map_node, (lps + step) * [-1, -1, 1]) == pytest.approx(
        field_value(lps + step, COEFFS, OFFSET), abs=1e-3
    )


def test_display_settings(slicer_app):
    from osteoimaging.maps import MAPS, ucum_code
    from osteoimaging.mrml.maps import legend_node, map_to_node
    from osteoimaging.mrml.views import show_map
    from osteoimaging.mrml.volumes import volume_to_node

    ct, loss, _ = _ct_and_map()
    ct_node = volume_to_node(ct, slicer_app.scene, "ct")
    nodes = {key: map_to_node(loss, slicer_app.scene, key) for key in MAPS}
    for key, node in nodes.items():
        style = MAPS[key]
        display = node.GetDisplayNode()
        assert display.GetColorNode().GetName() == f"OsteoImaging {style.colormap}"
        assert display.GetColorNode().GetNumberOfColors() == 256
        assert not display.GetAutoWindowLevel()
        assert display.GetWindow() == pytest.approx(style.display_max - style.display_min)
        assert display.GetLevel() == pytest.approx((style.display_max + style.display_min) / 2)
        assert display.GetApplyThreshold()
        assert display.GetLowerThreshold() == pytest.approx(style.threshold)
        assert node.GetVoxelValueUnits().GetCodeValue() == ucum_code(style.units)
        assert node.GetVoxelValueUnits().GetCodingSchemeDesignator() == "UCUM"
        legend = legend_node(node)
        assert legend.GetTitleText() == f"{style.label} ({style.units})"
        assert legend.GetLabelFormat() == style.label_format
        assert not legend.GetVisibility()
    uncalibrated = map_to_node(
        loss.with_array(loss.array, units="HU"), slicer_app.scene, "bmd", "HU map"
    )
    assert legend_node(uncalibrated).GetTitleText() == "BMD (HU)"
    assert uncalibrated.GetVoxelValueUnits().GetCodeValue() == "[hnsf'U]"
    k2 = map_to_node(
        loss.with_array(loss.array, units="mg/cm³ K2HPO4"), slicer_app.scene, "bmd", "K"
    )
    assert legend_node(k2).GetTitleText() == "BMD (mg/cm³ K2HPO4)"
    assert k2.GetVoxelValueUnits().GetCodeValue() == "mg/cm3"
    show_map(slicer_app.scene, ct_node, nodes["intercept_width"], opacity=0.4)
    for name in ("Red", "Yellow", "Green"):
        composite = slicer_app.slice_logics[name].GetSliceCompositeNode()
        assert composite.GetBackgroundVolumeID() == ct_node.GetID()
        assert composite.GetForegroundVolumeID() == nodes["intercept_width"].GetID()
        assert composite.GetForegroundOpacity() == pytest.approx(0.4)
    visible = [k for k, n in nodes.items() if legend_node(n).GetVisibility()]
    assert visible == ["intercept_width"]


def _render(app, ct_node, map_node, ras, opacity=1.0, view="Red"):
    from osteoimaging.mrml.views import render_slice, show_map

    show_map(app.scene, ct_node, map_node, opacity)
    return render_slice(app.slice_logics[view], ras, field_of_view_mm=20.5, pixels=41)


def test_rendered_overlay_colour_nan_and_threshold_transparency(slicer_app):
    from osteoimaging.maps import MAPS
    from osteoimaging.mrml.maps import map_to_node, palette_colours
    from osteoimaging.mrml.volumes import volume_to_node

    ct, loss, lps = _ct_and_map()
    ct_node = volume_to_node(ct, slicer_app.scene, "ct")
    ct_node.GetDisplayNode().SetAutoWindowLevel(False)
    ct_node.GetDisplayNode().SetWindowLevelMinMax(1.5, 3.5)
    map_node = map_to_node(loss, slicer_app.scene, "focal_bmc_loss")
    ras = lps * [-1, -1, 1]
    with_map = _render(slicer_app, ct_node, map_node, ras)
    ct_only = _render(slicer_app, ct_node, None, ras)
    centre = with_map[20, 20, :3].astype(float)
    style = MAPS["focal_bmc_loss"]
    t = (field_value(lps, COEFFS, OFFSET) - style.display_min) / (
        style.display_max - style.display_min
    )
    expected = palette_colours(style.colormap)[round(t * 255)] * 255
    np.testing.assert_allclose(centre, expected, atol=6)
    grey = ct_only[20, 20, :3].astype(int)
    assert grey[0] == grey[1] == grey[2]  # the CT alone is grey there
    # Where the map is NaN (outside the ROI) or 0 (below threshold) the CT shows through.
    differs = np.any(with_map != ct_only, axis=-1)
    assert differs[20, 20]
    map_array = loss.array
    transparent = ~np.isfinite(map_array) | (map_array <= 0)
    assert transparent.any() and (~transparent).any()
    # Count: every rendered pixel that differs from the CT must lie where the map is
    # visible; sample pixel centres back into the map grid to check.
    rows, cols = np.nonzero(differs)
    from osteoimaging.mrml.views import pixel_to_ras

    slice_node = slicer_app.slice_logics["Red"].GetSliceNode()
    for r, c in zip(rows[::7], cols[::7], strict=True):
        point = pixel_to_ras(slice_node, r, c) * [-1, -1, 1]
        i, j, k = np.rint(loss.physical_to_index(point)).astype(int)
        inside = all(0 <= a < n for a, n in zip((k, j, i), map_array.shape, strict=True))
        assert inside and not transparent[k, j, i]
    # Known voxels in the view's plane: NaN (i = 2) and 0 (j = 2) show the CT unchanged,
    # a valid voxel (i = j = 30) shows the map.
    for ijk, shows_map in (((2, 20, 20), False), ((20, 2, 20), False), ((30, 30, 20), True)):
        point = loss.index_to_physical(np.array(ijk)) * [-1, -1, 1]
        r, c = _ras_to_pixel(slice_node, point)
        assert differs[r, c] == shows_map, (ijk, r, c)


def _ras_to_pixel(slice_node, ras) -> tuple[int, int]:
    import vtk

    matrix = vtk.vtkMatrix4x4()
    vtk.vtkMatrix4x4.Invert(slice_node.GetXYToRAS(), matrix)
    x, y, _ = matrix.MultiplyPoint((*[float(v) for v in ras], 1.0))[:3]
    height = slice_node.GetDimensions()[1]
    return height - 1 - round(y), round(x)
