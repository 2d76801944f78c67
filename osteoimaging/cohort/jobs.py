"""Per-case jobs the batch runs: ``job(case: dict, case_dir: Path, params: dict) -> rows``.

A job reads its case's inputs, writes whatever it wants under ``case_dir`` (a fresh
temporary folder the batch renames into place when the job returns) and returns one
dict of scalar values per level. The batch adds ``case_id``, ``level`` and covariates.
Jobs must be module-level functions so that Dask can pickle them by reference (workers
import them, so they must be importable on every worker).
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging.atomic import write_json
from osteoimaging.calibration import LinearCalibration
from osteoimaging.errors import InputError
from osteoimaging.validation import read_ct

Job = Callable[[dict, Path, dict], list[dict]]


#: Batch parameters besides ``focal`` (FocalParameters fields) that shape a case request.
CASE_PARAMETERS = (
    "align",
    "left_right",
    "input_units",
    "material",
    "check_hu",
    "resample_mask",
    "qc",
    "dicom",
)


def calibration_from_text(text: str) -> LinearCalibration:
    """The manifest's calibration column → a LinearCalibration.

    ``none`` → identity; ``manual:SLOPE,INTERCEPT``; otherwise a calibration profile
    written by ``osteo calibrate`` (read by :func:`~osteoimaging.calibration.profile.
    load_profile`, the one profile reader).
    """
    from osteoimaging.calibration.profile import load_profile

    if text == "none":
        return LinearCalibration.identity()
    if text.startswith("manual:"):
        slope, intercept = (float(v) for v in text.split(":", 1)[1].split(","))
        return LinearCalibration.manual(slope, intercept)
    return load_profile(text).calibration()


def _body_name(level: str) -> dict[str, str | None]:
    """BodySource naming fields of a manifest level: a vertebra level, else a tag."""
    from osteoimaging.segmentation.labels import check_level

    try:
        return {"level": check_level(level), "tag": ""}
    except InputError:
        return {"level": None, "tag": level}


def case_request(case: dict, params: dict):
    """The :class:`~osteoimaging.case.CaseRequest` of one manifest case.

    The same inputs ``osteo focal`` gathers: the CT (HU check unless ``check_hu`` is
    false or ``input_units`` is mg/cm3), each level's body from its seed point (GrowCut),
    its label value in the mask column's label map, or the whole mask (no label), the
    calibration column, and the batch parameters of :data:`CASE_PARAMETERS` and ``focal``
    (``qc``: :class:`~osteoimaging.case.quality.QualityLimits` fields, e.g. for animal
    studies whose vertebrae are far below the adult human ranges).
    """
    from osteoimaging.case import BodySource, CaseRequest, QualityLimits
    from osteoimaging.case.density import check_input_units
    from osteoimaging.cohort.hashing import file_digest
    from osteoimaging.focal.parameters import FocalParameters
    from osteoimaging.imageio import read_image
    from osteoimaging.validation import check_mask_geometry, mask_from_label

    units = check_input_units(params.get("input_units", "HU"))
    ct = read_ct(case["ct"], check_hu=bool(params.get("check_hu", True)) and units == "HU")
    fields: dict[str, Any] = {}
    bodies = []
    if case.get("seeds"):
        for level, seed in zip(case["levels"], case["seeds"], strict=True):
            bodies.append(BodySource(seed_ras=tuple(seed), **_body_name(level)))
    elif case.get("mask"):
        labels = check_mask_geometry(
            read_image(case["mask"]),
            ct,
            case["mask"],
            resample=bool(params.get("resample_mask", False)),
        )
        fields.update(labels=labels, labels_name=Path(case["mask"]).name)
        for level, label in zip(case["levels"], case["labels"], strict=True):
            if label is None:
                mask = mask_from_label(labels, None, case["mask"])
                text = f"mask {Path(case['mask']).name}"
                bodies.append(BodySource(mask=mask, description=text, **_body_name(level)))
            else:
                bodies.append(BodySource(label=label, **_body_name(level)))
    else:
        raise InputError("the case has neither a mask nor seed points", case["ct"])
    digests = [file_digest(case["ct"])] + ([file_digest(case["mask"])] if case.get("mask") else [])
    return CaseRequest(
        ct=ct,
        bodies=bodies,
        calibration=calibration_from_text(case.get("calibration", "none")),
        input_units=units,
        material=params.get("material"),
        align=params.get("align", "endplates"),
        params=FocalParameters.from_dict(params.get("focal", {})),
        left_right=bool(params.get("left_right", False)),
        limits=QualityLimits.from_dict(params.get("qc", {})),
        input_name=Path(case["ct"]).name,
        input_sha256=hashlib.sha256("".join(digests).encode()).hexdigest(),
        **fields,
    )


def mask_stats_job(case: dict, case_dir: Path, params: dict) -> list[dict]:
    """Mean and SD of the CT (and of calibrated BMD) inside each level's body.

    A light job for quality control (and the batch's own tests): the bodies come from
    the same request the focal job builds (:func:`case_request`); writes
    ``<level>/values.json`` and, for a body grown from a seed point, ``<level>/body.nrrd``
    (named as the focal job's writer names it).
    """
    from osteoimaging.case.pipeline import body_from_source
    from osteoimaging.imageio import write_image

    request = case_request(case, params)
    calibration = request.calibration or LinearCalibration.identity()
    rows = []
    for source in request.bodies:
        mask, description, seg = body_from_source(request, source)
        if seg is not None:
            write_image(
                mask.with_array(mask.array.astype(np.uint8)),
                Path(case_dir) / source.name / "body.nrrd",
            )
        values = request.ct.array[mask.array].astype(np.float64)
        row = {
            "level": source.name,
            "source": description,
            "mean_hu": float(values.mean()),
            "sd_hu": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
            "mean_bmd": float(calibration.apply(float(values.mean()))),  # linear: mean commutes
            "mask_voxels": int(values.size),
            "mask_volume_ml": float(values.size * request.ct.voxel_volume_mm3 / 1000.0),
            "calibration": calibration.source,
        }
        write_json(Path(case_dir) / source.name / "values.json", row)
        rows.append(row)
    return rows


def focal_job(case: dict, case_dir: Path, params: dict) -> list[dict]:
    """The one case pipeline (:func:`osteoimaging.case.measure_case`) on a manifest case.

    Writes the same files as ``osteo focal`` into ``case_dir`` and returns its rows. With
    the parameter ``dicom`` (true, or ``{"deidentify": true}``) a DICOM series case also
    gets its DICOM objects in ``case_dir/dicom/`` (as ``osteo focal --dicom-out``).
    """
    from osteoimaging.case import measure_case
    from osteoimaging.case.outputs import write_case_dicom_outputs, write_case_outputs

    request = case_request(case, params)
    dicom = params.get("dicom")
    source = None
    if dicom:
        from osteoimaging.dicom import read_dicom_source

        source = read_dicom_source(case["ct"], volume=request.ct)
    result = measure_case(request)
    write_case_outputs(result, case_dir)
    if source is not None:
        options = dicom if isinstance(dicom, dict) else {}
        write_case_dicom_outputs(
            result, source, Path(case_dir) / "dicom", deidentify=bool(options.get("deidentify"))
        )
    return result.rows


def screen_job(case: dict, case_dir: Path, params: dict) -> list[dict]:
    """Opportunistic screening of one case (:func:`osteoimaging.screening.screen_job`;
    docs/screening.md): SMI, the L1 rule and, with ``params["model"]``, the CNN."""
    from osteoimaging.screening import screen_job as job

    return job(case, case_dir, params)


JOBS: dict[str, Job] = {"focal": focal_job, "mask-stats": mask_stats_job, "screen": screen_job}


def resolve_job(name: str) -> Job:
    """A job by name (``focal``, ``mask-stats``, ``screen``) or as ``package.module:function``."""
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
