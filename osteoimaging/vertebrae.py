"""Several vertebrae per case: resolve the inputs and run the focal measurement per level.

Glue between segmentation, calibration, alignment, the focal measurement
(:mod:`osteoimaging.focal`) and sub-regions, for ``osteo focal`` and the Slicer module:

* :func:`resolve_vertebrae` turns a click (``--seed X,Y,Z`` in RAS mm, Slicer's
  convention, converted to LPS here) or a label map (``--labels FILE --levels L1,L2``)
  plus an optional calibration profile into :class:`VertebraInput` items
  (level, mask, calibration, alignment);
* :func:`measure_vertebrae` runs the focal measurement for each, in its aligned frame,
  adds the sub-region means, and assembles one results table for the case;
* :func:`write_case_outputs` writes each level's outputs in ``OUT/<level>/`` and the
  table as ``OUT/results.csv`` and ``OUT/results.json``;
* :func:`add_vertebra_arguments` and :func:`run_vertebrae_cli` are the command-line glue
  for ``osteo focal`` (``--seed``/``--levels``/``--labels``/``--calibration``/``--align``).
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging.alignment import Alignment, align_body
from osteoimaging.atomic import write_json, write_text
from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.calibration.profile import load_profile
from osteoimaging.errors import InputError
from osteoimaging.imageio import read_image
from osteoimaging.progress import ProgressCallback, report, sub_progress
from osteoimaging.segmentation.growcut import (
    SegmentationParameters,
    ras_to_lps,
    segment_vertebral_body,
)
from osteoimaging.segmentation.labels import (
    body_mask_from_labels,
    check_level,
    label_for_level,
    parse_levels,
)
from osteoimaging.subregions import subregion_figure, subregion_means
from osteoimaging.validation import check_mask_geometry
from osteoimaging.volume import Volume

#: Maps whose sub-region means go into the results table.
TABLE_MAPS = ("bmd", "focal_bmc_loss", "focal_bmd_loss", "intercept_width")


@dataclass
class VertebraInput:
    """One vertebra to measure."""

    level: str | None
    mask: Volume
    calibration: LinearCalibration | None
    alignment: Alignment
    source: str

    @property
    def grid_direction(self) -> np.ndarray | None:
        return self.alignment.direction

    @property
    def name(self) -> str:
        return self.level or "vertebra"


@dataclass
class CaseResult:
    """Per-level focal results, sub-region means and the case's results table."""

    inputs: list[VertebraInput]
    results: dict[str, Any] = field(default_factory=dict)
    subregions: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


def load_calibration(
    calibration: str | Path | LinearCalibration | None,
) -> LinearCalibration | None:
    """A :class:`LinearCalibration` from a profile path (or as given; None stays None)."""
    if calibration is None or isinstance(calibration, LinearCalibration):
        return calibration
    return load_profile(calibration).calibration()


def parse_point(text: str) -> tuple[float, float, float]:
    """``"X,Y,Z"`` → three floats (InputError otherwise)."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError as exc:
        raise InputError(f"bad point '{text}': expected X,Y,Z in mm") from exc
    if len(values) != 3 or not all(np.isfinite(values)):
        raise InputError(f"bad point '{text}': expected three finite numbers X,Y,Z in mm")
    return values[0], values[1], values[2]


def _levels_for(levels: Sequence[str] | None, n: int, what: str) -> list[str | None]:
    if levels is None:
        return [None] * n
    names = [check_level(v) for v in levels]
    if len(names) != n:
        raise InputError(f"{len(names)} level name(s) for {n} {what}")
    return names


def resolve_vertebrae(
    ct: Volume,
    *,
    seeds_ras: Sequence[Sequence[float]] | None = None,
    levels: Sequence[str] | None = None,
    labels_path: str | Path | None = None,
    label_values: Sequence[int] | None = None,
    label_scheme: str = "verse",
    body_labels_path: str | Path | None = None,
    resample_labels: bool = False,
    calibration: str | Path | LinearCalibration | None = None,
    align: str | np.ndarray | Sequence[float] = "endplates",
    segmentation: SegmentationParameters | None = None,
    progress: ProgressCallback | None = None,
) -> list[VertebraInput]:
    """The vertebrae of a case from clicks or a label map (see the module docstring).

    With ``labels_path``, each level's label value is ``label_values`` (same order) or
    looked up in ``label_scheme``; ``body_labels_path`` (1 = body) keeps the body part.
    """
    cal = load_calibration(calibration)
    items: list[VertebraInput] = []
    if seeds_ras and labels_path is not None:
        raise InputError("give either seed points or a label map, not both")
    if seeds_ras:
        names = _levels_for(levels, len(seeds_ras), "seed point(s)")
        for n, (seed, level) in enumerate(zip(seeds_ras, names, strict=True)):
            seg = segment_vertebral_body(
                ct,
                ras_to_lps(seed),
                level=level,
                params=segmentation,
                progress=sub_progress(progress, n / len(names), (n + 0.9) / len(names)),
            )
            ras = ", ".join(f"{v:g}" for v in seed)
            items.append(_item(level, seg.mask, cal, align, f"growcut seed RAS ({ras})"))
    elif labels_path is not None:
        if levels is None and label_values is None:
            raise InputError("with a label map, give the levels (e.g. L1,L2) or label values")
        labels = check_mask_geometry(
            read_image(labels_path), ct, labels_path, resample=resample_labels
        )
        body = None
        if body_labels_path is not None:
            body = check_mask_geometry(
                read_image(body_labels_path), ct, body_labels_path, resample=resample_labels
            )
        n_items = len(label_values) if label_values is not None else len(levels or [])
        names = _levels_for(levels, n_items, "label value(s)")
        for n, level in enumerate(names):
            if label_values is not None:
                value = int(label_values[n])
            else:
                value = label_for_level(level, label_scheme)  # type: ignore[arg-type]
            mask = body_mask_from_labels(labels, value, path=labels_path, body_labels=body)
            mask.metadata["level"] = level
            items.append(
                _item(level, mask, cal, align, f"label {value} of {Path(labels_path).name}")
            )
            report(progress, (n + 1) / len(names), f"label {value}")
    else:
        raise InputError("give a seed point (--seed X,Y,Z) or a label map (--labels FILE)")
    return items


def _item(level, mask, cal, align, source) -> VertebraInput:
    return VertebraInput(level, mask, cal, align_body(mask, align), source)


def _row(item: VertebraInput, values: dict[str, Any], sub: dict[str, dict[str, float]]):
    row: dict[str, Any] = {
        "level": item.name,
        "source": item.source,
        "alignment": item.alignment.method,
        "tilt_deg": round(item.alignment.tilt_deg, 3),
        "calibration": item.calibration.source if item.calibration else "none",
    }
    for key, value in values.items():
        if isinstance(value, (int, float, str, bool)) or value is None:
            row[key] = value
    for region, means in sub.items():
        if region == "roi":
            continue
        for key in TABLE_MAPS:
            if key in means:
                row[f"{region}:{key}"] = means[key]
    return row


def measure_vertebrae(
    ct: Volume,
    items: Sequence[VertebraInput],
    *,
    params: Any = None,
    left_right: bool = False,
    progress: ProgressCallback | None = None,
) -> CaseResult:
    """Run :func:`osteoimaging.focal.measure_focal` per vertebra in its aligned frame."""
    from osteoimaging.focal import FocalParameters, measure_focal

    params = params or FocalParameters()
    case = CaseResult(list(items))
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise InputError("two vertebrae have the same level name; give distinct --levels")
    for n, item in enumerate(items):
        result = measure_focal(
            ct,
            item.mask,
            calibration=item.calibration,
            params=params,
            grid_direction=item.grid_direction,
            progress=sub_progress(progress, n / len(items), (n + 1) / len(items)),
        )
        result.values["level"] = item.name
        result.values["segmentation_source"] = item.source
        result.values["alignment"] = item.alignment.to_dict()
        sub = subregion_means(result.maps, result.roi, left_right)
        result.values["subregions"] = sub
        case.results[item.name] = result
        case.subregions[item.name] = sub
        case.rows.append(_row(item, result.values, sub))
    return case


def table_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as CSV text (union of the keys, in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def write_case_outputs(case: CaseResult, out_dir: str | Path, ct: Volume | None = None) -> Path:
    """``OUT/<level>/`` focal outputs + sub-region figure; ``OUT/results.{csv,json}``."""
    from osteoimaging.focal import write_focal_outputs

    out = Path(out_dir)
    for name, result in case.results.items():
        folder = out / name
        write_focal_outputs(result, folder, ct)
        sub = case.subregions[name]
        write_json(folder / "subregions.json", sub)
        for key, units in (("focal_bmc_loss", "mm"), ("bmd", "mg/cm³")):
            subregion_figure(
                sub, key, folder / f"subregions_{key}.png", title=f"{name}: {key}", units=units
            )
    write_text(out / "results.csv", table_csv(case.rows))
    return write_json(out / "results.json", {"vertebrae": case.rows})


def add_vertebra_arguments(parser: argparse.ArgumentParser) -> None:
    """Options selecting the vertebrae, their calibration and alignment (``osteo focal``)."""
    g = parser.add_argument_group("vertebrae, calibration and alignment")
    g.add_argument(
        "--seed",
        action="append",
        metavar="X,Y,Z",
        help="a point inside a vertebral body, RAS mm (Slicer); GrowCut segments it; "
        "repeat for several vertebrae (write --seed=X,Y,Z when X is negative)",
    )
    g.add_argument("--level", help="level name of the one vertebra (e.g. L1)")
    g.add_argument("--levels", help="level names, comma list (one per --seed, or per label)")
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
    g.add_argument("--calibration", help="calibration profile JSON (osteo calibrate)")
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


def vertebrae_requested(args: argparse.Namespace) -> bool:
    """True when the command line selects vertebrae by click or label map."""
    return bool(getattr(args, "seed", None) or getattr(args, "labels", None))


def _align_from_text(text: str) -> str | tuple[float, float, float]:
    if text.lower() in {"endplates", "auto", "pca", "none"}:
        return text.lower()
    return parse_point(text)


def run_vertebrae_cli(
    args: argparse.Namespace,
    ct: Volume,
    params: Any,
    calibration: LinearCalibration | None = None,
    progress: ProgressCallback | None = None,
) -> CaseResult:
    """Resolve, measure and write: the body of ``osteo focal`` for clicks or label maps.

    ``calibration`` is the command line's ``--slope/--intercept`` one (None or identity
    when not given); ``--calibration PROFILE`` may not be combined with it.
    """
    manual = calibration is not None and not calibration.is_identity
    if args.calibration and manual:
        raise InputError("give --calibration PROFILE or --slope/--intercept, not both")
    levels = None
    if args.levels:
        levels = parse_levels(args.levels)
    elif getattr(args, "level", None):
        levels = [args.level]
    values = None
    if args.label_values:
        values = [int(v) for v in parse_point_list(args.label_values)]
    items = resolve_vertebrae(
        ct,
        seeds_ras=[parse_point(s) for s in args.seed] if args.seed else None,
        levels=levels,
        labels_path=args.labels,
        label_values=values,
        label_scheme=args.label_scheme,
        body_labels_path=args.body_labels,
        calibration=args.calibration or (calibration if manual else None),
        align=_align_from_text(args.align),
        progress=sub_progress(progress, 0.0, 0.3),
    )
    case = measure_vertebrae(
        ct,
        items,
        params=params,
        left_right=args.left_right,
        progress=sub_progress(progress, 0.3, 1.0),
    )
    write_case_outputs(case, args.out, ct)
    return case


def parse_point_list(text: str) -> list[float]:
    """``"20,21"`` → ``[20.0, 21.0]`` (InputError otherwise)."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise InputError(f"bad number list '{text}'") from exc
