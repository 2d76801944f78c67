"""Screening results in the MRML scene: the Grad-CAM map as a styled volume with a legend.

What a Slicer panel calls (docs/screening.md, "In Slicer"): :func:`screen_ct_node` with the
CT node, the body mask(s) of the level(s) (from a segmentation via
:func:`osteoimaging.mrml.segmentations.segment_to_mask`, or a GrowCut click through
:func:`osteoimaging.mrml.focal_workflow.grow_body_from_seed`) and a saved model folder; it
returns the values (probability, SMI, L1 HU, Grad-CAM fractions) and the map node, shown
over the CT by :func:`osteoimaging.mrml.views.show_map`. torch/MONAI must be installed
first (the module asks, as for the other optional packages).
"""

from __future__ import annotations

from osteoimaging.mrml.maps import map_to_node
from osteoimaging.mrml.volumes import node_to_volume
from osteoimaging.volume import Volume

#: The Grad-CAM map's entry in the catalogue of maps (:mod:`osteoimaging.maps`).
GRADCAM_KEY = "gradcam"


def gradcam_to_node(cam: Volume, scene, name: str = "Grad-CAM", node=None):
    """Add (or update) a Grad-CAM map (on the CT grid, NaN outside the slab) as a styled
    scalar volume node with the colour legend titled ``Grad-CAM (relative)``."""
    cam = cam.with_array(cam.array)
    cam.metadata["units"] = "relative"
    return map_to_node(cam, scene, GRADCAM_KEY, name=name, node=node)


def screen_ct_node(
    ct_node,
    masks: dict[str, Volume],
    model_dir,
    *,
    muscle: Volume | None = None,
    height_m: float | None = None,
    params=None,
    show: bool = True,
):
    """Apply a saved screening model and the baselines to a CT node.

    ``masks``: level name → body mask on the CT grid (the model's level is required, L1 for
    the attenuation rule). Returns ``(values, map_node)``; the map node is named
    ``<CT name> Grad-CAM <level>`` and replaced on re-runs.
    """
    from osteoimaging.screening.model import load_model
    from osteoimaging.screening.pipeline import ScreenParams, apply_to_case, screen_volumes

    scene = ct_node.GetScene()
    model, config, prep, _ = load_model(model_dir)
    params = params or ScreenParams()
    params.prep = prep
    ct = node_to_volume(ct_node)
    height = (float(height_m), "entered") if height_m else (float("nan"), "missing")
    source = "given mask" if muscle is not None else "threshold-and-region"
    result = screen_volumes(ct, masks, params, muscle, source, height)
    values = {**result.summary, **apply_to_case(result, model, config, keep_map=True)}
    cam = values.pop("gradcam_volume")
    # Named by level, never after the CT (whose name may come from DICOM); one per CT.
    name = f"Grad-CAM {prep.level}"
    node = None
    nodes = scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    for i in range(nodes.GetNumberOfItems()):
        candidate = nodes.GetItemAsObject(i)
        if (
            candidate.GetAttribute("OsteoImaging.map") == GRADCAM_KEY
            and candidate.GetAttribute("OsteoImaging.ct") == ct_node.GetID()
            and candidate.GetAttribute("OsteoImaging.level") == prep.level
        ):
            node = candidate
    node = gradcam_to_node(cam, scene, name, node=node)
    node.SetAttribute("OsteoImaging.ct", ct_node.GetID())
    node.SetAttribute("OsteoImaging.level", prep.level)
    if show:
        from osteoimaging.mrml.views import show_map

        show_map(scene, ct_node, node)
    return values, node
