"""Render the extension screenshot headlessly from a real MRML scene.

A synthetic vertebra with a focal defect (``osteoimaging.phantoms.vertebra_ct``) goes
into a slicer-core scene; the focal-defect maps (``osteoimaging.focal.measure_focal``;
before that module exists, the calibrated BMD inside the body mask) become styled
overlay nodes; the Red (axial) and Yellow (sagittal) slice logics blend map over CT and
the two views are written side by side as a PNG.

    python scripts/render_screenshot.py [--out Resources/Screenshots/focal_overlay.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.mrml.app import headless_slicer
from osteoimaging.mrml.geometry import lps_to_ras
from osteoimaging.mrml.maps import map_to_node
from osteoimaging.mrml.views import render_slice, show_map, write_png
from osteoimaging.mrml.volumes import volume_to_node
from osteoimaging.phantoms import FocalDefect, VertebraSpec, vertebra_ct

ROOT = Path(__file__).resolve().parents[1]
DEFECT_CENTRE_MM = (7.0, -3.0, 2.0)


def overlay_map(ct, mask, calibration):
    """(map key, map Volume): focal BMD loss if the focal module exists, else BMD in the body."""
    try:
        from osteoimaging.focal import measure_focal
    except ImportError:
        bmd = np.where(mask.array, calibration.apply(ct.array), np.nan).astype(np.float32)
        return "bmd", ct.with_array(bmd)
    result = measure_focal(ct, mask, calibration=calibration)
    return "focal_bmd_loss", result.maps["focal_bmd_loss"]


def render(out: Path, pixels: int = 480, fov_mm: float = 56.0) -> Path:
    spec = VertebraSpec(defects=[FocalDefect(DEFECT_CENTRE_MM, (5.0, 4.0, 4.0))], seed=4)
    ct, mask, truth = vertebra_ct(spec)
    calibration = LinearCalibration.manual(
        truth["calibration"]["slope"], truth["calibration"]["intercept"]
    )
    key, volume = overlay_map(ct, mask, calibration)

    app = headless_slicer()
    ct_node = volume_to_node(ct, app.scene, "Phantom CT")
    display = ct_node.GetDisplayNode()
    display.SetAutoWindowLevel(False)
    display.SetWindowLevel(900.0, 250.0)
    map_node = map_to_node(volume, app.scene, key)
    show_map(app.scene, ct_node, map_node, opacity=0.7)
    centre = lps_to_ras(np.asarray(DEFECT_CENTRE_MM))
    views = [render_slice(app.slice_logics[v], centre, fov_mm, pixels) for v in ("Red", "Yellow")]
    gap = np.zeros((pixels, 8, 3), np.uint8)
    # RGB only: outside the CT the blend is transparent black, shown as black.
    image = np.concatenate([views[0][..., :3], gap, views[1][..., :3]], axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_png(image, str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "Resources/Screenshots/focal_overlay.png"
    )
    print(render(parser.parse_args().out))


if __name__ == "__main__":
    main()
