"""``osteo demo``: the main job on an embedded default (a synthetic vertebra)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from osteoimaging.atomic import write_json
from osteoimaging.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run on the bundled synthetic vertebra",
        description="Generate the bundled synthetic vertebra phantom, write its CT, mask, "
        "ground truth and a picture of the mid slices to --out, then measure its focal "
        "osteoporosis defect with the same pipeline as 'osteo focal' (--out/focal).",
    )
    p.add_argument("--out", default="osteo-demo", help="output folder [osteo-demo]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from osteoimaging.calibration.linear import LinearCalibration
    from osteoimaging.case import BodySource, CaseRequest, measure_case
    from osteoimaging.case.outputs import write_case_outputs
    from osteoimaging.cli.focal import print_case
    from osteoimaging.figures import mid_slices_png
    from osteoimaging.imageio import write_image
    from osteoimaging.log import logger
    from osteoimaging.phantoms.ctsim import simulate_ct
    from osteoimaging.phantoms.vertebra import demo_case, make_vertebra
    from osteoimaging.progress import TqdmProgress

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    spec, protocol = demo_case()
    logger.info("generating the demo phantom (about 10 s)")
    phantom = make_vertebra(spec)
    ct = simulate_ct(phantom.scene, protocol)
    mask = phantom.body_mask_on(ct)
    truth = dict(phantom.truth)
    write_image(ct, out / "ct.nrrd")
    write_image(mask.with_array(mask.array.astype("uint8")), out / "mask.nrrd")
    write_json(out / "phantom_truth.json", truth)
    mid_slices_png(ct, out / "mid_slices.png", mask, title="OsteoImaging demo phantom")
    print(
        f"wrote {out / 'ct.nrrd'} ({ct.describe()}), {out / 'mask.nrrd'}, {out / 'mid_slices.png'}"
    )
    # The phantom's own HU → BMD relation is known exactly; use it as the calibration.
    calibration = LinearCalibration(
        spec.calibration_slope,
        spec.calibration_intercept,
        "manual",
        {"from": "demo phantom (known calibration)", "material": "HA"},
    )
    request = CaseRequest(
        ct=ct,
        bodies=[BodySource("L1", mask=mask, description="demo phantom body mask")],
        calibration=calibration,
        input_name="demo phantom",
    )
    with TqdmProgress("focal") as progress:
        case = measure_case(request, progress)
    paths = write_case_outputs(case, out / "focal")
    print("focal osteoporosis defect (Li C et al. 2022), 6 mm eroded body:")
    print_case(case)
    level = case.levels[0]
    roi_truth = spec.calibration_slope * _hu_in_roi(phantom.scene, level.focal.roi) + (
        spec.calibration_intercept
    )
    print(
        f"phantom truth in the same ROI (noise-free scene): BMD {roi_truth:.1f} mg/cm³ HA; "
        f"whole trabecular body: BV/TV {truth['bvtv_trabecular']:.3f}"
    )
    print(f"wrote {paths['results_csv']} and {paths['report']}")
    return 0


def _hu_in_roi(scene, roi) -> float:
    """The noise-free scene's mean HU over the measured ROI (its own analysis grid)."""
    from osteoimaging.focal.resample import resample_linear

    values = resample_linear(scene, roi).array[roi.array]
    return float(np.mean(values, dtype=np.float64))
