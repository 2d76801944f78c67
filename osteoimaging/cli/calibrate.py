"""``osteo calibrate``: create a named HU → BMD calibration profile (JSON)."""

from __future__ import annotations

import argparse
import datetime as _dt
import re

from osteoimaging.atomic import check_output_path
from osteoimaging.calibration import (
    internal_calibration,
    list_presets,
    load_preset,
    profile_from_preset,
    save_profile,
)
from osteoimaging.calibration.inserts import (
    measure_insert_centres,
    measure_insert_labels,
)
from osteoimaging.cli.args import parse_point, parse_point_list
from osteoimaging.errors import InputError
from osteoimaging.imageio import read_image
from osteoimaging.validation import check_mask_geometry, parse_label_values, read_ct


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="create a calibration profile from a phantom (or reference tissues)",
        description="Fit HU of calibration-phantom inserts to their known densities and save "
        "a named profile (JSON) for 'osteo focal --calibration PROFILE.json'. Several phantom "
        "scans (repeat --hu, or --ct with --inserts) are pooled into one fit.",
    )
    p.add_argument("--list-presets", action="store_true", help="list the phantom presets")
    p.add_argument("--phantom", help="phantom preset key or name (see --list-presets)")
    p.add_argument(
        "--densities",
        help="certificate densities overriding the preset (comma list; K2HPO4 for Mindways)",
    )
    p.add_argument(
        "--water-densities",
        help="Mindways only: the certificate's water-equivalent densities, one per rod (comma "
        "list); required together with --densities",
    )
    p.add_argument(
        "--hu", action="append", help="measured mean HU per insert, comma list; repeat per scan"
    )
    p.add_argument("--ct", action="append", help="phantom CT; repeat per scan")
    p.add_argument(
        "--inserts",
        action="append",
        help="label map of the inserts on the CT grid (one per --ct); label values in insert "
        "order given by --insert-labels [1,2,…]",
    )
    p.add_argument("--insert-labels", help="label value of each insert, comma list")
    p.add_argument(
        "--centre",
        action="append",
        metavar="X,Y,Z",
        help="insert centre, RAS mm (repeat per insert, in insert order; applies to every --ct)",
    )
    p.add_argument("--radius-mm", type=float, default=5.0, help="insert ROI radius [5]")
    p.add_argument("--length-mm", type=float, default=10.0, help="insert ROI length along z [10]")
    p.add_argument(
        "--tissue",
        action="append",
        metavar="NAME=HU",
        help="phantomless: mean HU of a reference tissue (air, fat, water, blood, muscle); "
        "repeat (at least two)",
    )
    p.add_argument("--name", help="profile name [the phantom key, or 'internal']")
    p.add_argument("--scanner", default="", help="scanner model")
    p.add_argument("--kvp", type=float, help="tube voltage (kVp)")
    p.add_argument("--kernel", default="", help="reconstruction kernel")
    p.add_argument("--date", default="", help="phantom scan date [today]")
    p.add_argument("--out", help="profile JSON to write")
    p.add_argument(
        "--accept-poor-fit",
        action="store_true",
        help="keep a phantom fit the quality gate refuses (RMSE > 10 mg/cm³ or r² < 0.99; "
        "warnings from 5 mg/cm³ residuals): recorded in the profile and warned on every use",
    )
    p.set_defaults(func=run)
    # Comma lists of numbers may start with a minus sign (--hu -69.55,-50.2,…; --centre
    # -12,40,-790): argparse reads only a lone number as a negative value and anything else
    # starting with "-" as an option. No option of this parser looks like a number, so here
    # "-" followed by a digit (or ".digit") is always a value. argparse consults this private
    # pattern of the parser (unchanged from Python 3.10 to 3.13); a test covers it.
    p._negative_number_matcher = re.compile(r"^-\.?\d")


def _scans_from_images(args: argparse.Namespace, n_inserts: int) -> list[list[float]]:
    scans = []
    values = (
        parse_label_values(args.insert_labels, "--insert-labels")
        if args.insert_labels
        else list(range(1, n_inserts + 1))
    )
    if not args.inserts and not args.centre:
        raise InputError("with --ct, give --inserts LABELMAP or --centre X,Y,Z per insert")
    if args.inserts and len(args.inserts) != len(args.ct):
        raise InputError(f"{len(args.ct)} --ct but {len(args.inserts)} --inserts; one per CT")
    for n, ct_path in enumerate(args.ct):
        ct = read_ct(ct_path)
        source = args.inserts[n] if args.inserts else ct_path
        try:
            found = _measure_inserts(args, ct, source, values)
        except InputError as exc:  # the insert helpers know no file name
            if exc.path is not None:
                raise
            raise InputError(exc.problem, source) from exc
        scans.append([m.mean_hu for m in found])
    return scans


def _measure_inserts(args: argparse.Namespace, ct, source: str, values: list[int]) -> list:
    """Mean HU per insert: from the label map ``source``, else from the --centre points."""
    if args.inserts:
        labels = check_mask_geometry(read_image(source), ct, source)
        return measure_insert_labels(ct, labels, values)
    centres = [parse_point(c) for c in args.centre]
    centres_lps = [(-x, -y, z) for x, y, z in centres]
    return measure_insert_centres(ct, centres_lps, args.radius_mm, args.length_mm)


def run(args: argparse.Namespace) -> int:
    if args.list_presets:
        for key in list_presets():
            preset = load_preset(key)
            dens = ", ".join(f"{d:g}" for d in preset.densities)
            print(f"{key:16s} {preset.name:28s} {preset.material:7s} {preset.model:9s} {dens}")
        return 0
    if not args.out:
        raise InputError("give --out PROFILE.json")
    check_output_path(args.out)
    fields = {
        "scanner": args.scanner,
        "kvp": args.kvp,
        "kernel": args.kernel,
        "date": args.date or _dt.date.today().isoformat(),
    }
    if args.tissue:
        measured = {}
        for item in args.tissue:
            name, _, value = item.partition("=")
            try:
                measured[name.strip().lower()] = float(value)
            except ValueError as exc:
                raise InputError(f"bad --tissue '{item}' (expected NAME=HU)") from exc
        profile = internal_calibration(measured, name=args.name or "internal", **fields)
    else:
        if not args.phantom:
            raise InputError("give --phantom PRESET (or --tissue NAME=HU for phantomless)")
        preset = load_preset(args.phantom)
        if args.hu:
            scans = [parse_point_list(h) for h in args.hu]
        elif args.ct:
            scans = _scans_from_images(args, len(preset.inserts))
        else:
            raise InputError("give the inserts' HU (--hu) or phantom CT(s) (--ct)")
        densities = parse_point_list(args.densities) if args.densities else None
        water = parse_point_list(args.water_densities) if args.water_densities else None
        profile = profile_from_preset(
            args.name or preset.key,
            preset,
            scans,
            densities=densities,
            water_densities=water,
            accept_poor=args.accept_poor_fit,
            **fields,
        )
    save_profile(profile, args.out)
    fit = profile.fit
    qa = profile.qa.get("status", "not checked (reference tissues)")
    print(
        f"{profile.name}: BMD = {fit.slope:.5g} × HU + {fit.intercept:.5g} ({profile.material} "
        f"mg/cm³), r = {fit.r:.5f}, RMSE {fit.rmse:.3g}, {fit.n_points} points, "
        f"{profile.accuracy}, fit QA {qa} → {args.out}"
    )
    return 0
