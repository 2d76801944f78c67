"""``osteo segment``: one-click GrowCut segmentation of a vertebral body."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from osteoimaging.atomic import check_output_path, write_json
from osteoimaging.cli.args import parse_point
from osteoimaging.errors import InputError
from osteoimaging.geometry import ras_to_lps
from osteoimaging.imageio import WRITE_SUFFIXES, write_image
from osteoimaging.progress import TqdmProgress
from osteoimaging.segmentation import segment_vertebral_body
from osteoimaging.validation import read_ct


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "segment",
        help="segment a vertebral body from one seed point (GrowCut)",
        description="Segment the vertebral body around one point with Fast GrowCut (the "
        "algorithm of Slicer's 'Grow from seeds'); the click is refined to the body's centre "
        "and the seeds are derived automatically. The side file (<out>.json) says what was "
        "done and what to check (flags).",
    )
    p.add_argument("ct", help="CT in HU (DICOM folder, NRRD, NIfTI, MetaImage)")
    p.add_argument(
        "--seed",
        required=True,
        metavar="X,Y,Z",
        help="a point inside the vertebral body, RAS mm (Slicer's coordinates); write "
        "--seed=X,Y,Z when X is negative",
    )
    p.add_argument("--level", help="vertebra level name carried into the outputs (e.g. L1)")
    p.add_argument("--out", required=True, help="output mask (.nrrd, .nii.gz, .mha)")
    p.add_argument("--series", help="DICOM series UID when the folder holds several")
    p.add_argument(
        "--no-hu-check", action="store_true", help="skip the CT-in-HU plausibility check"
    )
    p.set_defaults(func=run)


#: The ``format`` tag of the JSON side file written next to the mask.
SIDECAR_FORMAT = "osteoimaging-segmentation"


def sidecar_path(out: str | Path) -> Path:
    """The side file of mask ``out``: its own file name with ``.json`` for the image suffix
    (``study.nii.d/L1.nrrd`` → ``study.nii.d/L1.json``); InputError for another suffix."""
    out = Path(out)
    name = out.name
    for suffix in sorted(WRITE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return out.with_name(name[: -len(suffix)] + ".json")
    allowed = ", ".join(WRITE_SUFFIXES)
    raise InputError(f"cannot write a mask as '{out.suffix}' (use {allowed})", out)


def check_sidecar(path: Path) -> None:
    """Refuse to replace a file at ``path`` that an earlier ``osteo segment`` did not write."""
    if not path.exists():
        return
    try:
        ours = json.loads(path.read_text(encoding="utf-8")).get("format") == SIDECAR_FORMAT
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise InputError(
            "exists and was not written by osteo segment; the mask's side file would replace "
            "it (choose another --out name or move the file)",
            path,
        )


def run(args: argparse.Namespace) -> int:
    check_output_path(args.out)
    sidecar = sidecar_path(args.out)
    check_output_path(sidecar)
    check_sidecar(sidecar)
    ct = read_ct(args.ct, series_uid=args.series, check_hu=not args.no_hu_check)
    seed_ras = parse_point(args.seed)
    with TqdmProgress("segment") as bar:
        result = segment_vertebral_body(
            ct, ras_to_lps(seed_ras), level=args.level, progress=bar, path=args.ct
        )
    write_image(result.mask.with_array(result.mask.array.astype(np.uint8)), args.out)
    write_json(
        sidecar,
        {
            "format": SIDECAR_FORMAT,
            "mask": Path(args.out).name,
            "seed_ras_mm": list(seed_ras),
            **result.to_dict(),
        },
    )
    print(
        f"{result.level or 'vertebra'}: {result.volume_ml:.1f} ml body mask → {args.out} "
        f"({result.runtime_s:.1f} s)"
    )
    for flag in result.flags:
        print(f"  check: {flag}")
    return 0
