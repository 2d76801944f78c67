"""The Grad-CAM map in a real MRML scene: exact overlay, display, legend, model application."""

from __future__ import annotations

import numpy as np
import pytest
from mrml_harness import node_value_at_ras, oblique_direction

from osteoimaging.volume import Volume


def _cam_volume():
    """An oblique CT grid holding a known map: NaN outside a slab, 0…1 inside."""
    grid = Volume(
        np.zeros((12, 40, 40), np.float32),
        (0.8, 0.8, 2.0),
        (-16.0, -16.0, -12.0),
        oblique_direction((0.0, 0.0, 25.0)),
    )
    k, j, i = np.indices(grid.shape)
    values = (i + j) / 78.0
    values[(k < 4) | (k > 7)] = np.nan
    return grid.with_array(values.astype(np.float32))


def test_gradcam_node_overlays_exactly_with_its_style(slicer_app):
    from osteoimaging.maps import MAPS
    from osteoimaging.mrml.maps import legend_node
    from osteoimaging.mrml.screening import gradcam_to_node

    cam = _cam_volume()
    node = gradcam_to_node(cam, slicer_app.scene, "case Grad-CAM")
    for ijk in ((3, 5, 5), (30, 20, 6), (39, 39, 7)):
        lps = cam.index_to_physical(np.array(ijk, float))
        expected = cam.array[ijk[2], ijk[1], ijk[0]]
        assert node_value_at_ras(node, lps * [-1, -1, 1]) == pytest.approx(expected, abs=1e-6)
    display = node.GetDisplayNode()
    assert display.GetColorNode().GetName() == "OsteoImaging inferno"
    assert display.GetWindow() == pytest.approx(1.0) and display.GetLevel() == pytest.approx(0.5)
    assert display.GetApplyThreshold()
    assert display.GetLowerThreshold() == pytest.approx(MAPS["gradcam"].threshold)
    assert node.GetAttribute("OsteoImaging.map") == "gradcam"
    assert legend_node(node).GetTitleText() == "Grad-CAM (relative)"
    # updating keeps one node
    again = gradcam_to_node(cam, slicer_app.scene, "case Grad-CAM", node=node)
    assert again is node


def test_screen_ct_node_applies_a_saved_model(slicer_app, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("monai")
    from osteoimaging.mrml.screening import screen_ct_node
    from osteoimaging.mrml.volumes import volume_to_node
    from osteoimaging.screening.model import ModelConfig, build_model, save_model
    from osteoimaging.screening.prep import PrepParams
    from osteoimaging.screening.synth import MUSCLE_LABEL, CohortSpec, synth_case

    config = ModelConfig(architecture="small", threads=1)
    prep = PrepParams(size_px=64, pixel_mm=3.0)
    save_model(tmp_path, build_model(config, prep.channels), config, prep, {})
    ct, labels, truth = synth_case(CohortSpec(scene_mm=2.0, inplane_mm=(1.8, 2.0)), 0)
    ct_node = volume_to_node(ct, slicer_app.scene, "chest CT")
    masks = {"T12": ct.with_array(labels.array == 32), "L1": ct.with_array(labels.array == 31)}
    values, node = screen_ct_node(
        ct_node,
        masks,
        tmp_path,
        height_m=truth["height_m"],
        muscle=ct.with_array(labels.array == MUSCLE_LABEL),
    )
    assert 0.0 <= values["cnn_probability"] <= 1.0
    assert values["l1_hu"] == pytest.approx(truth["hu_l1_true"], abs=25)
    assert values["smi_cm2_m2"] == pytest.approx(truth["smi_true"], rel=0.15)
    assert node.GetName() == "Grad-CAM T12"  # never named after the CT (DICOM names)
    assert node.GetAttribute("OsteoImaging.ct") == ct_node.GetID()
    assert node.GetImageData().GetDimensions() == ct.size
    composite = slicer_app.scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
    assert composite.GetItemAsObject(0).GetForegroundVolumeID() == node.GetID()
