"""``osteo phantom``: write a synthetic vertebra's routine-CT view, its mask and ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from osteoimaging.atomic import write_json
from osteoimaging.imageio import write_image
from osteoimaging.phantoms import CTProtocol, FocalDefect, VertebraSpec, vertebra_ct


def _triplet(text: str) -> tuple[float, float, float]:
    parts = [float(v) for v in text.replace("x", ",").split(",")]
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected 1 or 3 numbers, got '{text}'")
    return tuple(parts)  # type: ignore[return-value]


def _defect(text: str) -> FocalDefect:
    """``X,Y,Z,R[,KEEP]``: centre (mm from the body centre), radius (mm), kept BV/TV fraction."""
    try:
        v = [float(p) for p in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad defect '{text}'") from exc
    if len(v) not in (4, 5):
        raise argparse.ArgumentTypeError("defect must be X,Y,Z,R or X,Y,Z,R,KEEP")
    return FocalDefect(tuple(v[:3]), (v[3],) * 3, v[4] if len(v) == 5 else 0.0)


def add_phantom_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("phantom")
    g.add_argument("--bvtv", type=float, default=0.15, help="trabecular BV/TV [0.15]")
    g.add_argument("--tb-th-mm", type=float, default=0.16, help="trabecular thickness [0.16]")
    g.add_argument(
        "--defect",
        type=_defect,
        action="append",
        default=None,
        metavar="X,Y,Z,R[,KEEP]",
        help="focal defect: centre from the body centre (mm), radius (mm), kept "
        "fraction of BV/TV [0]; repeatable (default: one 5 mm void)",
    )
    g.add_argument("--no-posterior", action="store_true", help="omit posterior elements")
    g.add_argument(
        "--size-mm",
        type=_triplet,
        default=(40.0, 30.0, 25.0),
        metavar="W,D,H",
        help="body width, depth, height [40,30,25]",
    )
    g.add_argument("--hires-mm", type=float, default=0.1, help="bone model resolution [0.1]")
    g.add_argument(
        "--ct-spacing-mm",
        type=_triplet,
        default=(0.4, 0.4, 0.7),
        metavar="X,Y,Z",
        help="CT voxel size [0.4,0.4,0.7]",
    )
    g.add_argument("--noise-hu", type=float, default=20.0, help="CT noise SD in HU [20]")
    g.add_argument("--seed", type=int, default=0, help="random seed [0]")


def spec_from_args(args: argparse.Namespace) -> tuple[VertebraSpec, CTProtocol]:
    defects = (
        args.defect if args.defect is not None else [FocalDefect((3.0, -4.0, 2.0), (5.0, 5.0, 5.0))]
    )
    w, d, h = args.size_mm
    spec = VertebraSpec(
        width_mm=w,
        depth_mm=d,
        height_mm=h,
        bvtv=args.bvtv,
        tb_th_mm=args.tb_th_mm,
        defects=defects,
        posterior_elements=not args.no_posterior,
        hires_mm=args.hires_mm,
        scene_mm=2 * args.hires_mm,
        seed=args.seed,
    )
    protocol = CTProtocol(spacing_mm=args.ct_spacing_mm, noise_hu=args.noise_hu, seed=args.seed + 1)
    return spec, protocol


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "phantom",
        help="write a synthetic vertebra CT, its body mask and truth",
        description="Generate a seedable synthetic lumbar vertebra (trabecular "
        "bone with known BV/TV and focal defects) and its routine-CT view.",
    )
    p.add_argument("--out-ct", required=True, help="CT output (.nrrd, .nii.gz, .mha)")
    p.add_argument("--out-mask", required=True, help="vertebral-body mask output")
    p.add_argument("--out-truth", help="ground truth JSON [next to the CT]")
    add_phantom_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    spec, protocol = spec_from_args(args)
    ct, mask, truth = vertebra_ct(spec, protocol)
    write_image(ct, args.out_ct)
    write_image(mask.with_array(mask.array.astype("uint8")), args.out_mask)
    truth_path = (
        Path(args.out_truth)
        if args.out_truth
        else Path(args.out_ct).with_name("phantom_truth.json")
    )
    write_json(truth_path, truth)
    print(f"CT    {args.out_ct} ({ct.describe()})")
    print(f"mask  {args.out_mask} ({truth['mask_volume_ml']:.2f} ml)")
    print(
        f"truth {truth_path} (BV/TV {truth['bvtv_trabecular']:.3f}, "
        f"trabecular BMD {truth['trabecular_bmd_mg_cm3']:.1f} mg/cm³)"
    )
    return 0
