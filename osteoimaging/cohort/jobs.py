"""Per-case jobs the batch runs: ``job(case: dict, case_dir: Path, params: dict) -> rows``.

A job reads its case's inputs, writes whatever it wants under ``case_dir`` (a fresh
temporary folder the batch renames into place when the job returns) and returns one
dict of scalar values per level. The batch adds ``case_id``, ``level`` and covariates.
Jobs must be module-level functions so that Dask can pickle them by reference (workers
import them, so they must be importable on every worker).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging.atomic import write_json
from osteoimaging.calibration import LinearCalibration
from osteoimaging.errors import InputError
from osteoimaging.imageio import write_image
from osteoimaging.validation import read_ct, read_mask
from osteoimaging.volume import Volume

Job = Callable[[dict, Path, dict], list[dict]]


def calibration_from_text(text: str) -> LinearCalibration:
    """The manifest's calibration column → a LinearCalibration.

    ``none`` → identity; ``manual:SLOPE,INTERCEPT``; otherwise a JSON profile holding
    ``slope`` and ``intercept`` at the top level or under ``fit`` (the profile format of
    issue 4's ``osteo calibrate``).
    """
    if text == "none":
        return LinearCalibration.identity()
    if text.startswith("manual:"):
        slope, intercept = (float(v) for v in text.split(":", 1)[1].split(","))
        return LinearCalibration.manual(slope, intercept)
    path = Path(text)
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
        fit = profile.get("fit", profile)
        return LinearCalibration(
            float(fit["slope"]), float(fit["intercept"]), f"profile:{path.stem}"
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            f"not a calibration profile with slope and intercept ({exc})", path
        ) from exc


def iter_levels(
    case: dict, params: dict, case_dir: Path | None = None
) -> Iterator[tuple[str, Volume, Volume]]:
    """(level, CT, boolean mask on the CT grid) for each level of the case.

    A case with seed points instead of a mask is segmented here with one-click GrowCut
    (:func:`osteoimaging.segmentation.segment_vertebral_body`; seeds in RAS mm, as in
    Slicer); the mask is kept as ``case_dir/<level>/body_mask.nrrd`` so that it can be
    checked and reused.
    """
    ct = read_ct(case["ct"], check_hu=params.get("check_hu", True))
    if case.get("seeds"):
        from osteoimaging.segmentation import segment_vertebral_body
        from osteoimaging.segmentation.growcut import ras_to_lps

        for level, seed in zip(case["levels"], case["seeds"], strict=True):
            name = _level_name(level)
            mask = segment_vertebral_body(ct, ras_to_lps(seed), level=name, path=case["ct"]).mask
            if case_dir is not None:
                write_image(
                    mask.with_array(mask.array.astype(np.uint8)),
                    Path(case_dir) / level / "body_mask.nrrd",
                )
            yield level, ct, mask
        return
    if not case.get("mask"):
        raise InputError("the case has neither a mask nor seed points", case["ct"])
    for level, label in zip(case["levels"], case["labels"], strict=True):
        mask = read_mask(case["mask"], ct, label=label, resample=params.get("resample_mask", False))
        yield level, ct, mask


def _level_name(level: str) -> str | None:
    """The vertebra level name the segmentation carries, or None (e.g. for ``body``)."""
    from osteoimaging.segmentation.labels import check_level

    try:
        return check_level(level)
    except InputError:
        return None


def mask_stats_job(case: dict, case_dir: Path, params: dict) -> list[dict]:
    """Mean and SD of the CT (and of calibrated BMD) inside each level's mask.

    A light job for quality control (and the batch's own tests): it reads the inputs
    exactly as the focal job does and writes ``<level>/values.json``.
    """
    calibration = calibration_from_text(case.get("calibration", "none"))
    rows = []
    for level, ct, mask in iter_levels(case, params, case_dir):
        values = ct.array[mask.array].astype(np.float64)
        row = {
            "mean_hu": float(values.mean()),
            "sd_hu": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
            "mean_bmd": float(calibration.apply(float(values.mean()))),  # linear: mean commutes
            "mask_voxels": int(values.size),
            "mask_volume_ml": float(values.size * ct.voxel_volume_mm3 / 1000.0),
            "calibration": calibration.source,
        }
        write_json(Path(case_dir) / level / "values.json", row)
        rows.append(row)
    return rows


def focal_job(case: dict, case_dir: Path, params: dict) -> list[dict]:
    """The focal-defect measurement (Li et al., JOR Spine 2022;5:e1195) for each level.

    ``params["focal"]`` holds keyword arguments of ``FocalParameters``; each level's
    maps, report and ``results.json`` go to ``case_dir/<level>/``.
    """
    from osteoimaging.focal import FocalParameters, measure_focal, write_focal_outputs

    calibration = calibration_from_text(case.get("calibration", "none"))
    focal_params = FocalParameters.from_dict(params.get("focal", {}))
    rows = []
    for level, ct, mask in iter_levels(case, params, case_dir):
        result = measure_focal(
            ct,
            mask,
            calibration=None if calibration.is_identity else calibration,
            params=focal_params,
        )
        write_focal_outputs(result, Path(case_dir) / level, ct=ct)
        row = {k: v for k, v in result.values.items() if _is_scalar(v) and k not in _NOT_IN_TABLE}
        row.setdefault("calibration", calibration.source)
        rows.append(row)
    return rows


#: Values kept in each case's results.json but left out of results.csv (long texts; the
#: software version is in batch.json and in every done.json).
_NOT_IN_TABLE = {"method_reference", "input_sha256", "software_version"}


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | np.generic) or value is None


JOBS: dict[str, Job] = {"focal": focal_job, "mask-stats": mask_stats_job}


def resolve_job(name: str) -> Job:
    """A job by name (``focal``, ``mask-stats``) or as ``package.module:function``."""
    if name in JOBS:
        return JOBS[name]
    module_name, _, func_name = name.partition(":")
    if not func_name:
        raise InputError(f"unknown job '{name}' (use {', '.join(JOBS)} or module:function)")
    try:
        job = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"cannot import job '{name}' ({exc})") from exc
    if not callable(job):
        raise InputError(f"job '{name}' is not a function")
    return job


def job_id(job: Job) -> str:
    """``module:qualname`` of a job: its identity in the resumability hash."""
    return f"{job.__module__}:{job.__qualname__}"
