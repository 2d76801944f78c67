"""``osteo focal``: focal osteoporosis defect maps and values of one or more vertebrae.

Only gathers the inputs into a :class:`~osteoimaging.case.CaseRequest` and prints what
:func:`~osteoimaging.case.measure_case` found; the files are written by
:func:`~osteoimaging.case.outputs.write_case_outputs` (the one writer the batch and the
other front ends use too).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from osteoimaging.cli.args import parse_point
from osteoimaging.errors import InputError
from osteoimaging.focal.parameters import (
    AGGREGATIONS,
    HALF_LEVELS,
    MASK_RESAMPLING,
    MODES,
    WIDTHS,
    FocalParameters,
)

#: (option, FocalParameters field, type, help) of every method parameter on the command line.
PARAMETER_OPTIONS = (
    ("--spacing-mm", "spacing_mm", float, "isotropic analysis grid"),
    ("--sigma-mm", "sigma_mm", float, "Gaussian filter σ"),
    ("--unsharp-amount", "unsharp_amount", float, "0 = plain Gaussian; a > 0: I + a(I − G)"),
    ("--erosion-mm", "erosion_mm", float, "mask erosion (Euclidean distance)"),
    ("--angle-step-deg", "angle_step_deg", float, "star-line angular step"),
    ("--sample-step-mm", "sample_step_mm", float, "profile sample step"),
    ("--min-valley-depth", "min_valley_depth", float, "ignore shallower ripples (BMD units)"),
    ("--tissue-bmd", "tissue_bmd", float, "intact bone tissue density (BMD units)"),
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
    (
        "--half-level",
        "half_level",
        HALF_LEVELS,
        "which maxima set a void's level ½(max + min): each side's own ridge, the lower or "
        "higher ridge, or the profile's extremes",
    ),
    (
        "--width",
        "width",
        WIDTHS,
        "intercept width: between the two half-level crossings, or the half width on the "
        "voxel's side of the valley's minimum",
    ),
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


def add_body_arguments(parser: argparse.ArgumentParser) -> None:
    """Where each vertebral body comes from: a mask, a label map or clicks."""
    g = parser.add_argument_group("vertebral bodies (one of --mask, --labels, --seed)")
    g.add_argument("--mask", help="vertebral-body mask or label map on the CT grid")
    g.add_argument("--label", help="label value in --mask [any non-zero]")
    g.add_argument(
        "--seed",
        action="append",
        metavar="X,Y,Z",
        help="a point inside a vertebral body, RAS mm (Slicer); GrowCut segments it; "
        "repeat for several vertebrae (write --seed=X,Y,Z when X is negative)",
    )
    g.add_argument("--labels", help="vertebra label map (e.g. TotalSegmentator) on the CT grid")
    g.add_argument(
        "--label-values", help="label value of each level, comma list [from --label-scheme]"
    )
    g.add_argument(
        "--label-scheme",
        default="verse",
        help="label numbering for --levels: verse (L1 = 20) or totalseg_v2 (L1 = 31) [verse]",
    )
    g.add_argument("--body-labels", help="body/rest label map (1 = body), keeps the body part")
    g.add_argument("--level", help="level name of the one vertebra (e.g. L1)")
    g.add_argument("--levels", help="level names, comma list (one per --seed, or per label)")
    g.add_argument("--resample-mask", action="store_true", help="resample masks on another grid")


def add_case_arguments(parser: argparse.ArgumentParser) -> None:
    """Calibration, input units, alignment and sub-regions."""
    g = parser.add_argument_group("calibration, units and alignment")
    g.add_argument("--calibration", help="calibration profile JSON (osteo calibrate)")
    g.add_argument("--slope", type=float, help="manual calibration BMD = slope × HU + intercept")
    g.add_argument("--intercept", type=float, help="manual calibration intercept (mg/cm³)")
    g.add_argument(
        "--material",
        help="calibration material of --slope/--intercept or of an input in mg/cm³: "
        "HA or K2HPO4 [HA for --slope; a profile carries its own]",
    )
    g.add_argument(
        "--input-units",
        default="HU",
        help="what the CT holds: HU, or mg/cm3 for an already calibrated image (then give "
        "--material) [HU]",
    )
    g.add_argument(
        "--no-hu-check", action="store_true", help="skip the CT-in-HU plausibility check"
    )
    g.add_argument(
        "--align",
        default="endplates",
        help="spine-axis alignment: endplates, pca, none, or a rotation RX,RY,RZ in degrees "
        "[endplates]",
    )
    g.add_argument(
        "--no-align", dest="align", action="store_const", const="none", help="= --align none"
    )
    g.add_argument("--left-right", action="store_true", help="split sub-regions left/right too")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "focal",
        help="focal osteoporosis defect maps and values of vertebral bodies",
        description="Intercept width, focal BMD loss and focal BMC loss (Li C et al., JOR "
        "Spine 2022;5:e1195) of one or more vertebral bodies: writes results.csv, "
        "results.json and report.html to --out, and per level its maps (NRRD), masks, "
        "overlay and sub-region figures in --out/<level>/.",
    )
    p.add_argument("ct", help="CT in HU: NRRD, NIfTI, MetaImage or a DICOM series folder")
    p.add_argument("--series", metavar="UID", help="DICOM series when the folder has several")
    p.add_argument("--out", required=True, help="output folder")
    g = p.add_argument_group("DICOM outputs (a DICOM series input; needs the 'dicom' extra)")
    g.add_argument(
        "--dicom-out",
        metavar="DIR",
        help="also write a DICOM Segmentation, Parametric Maps and a TID 1500 SR to DIR, "
        "filed with the source study",
    )
    g.add_argument(
        "--deidentify",
        action="store_true",
        help="replace the patient and study modules of the DICOM outputs by a pseudonym",
    )
    g.add_argument("--pseudonym", help="the pseudonymous patient ID with --deidentify")
    add_body_arguments(p)
    add_case_arguments(p)
    add_parameter_arguments(p)
    p.set_defaults(func=run)


def calibration_from_args(args: argparse.Namespace):
    """``--calibration PROFILE`` or ``--slope``/``--intercept`` (or None)."""
    from osteoimaging.calibration.linear import LinearCalibration
    from osteoimaging.calibration.profile import load_profile

    manual = args.slope is not None or args.intercept is not None
    if manual and (args.slope is None or args.intercept is None):
        raise InputError("give both --slope and --intercept, or neither (no calibration)")
    if manual and args.calibration:
        raise InputError("give --calibration PROFILE or --slope/--intercept, not both")
    if args.calibration:
        return load_profile(args.calibration).calibration()
    if manual:
        try:
            return LinearCalibration.manual(args.slope, args.intercept)
        except ValueError as exc:
            raise InputError(f"bad calibration: {exc}") from exc
    return None


def _levels(args: argparse.Namespace) -> list[str] | None:
    from osteoimaging.segmentation.labels import parse_levels

    if args.levels and args.level:
        raise InputError("give --level (one vertebra) or --levels (several), not both")
    if args.levels:
        return parse_levels(args.levels)
    return [args.level] if args.level else None


def _named(levels: list[str] | None, n: int, what: str) -> list[str | None]:
    if levels is None:
        return [None] * n
    if len(levels) != n:
        raise InputError(f"{len(levels)} level name(s) for {n} {what}")
    return list(levels)


def bodies_from_args(args: argparse.Namespace, ct) -> dict:
    """The bodies and label maps of the command line, as CaseRequest fields."""
    from osteoimaging.case.request import BodySource, check_label_value
    from osteoimaging.imageio import read_image
    from osteoimaging.segmentation.labels import label_for_level
    from osteoimaging.validation import check_mask_geometry, parse_label_values, read_mask

    given = [name for name in ("mask", "labels", "seed") if getattr(args, name)]
    if len(given) != 1:
        raise InputError(
            "give the vertebral body one way: --mask MASK [--label N], --labels LABELS "
            "--levels L1,…, or --seed X,Y,Z"
            + (f" (got {', '.join('--' + g for g in given)})" if given else "")
        )
    levels = _levels(args)
    if args.mask:
        if args.levels:
            raise InputError("--mask holds one vertebra: name it with --level, not --levels")
        label = None if args.label is None else check_label_value(args.label)
        mask = read_mask(args.mask, ct, label=label, resample=args.resample_mask)
        name = Path(args.mask).name + (f" (label {label})" if label is not None else "")
        level = levels[0] if levels else None
        return {"bodies": [BodySource(level, mask=mask, description=f"mask {name}")]}
    if args.label is not None:
        raise InputError("--label goes with --mask; with --labels use --label-values")
    if args.seed:
        seeds = [parse_point(s) for s in args.seed]
        names = _named(levels, len(seeds), "seed point(s)")
        return {"bodies": [BodySource(n, seed_ras=s) for s, n in zip(seeds, names, strict=True)]}
    labels = check_mask_geometry(
        read_image(args.labels), ct, args.labels, resample=args.resample_mask
    )
    body_labels = None
    if args.body_labels:
        body_labels = check_mask_geometry(
            read_image(args.body_labels), ct, args.body_labels, resample=args.resample_mask
        )
    if args.label_values:
        values = parse_label_values(args.label_values, "--label-values")
    elif levels:
        values = [label_for_level(level, args.label_scheme) for level in levels]
    else:
        raise InputError("with --labels, give the levels (e.g. --levels L1,L2) or --label-values")
    names = _named(levels, len(values), "label value(s)")
    return {
        "bodies": [BodySource(n, label=v) for v, n in zip(values, names, strict=True)],
        "labels": labels,
        "body_labels": body_labels,
        "labels_name": Path(args.labels).name,
    }


def input_digest(args: argparse.Namespace) -> str:
    """SHA-256 over the input files' content (CT, then mask or label maps)."""
    import hashlib

    from osteoimaging.cohort.hashing import file_digest

    parts = [args.ct] + [p for p in (args.mask, args.labels, args.body_labels) if p]
    return hashlib.sha256("".join(file_digest(p) for p in parts).encode()).hexdigest()


def request_from_args(args: argparse.Namespace):
    """The :class:`~osteoimaging.case.CaseRequest` of an ``osteo focal`` command line."""
    from osteoimaging.case.density import check_input_units
    from osteoimaging.case.request import CaseRequest
    from osteoimaging.validation import read_ct

    params = parameters_from_args(args)
    calibration = calibration_from_args(args)
    units = check_input_units(args.input_units)
    align = args.align
    if isinstance(align, str) and "," in align:
        align = parse_point(align)
    ct = read_ct(args.ct, series_uid=args.series, check_hu=units == "HU" and not args.no_hu_check)
    return CaseRequest(
        ct=ct,
        **bodies_from_args(args, ct),
        calibration=calibration,
        input_units=units,
        material=args.material,
        align=align,
        params=params,
        left_right=args.left_right,
        input_name=Path(args.ct).name,
        input_sha256=input_digest(args),
    )


def print_case(case) -> None:
    """The ROI means and quality of each level, for the terminal (the flags' sentences
    went to the log as warnings)."""
    for level in case.levels:
        row = level.row
        print(f"{level.name} [{row['qc']}{': ' + row['qc_flags'] if row['qc_flags'] else ''}]")
        print(f"  focal BMC loss    {row['focal_bmc_loss_mm']:.3f} mm")
        print(f"  focal BMD loss    {row['focal_bmd_loss']:.4f}")
        print(f"  intercept width   {row['intercept_width_mm']:.3f} mm")
        print(f"  trabecular BMD    {row['trabecular_bmd']:.1f} {row['bmd_units']}")
        print(
            f"  ROI               {row['roi_voxels']} voxels, {row['roi_volume_ml']:.2f} ml, "
            f"void coverage {row['void_coverage']:.3f}"
        )


def dicom_source(args: argparse.Namespace, ct):
    """The source series of ``--dicom-out`` (checked before measuring), or None."""
    if (args.deidentify or args.pseudonym) and not args.dicom_out:
        raise InputError("--deidentify and --pseudonym go with --dicom-out")
    if args.pseudonym and not args.deidentify:
        raise InputError("--pseudonym needs --deidentify")
    if not args.dicom_out:
        return None
    if not Path(args.ct).is_dir():
        raise InputError("--dicom-out needs the CT as a DICOM series folder", args.ct)
    try:
        from osteoimaging.dicom import read_dicom_source
    except ImportError as exc:
        raise InputError(
            "--dicom-out needs the 'dicom' extra: pip install 'osteoimaging[dicom]'"
        ) from exc
    return read_dicom_source(args.ct, series_uid=args.series, volume=ct)


def run(args: argparse.Namespace) -> int:
    from osteoimaging.atomic import check_output_path
    from osteoimaging.case import measure_case
    from osteoimaging.case.outputs import write_case_dicom_outputs, write_case_outputs
    from osteoimaging.progress import TqdmProgress

    check_output_path(args.out, folder=True)
    if args.dicom_out:
        check_output_path(args.dicom_out, folder=True)
    request = request_from_args(args)
    source = dicom_source(args, request.ct)
    with TqdmProgress("focal") as progress:
        case = measure_case(request, progress)
    paths = write_case_outputs(case, args.out)
    print_case(case)
    print(f"wrote {paths['results_csv']}, {paths['report']} and one folder per level")
    if source is not None:
        written = write_case_dicom_outputs(
            case, source, args.dicom_out, deidentify=args.deidentify, patient_id=args.pseudonym
        )
        print(f"wrote {len(written)} DICOM objects (SEG, parametric maps, SR) to {args.dicom_out}")
    return 0
