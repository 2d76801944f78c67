"""``osteo info PATH``: geometry, value range and modality of an image."""

from __future__ import annotations

import argparse
import json

import numpy as np

from osteoimaging.imageio import read_image
from osteoimaging.volume import format_triplet


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="print an image's geometry, value range and modality",
        description="Print size, spacing, origin, direction, value range and "
        "modality (if known) of a DICOM series folder, NRRD, NIfTI or MetaImage.",
    )
    p.add_argument("path", help="image file or DICOM series folder")
    p.add_argument("--series", metavar="UID", help="DICOM series to read when a folder has several")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def image_info(path: str, series: str | None = None) -> dict:
    """The facts ``osteo info`` prints (no patient identifiers)."""
    vol = read_image(path, series_uid=series)
    arr = vol.array
    keep = ("format", "modality", "manufacturer", "kvp", "kernel", "slice_thickness_mm", "n_files")
    return {
        "size": list(vol.size),
        "spacing_mm": list(vol.spacing),
        "origin_mm": list(vol.origin),
        "direction": vol.direction.round(6).tolist(),
        "dtype": str(arr.dtype),
        **_value_range(arr),
        **{k: vol.metadata[k] for k in keep if k in vol.metadata},
    }


def _value_range(arr: np.ndarray) -> dict:
    """Min, max and mean of the finite voxels, and how many are NaN or infinite."""
    if not np.issubdtype(arr.dtype, np.floating):
        return {"min": float(arr.min()), "max": float(arr.max()), "mean": float(arr.mean())}
    finite = np.isfinite(arr)
    values = arr[finite] if not finite.all() else arr
    nan = float("nan")
    out = {
        "min": float(values.min()) if values.size else nan,
        "max": float(values.max()) if values.size else nan,
        "mean": float(values.mean()) if values.size else nan,
    }
    if not finite.all():
        out["nan_voxels"] = int(np.isnan(arr).sum())
        out["inf_voxels"] = int(np.isinf(arr).sum())
    return out


def run(args: argparse.Namespace) -> int:
    info = image_info(args.path, args.series)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"size      {format_triplet(tuple(info['size']), 'd')} voxels (x×y×z)")
    print(f"spacing   {format_triplet(tuple(info['spacing_mm']))} mm")
    print(f"origin    {format_triplet(tuple(info['origin_mm']))} mm (LPS)")
    print("direction " + "; ".join(" ".join(f"{v:g}" for v in row) for row in info["direction"]))
    print(
        f"values    {info['min']:g} .. {info['max']:g} (mean {info['mean']:.4g}, {info['dtype']})"
    )
    if "nan_voxels" in info:
        print(
            f"          {info['nan_voxels']} NaN and {info['inf_voxels']} infinite voxels "
            "(not counted above)"
        )
    for key in ("format", "modality", "manufacturer", "kvp", "kernel", "slice_thickness_mm"):
        if key in info:
            print(f"{key:<9} {info[key]}")
    return 0
