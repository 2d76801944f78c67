"""The demo vertebra of ``osteo demo`` as Slicer sample data (used by the Slicer modules only).

Nothing is downloaded: the phantom is generated from its seeds (the same
``VertebraSpec``/``CTProtocol`` as ``osteo demo``; a test keeps them equal), written once
into the scene's cache folder as NRRD (so Slicer's ``SampleData.downloadSample`` finds it
there afterwards) and added to the scene with its body mask as segment ``L1``.
"""

from __future__ import annotations

import os
from pathlib import Path

DEMO_FILE_NAME = "OsteoImagingDemoVertebra.nrrd"


def demo_cache_path(scene) -> Path:
    """Where the generated CT is kept: the scene's cache folder (Slicer's download cache)."""
    return Path(scene.GetCacheManager().GetRemoteCacheDirectory()) / DEMO_FILE_NAME


def demo_cache_uri(scene) -> str:
    return demo_cache_path(scene).resolve().as_uri()


def add_demo_vertebra(scene, name: str = "OsteoImagingDemoVertebra"):
    """Generate the demo CT, cache it as NRRD, add it and its body segment ``L1`` to ``scene``.

    Returns the CT volume node. The phantom's HU → BMD relation is
    ``BMD = 0.8·HU − 5`` mg/cm³ (``VertebraSpec.calibration_slope``/``_intercept``).
    """
    from osteoimaging.imageio import write_image
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.volumes import volume_to_node
    from osteoimaging.phantoms import demo_case, vertebra_ct

    spec, protocol = demo_case()
    ct, mask, _truth = vertebra_ct(spec, protocol)
    path = demo_cache_path(scene)
    os.makedirs(path.parent, exist_ok=True)
    write_image(ct, path)
    node = volume_to_node(ct, scene, name)
    segmentation = new_segmentation_node(scene, f"{name} segments", node)
    mask_to_segment(mask, segmentation, "L1")
    return node
