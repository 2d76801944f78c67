"""One screening case: its levels, the model input, SMI, the L1 value and (with a model)
the CNN probability and its Grad-CAM map on the CT grid.

The same function serves ``osteo screen prepare`` (no model), ``osteo screen apply`` and
the batch job :func:`screen_job`; cases are batch-manifest rows
(:mod:`osteoimaging.cohort.manifest`: ``ct``, ``mask`` label map with ``label`` values, or
``seed`` clicks for GrowCut, ``level`` names, covariates such as ``height_m``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.imageio import read_image
from osteoimaging.log import logger
from osteoimaging.screening.baselines import (
    MuscleRegionParams,
    height_from_dicom,
    l1_attenuation,
    l1_rule,
    muscle_area_cm2,
    muscle_mask_threshold,
    smi,
)
from osteoimaging.screening.prep import PreparedInput, PrepParams, body_centre_lps, prepare_input
from osteoimaging.segmentation.labels import check_level
from osteoimaging.validation import check_mask_geometry
from osteoimaging.volume import Volume


@dataclass
class ScreenParams:
    """Everything a case needs besides its inputs (JSON-able through ``to_dict``)."""

    prep: PrepParams = field(default_factory=PrepParams)
    rule_level: str = "L1"
    muscle_labels: tuple[int, ...] = ()
    muscle: MuscleRegionParams = field(default_factory=MuscleRegionParams)
    erosion_mm: float = 6.0
    height_column: str = "height_m"
    check_hu: bool = True
    resample_mask: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["prep"] = self.prep.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ScreenParams:
        d = dict(d)
        prep = PrepParams.from_dict(d.pop("prep", {}))
        muscle = MuscleRegionParams(**d.pop("muscle", {}))
        d["muscle_labels"] = tuple(int(v) for v in d.get("muscle_labels", ()))
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(prep=prep, muscle=muscle, **known)


@dataclass
class CaseResult:
    """One case: per-level rows (in the case's level order) and what the model needs."""

    rows: list[dict]
    summary: dict
    prepared: PreparedInput
    ct: Volume
    body: Volume
    muscle: Volume


def _levels(case: dict, params: ScreenParams, case_dir) -> tuple[Volume, dict[str, Volume]]:
    """The CT and each level's body, gathered as the focal job gathers them (the batch's
    :func:`~osteoimaging.cohort.jobs.case_request` and the case pipeline's body sources; a
    body grown from a seed point is kept as ``<level>/body.nrrd``)."""
    from osteoimaging.case.pipeline import body_from_source
    from osteoimaging.cohort.jobs import case_request
    from osteoimaging.imageio import write_image

    opts = {"check_hu": params.check_hu, "resample_mask": params.resample_mask}
    request = case_request(case, opts)
    masks = {}
    for source in request.bodies:
        mask, _, seg = body_from_source(request, source)
        if seg is not None and case_dir is not None:
            body = mask.with_array(mask.array.astype(np.uint8))
            write_image(body, Path(case_dir) / source.name / "body.nrrd")
        masks[source.name] = mask
    return request.ct, masks


def _height(case: dict, params: ScreenParams) -> tuple[float, str]:
    value = case.get("covariates", {}).get(params.height_column)
    try:
        if value not in (None, ""):
            return float(value), f"covariate {params.height_column}"
    except (TypeError, ValueError):
        pass
    if Path(case["ct"]).is_dir():
        h = height_from_dicom(case["ct"])
        if h is not None:
            return h, "DICOM PatientSize"
    return float("nan"), "missing"


def _slab_slices(ct: Volume, body: Volume, slab_mm: float) -> list[int]:
    zc = body_centre_lps(body)[2]
    ks = []
    for k in range(ct.shape[0]):
        z = ct.index_to_physical(np.array([0.0, 0.0, k]))[2]
        if abs(z - zc) <= slab_mm / 2 + 0.5 * ct.spacing[2]:
            ks.append(k)
    kc = round(float(ct.physical_to_index(body_centre_lps(body))[2]))
    return sorted(set(ks) | {kc})


def muscle_mask_for(case: dict, ct: Volume, body: Volume, params: ScreenParams):
    """(muscle mask on the CT grid, source text): label values of the case's label map, or
    the threshold-and-region method on the slab's slices."""
    if params.muscle_labels and case.get("mask"):
        labels = check_mask_geometry(
            read_image(case["mask"]), ct, case["mask"], resample=params.resample_mask
        )
        arr = np.isin(np.rint(labels.array).astype(np.int64), params.muscle_labels)
        if not arr.any():
            raise InputError(f"no voxel with muscle label(s) {params.muscle_labels}", case["mask"])
        return ct.with_array(arr), "labels " + ",".join(map(str, params.muscle_labels))
    slices = _slab_slices(ct, body, params.prep.slab_mm)
    return muscle_mask_threshold(ct, body, slices, params.muscle), "threshold-and-region"


def screen_case(case: dict, params: ScreenParams, case_dir=None) -> CaseResult:
    """Masks, model input and baselines of one manifest case (no model involved)."""
    ct, masks = _levels(case, params, case_dir)
    level = params.prep.level
    if level not in masks:
        raise InputError(f"the case has no {level} (levels: {', '.join(masks)})", case.get("ct"))
    muscle, source = muscle_mask_for(case, ct, masks[level], params)
    result = screen_volumes(ct, masks, params, muscle, source, _height(case, params))
    if np.isnan(result.summary["l1_hu"]):
        logger.info("%s: no %s mask, L1 rule not computed", case.get("case_id"), params.rule_level)
    return result


def screen_volumes(
    ct: Volume,
    masks: dict[str, Volume],
    params: ScreenParams,
    muscle: Volume | None = None,
    muscle_source: str = "given mask",
    height: tuple[float, str] = (float("nan"), "missing"),
) -> CaseResult:
    """The same as :func:`screen_case` on volumes in memory (Slicer, notebooks): ``masks``
    maps level names to body masks on the CT grid; ``muscle`` None → threshold method."""
    level = params.prep.level
    if level not in masks:
        raise InputError(f"no body mask for {level} (given: {', '.join(masks)})")
    body = masks[level]
    if muscle is None:
        slices = _slab_slices(ct, body, params.prep.slab_mm)
        muscle, muscle_source = (
            muscle_mask_threshold(ct, body, slices, params.muscle),
            ("threshold-and-region"),
        )
    prepared = prepare_input(ct, body, params.prep, muscle)
    area = muscle_area_cm2(ct, muscle, body)
    h, h_source = height
    rows = []
    summary = {"model_level": level, "rule_level": params.rule_level, "l1_hu": float("nan")}
    for name, mask in masks.items():
        row = {**l1_attenuation(ct, mask, params.erosion_mm)}
        if name == params.rule_level:
            for t in (110, 135):
                row[f"below_{t}_hu"] = int(l1_rule(row["trabecular_hu"], t))
            summary["l1_hu"] = row["trabecular_hu"]
        if name == level:
            row.update(area)
            row["muscle_source"] = muscle_source
            row["height_m"] = h
            row["height_source"] = h_source
            row["smi_cm2_m2"] = smi(area["muscle_area_cm2"], h) if np.isfinite(h) else float("nan")
            summary.update({k: row[k] for k in ("muscle_area_cm2", "smi_cm2_m2", "height_m")})
            summary["level_hu"] = row["trabecular_hu"]
        rows.append(row)
    return CaseResult(rows, summary, prepared, ct, body, muscle)


def apply_to_case(result: CaseResult, model, config, out_dir=None, keep_map: bool = False) -> dict:
    """CNN probability and Grad-CAM (``config``: the model's ModelConfig) for one case; the
    map on the CT grid is written under ``out_dir`` (``gradcam.nrrd``, ``gradcam.png``) and,
    with ``keep_map``, returned as ``values["gradcam_volume"]``."""
    from osteoimaging.screening.gradcam import grad_cam, mass_fractions
    from osteoimaging.screening.model import cam_class_index, predict
    from osteoimaging.screening.prep import map_to_ct

    image = result.prepared.image[None]
    prob = float(predict(model, image)[0])
    maps, classes = grad_cam(model, image, config.cam_layer, cam_class_index(config))
    cam_ct = map_to_ct(maps[0], result.prepared.centre_lps, result.prepared.params, result.ct)
    values = {"cnn_probability": prob, "cam_class": int(classes[0])}
    values.update(
        mass_fractions(cam_ct.array, {"body": result.body.array, "muscle": result.muscle.array})
    )
    if out_dir is not None:
        from osteoimaging.imageio import write_image
        from osteoimaging.screening.figures import cam_overlay_png

        out = Path(out_dir)
        write_image(cam_ct, out / "gradcam.nrrd")
        cam_overlay_png(
            result.prepared, maps[0], out / "gradcam.png", f"P(osteoporosis) = {prob:.2f}"
        )
    if keep_map:
        values["gradcam_volume"] = cam_ct
    return values


_MODELS: dict[str, tuple] = {}


def screen_job(case: dict, case_dir: Path, params: dict) -> list[dict]:
    """Batch job ``screen``: one row per level of the case (see :func:`screen_case`).

    ``params["screen"]`` holds :class:`ScreenParams` fields; ``params["model"]`` (optional) a
    saved model folder, whose preparation parameters then replace ``params["screen"]["prep"]``
    and whose probability and Grad-CAM fractions go into the model level's row (maps in
    ``case_dir/<level>/``).
    """
    sp = ScreenParams.from_dict(params.get("screen", {}))
    model = config = None
    if params.get("model"):
        from osteoimaging.screening.model import load_model

        key = str(Path(params["model"]).resolve())
        if key not in _MODELS:
            _MODELS[key] = load_model(key)
        model, config, prep, _ = _MODELS[key]
        sp.prep = prep
    result = screen_case(case, sp, case_dir)
    levels = [check_level(lv) or lv for lv in case["levels"]]
    if model is not None:
        i = levels.index(sp.prep.level)
        result.rows[i].update(
            apply_to_case(result, model, config, Path(case_dir) / case["levels"][i])
        )
    return [{k: v for k, v in row.items() if not isinstance(v, dict | list)} for row in result.rows]
