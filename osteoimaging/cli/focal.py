"""``osteo focal``: focal osteoporosis defect maps and case values (Li et al., JOR Spine 2022)."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from osteoimaging.calibration import LinearCalibration
from osteoimaging.errors import InputError
from osteoimaging.focal import FocalParameters, measure_focal, write_focal_outputs
from osteoimaging.focal.parameters import AGGREGATIONS, MASK_RESAMPLING, MODES
from osteoimaging.progress import TqdmProgress
from osteoimaging.validation import read_ct, read_mask

#: (option, FocalParameters field, type, help) of every method parameter on the command line.
PARAMETER_OPTIONS = (
    ("--spacing-mm", "spacing_mm", float, "isotropic analysis grid"),
    ("--sigma-mm", "sigma_mm", float, "Gaussian filter σ"),
    ("--unsharp-amount", "unsharp_amount", float, "0 = plain Gaussian; a > 0: I + a(I − G)"),
    ("--erosion-mm", "erosion_mm", float, "mask erosion (Euclidean distance)"),
    ("--angle-step-deg", "angle_step_deg", float, "star-line angular step"),
    ("--sample-step-mm", "sample_step_mm", float, "profile sample step"),
    ("--min-valley-depth", "min_valley_depth", float, "ignore shallower ripples (BMD units)"),
    ("--tissue-bmd", "tissue_bmd", float, "intact bone tissue density (mg/cm³)"),
    ("--line-spacing-mm", "line_spacing_mm", float, "fast path: spacing of parallel lines"),
    ("--line-phases", "line_phases", int, "fast path: phase-shifted line lattices"),
)
CHOICE_OPTIONS = (
    (
        "--aggregation",
        "aggregation",
        AGGREGATIONS,
        "per-voxel value: its own void or the line mean",
    ),
    ("--mode", "mode", MODES, "star lines per axial slice (2d) or over a hemisphere (3d)"),
    ("--mask-resampling", "mask_resampling", MASK_RESAMPLING, "mask onto the analysis grid"),
)


def add_parameter_arguments(parser: argparse.ArgumentParser) -> None:
    """The method's parameters as options (defaults from FocalParameters)."""
    defaults = FocalParameters()
    g = parser.add_argument_group("method parameters (docs/method.md)")
    for option, name, kind, text in PARAMETER_OPTIONS:
        default = getattr(defaults, name)
        g.add_argument(option, dest=name, type=kind, default=default, help=f"{text} [{default}]")
    for option, name, choices, text in CHOICE_OPTIONS:
        default = getattr(defaults, name)
        g.add_argument(
            option, dest=name, choices=choices, default=default, help=f"{text} [{default}]"
        )


def parameters_from_args(args: argparse.Namespace) -> FocalParameters:
    names = [name for _, name, _, _ in PARAMETER_OPTIONS + CHOICE_OPTIONS]
    return FocalParameters(**{name: getattr(args, name) for name in names})


def calibration_from_args(args: argparse.Namespace) -> LinearCalibration:
    """``--slope``/``--intercept`` (both or neither; neither = identity, "none")."""
    if (args.slope is None) != (args.intercept is None):
        raise InputError("give both --slope and --intercept, or neither (no calibration)")
    if args.slope is None:
        return LinearCalibration.identity()
    try:
        return LinearCalibration.manual(args.slope, args.intercept)
    except ValueError as exc:
        raise InputError(f"bad calibration: {exc}") from exc


def file_sha256(*paths: str | Path) -> str:
    """SHA-256 over the bytes of the input files (a folder: its files in name order)."""
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            with f.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "focal",
        help="focal osteoporosis defect maps and values of one vertebral body",
        description="Intercept width, focal BMD loss and focal BMC loss (Li et al., JOR Spine "
        "2022;5:e1195) of a vertebral body: writes results.json, maps/*.nrrd, roi.nrrd, "
        "overlay.png and report.html to --out.",
    )
    p.add_argument("ct", help="CT in HU: NRRD, NIfTI, MetaImage or a DICOM series folder")
    p.add_argument("--mask", help="vertebral-body mask or label map on the CT grid")
    p.add_argument("--label", type=int, help="label value in --mask [any non-zero]")
    p.add_argument("--series", metavar="UID", help="DICOM series when the folder has several")
    p.add_argument("--resample-mask", action="store_true", help="resample a mask on another grid")
    p.add_argument(
        "--no-hu-check", action="store_true", help="skip the CT-in-HU plausibility check"
    )
    p.add_argument("--slope", type=float, help="calibration BMD = slope × HU + intercept")
    p.add_argument("--intercept", type=float, help="calibration intercept (mg/cm³)")
    p.add_argument("--out", required=True, help="output folder")
    add_parameter_arguments(p)
    from osteoimaging.vertebrae import add_vertebra_arguments

    add_vertebra_arguments(p)
    p.set_defaults(func=run)


def print_case_values(values: dict) -> None:
    units = values.get("bmd_units", "mg/cm3 HA")
    print(f"focal BMC loss    {values['focal_bmc_loss_mm']:.3f} mm")
    print(f"focal BMD loss    {values['focal_bmd_loss']:.4f}")
    print(f"intercept width   {values['intercept_width_mm']:.3f} mm")
    print(f"trabecular BMD    {values['trabecular_bmd_mg_cm3']:.1f} {units}")
    print(
        f"ROI               {values['roi_voxels']} voxels, {values['roi_volume_ml']:.2f} ml, "
        f"void coverage {values['void_coverage']:.3f}"
    )


def _run_vertebrae(args: argparse.Namespace, ct, params, calibration) -> int:
    """``--seed``/``--labels``: one or several vertebrae, aligned (issue 4's glue)."""
    from osteoimaging.vertebrae import run_vertebrae_cli

    if args.mask:
        raise InputError("give --mask, or --seed/--labels, not both")
    with TqdmProgress("focal") as progress:
        case = run_vertebrae_cli(args, ct, params, calibration, progress)
    for name, result in case.results.items():
        print(f"{name}:")
        print_case_values(result.values)
    print(f"wrote {Path(args.out) / 'results.csv'} and one folder per level in {args.out}")
    return 0


def run(args: argparse.Namespace) -> int:
    from osteoimaging.vertebrae import vertebrae_requested

    if not args.mask and not vertebrae_requested(args):
        raise InputError(
            "give the vertebral body: --mask MASK [--label N], --labels LABELS --levels L1,…, "
            "or --seed X,Y,Z"
        )
    params = parameters_from_args(args)
    calibration = calibration_from_args(args)
    ct = read_ct(args.ct, series_uid=args.series, check_hu=not args.no_hu_check)
    if vertebrae_requested(args):
        return _run_vertebrae(args, ct, params, calibration)
    if args.calibration:
        from osteoimaging.vertebrae import load_calibration

        if not calibration.is_identity:
            raise InputError("give --calibration PROFILE or --slope/--intercept, not both")
        calibration = load_calibration(args.calibration)
    mask = read_mask(args.mask, ct, label=args.label, resample=args.resample_mask)
    try:
        with TqdmProgress("focal") as progress:
            result = measure_focal(ct, mask, calibration, params, progress=progress)
    except InputError as exc:
        if exc.path is None and "mask" in exc.problem:
            raise InputError(exc.problem, args.mask) from exc
        raise
    result.values["input_sha256"] = file_sha256(args.ct, args.mask)
    paths = write_focal_outputs(result, args.out, ct=ct)
    print_case_values(result.values)
    print(f"wrote {paths['results']}, {paths['report']} and maps in {Path(args.out) / 'maps'}")
    return 0
