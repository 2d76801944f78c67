"""Files of a case: per level ``<level>/`` maps, masks, figures and values; for the case
``results.csv``, ``results.json`` and ``report.html``.

Layout of ``OUT``::

    results.csv            one row per level (:mod:`osteoimaging.case.rows`)
    results.json           case information, the rows, and each level's full values
    report.html            the study report (self-contained)
    <level>/maps/<map>.nrrd  the maps on the analysis grid (exact geometry, NaN outside)
    <level>/roi.nrrd       the eroded ROI (analysis grid); <level>/body.nrrd the body (CT grid)
    <level>/overlay.png    CT with the focal BMC loss map; <level>/subregions_<map>.png
    <level>/subregions.json  sub-region means; <level>/results.json the level's values

Every file is written atomically. No patient identifier is written anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging._version import __version__
from osteoimaging.atomic import write_bytes, write_json, write_text
from osteoimaging.case.figures import bar_chart_pngs, overlay_png, subregion_pngs
from osteoimaging.case.pipeline import CaseResult, LevelResult
from osteoimaging.case.report import (
    Figure,
    LevelReport,
    StudyReport,
    calibration_text,
    study_report_html,
)
from osteoimaging.case.rows import COLUMNS
from osteoimaging.focal.pipeline import METHOD_REFERENCE
from osteoimaging.imageio import write_image
from osteoimaging.tables import write_table
from osteoimaging.volume import format_triplet


def level_values(level: LevelResult) -> dict[str, Any]:
    """The level's full record for ``results.json``: row, values, flags, segmentation."""
    values = dict(level.focal.values)
    values.update(
        level=level.name,
        row=level.row,
        flags=[{"code": f.code, "message": f.message} for f in level.flags],
        alignment=level.alignment.to_dict(),
        subregions=level.subregions,
        timings_s=level.timings,
    )
    if level.segmentation is not None:
        values["segmentation"] = level.segmentation.to_dict()
    return values


def case_info(case: CaseResult) -> dict[str, Any]:
    """What the case as a whole was: input, calibration, parameters, software, flags."""
    request = case.request
    return {
        "input": request.input_name,
        "input_sha256": request.input_sha256,
        "scan_spacing_mm": list(request.ct.spacing),
        "bmd_units": case.density.units,
        "calibration": case.calibration.to_dict(),
        "parameters": request.params.to_dict(),
        "flags": [{"code": f.code, "message": f.message} for f in case.flags],
        "software_version": __version__,
        "method_reference": METHOD_REFERENCE,
        "runtime_s": case.runtime_s,
    }


def study_report(case: CaseResult, figures: dict[str, dict[str, Any]]) -> StudyReport:
    """The study report's content from a measured case and its rendered figures."""
    request = case.request
    levels = []
    for level in case.levels:
        pngs = figures[level.name]
        levels.append(
            LevelReport(
                name=level.name,
                row=level.row,
                flags=[str(f.message) for f in level.flags if f not in case.flags],
                figures=[Figure(f"{level.name}: focal BMC loss over the CT", pngs["overlay"])],
                subregion_figures=[Figure(t, png) for _, t, png in pngs["subregions"]],
            )
        )
    return StudyReport(
        levels=levels,
        bmd_units=case.density.units,
        calibration_text=calibration_text(case.calibration, case.density.units),
        parameters=request.params.to_dict(),
        scan_spacing=format_triplet(request.ct.spacing),
        input_name=request.input_name,
        input_sha256=request.input_sha256,
        case_flags=[f.message for f in case.flags],
        bar_charts=[Figure(t, png) for t, png in bar_chart_pngs(case)],
    )


def level_figures(level: LevelResult, case: CaseResult) -> dict[str, Any]:
    """The PNG bytes of a level's overlay and sub-region grids."""
    return {
        "overlay": overlay_png(level, case.request.ct, case.request.input_name),
        "subregions": subregion_pngs(level, case.density.units),
    }


def case_report_html(case: CaseResult, figures: dict[str, dict[str, Any]] | None = None) -> str:
    """The study report page of ``case`` (figures rendered here unless given)."""
    if figures is None:
        figures = {level.name: level_figures(level, case) for level in case.levels}
    return study_report_html(study_report(case, figures))


def write_level_outputs(level: LevelResult, folder: Path, case: CaseResult) -> dict[str, Any]:
    """Maps, masks, figures and values of one level; returns its figures' PNG bytes."""
    focal = level.focal
    for key, volume in focal.maps.items():
        write_image(volume, folder / "maps" / f"{key}.nrrd")
    write_image(focal.roi.with_array(focal.roi.array.astype(np.uint8)), folder / "roi.nrrd")
    write_image(level.body.with_array(level.body.array.astype(np.uint8)), folder / "body.nrrd")
    figures = level_figures(level, case)
    write_bytes(folder / "overlay.png", figures["overlay"])
    for key, _, png in figures["subregions"]:
        write_bytes(folder / f"subregions_{key}.png", png)
    write_json(folder / "subregions.json", level.subregions)
    write_json(folder / "results.json", level_values(level))
    return figures


def write_case_outputs(case: CaseResult, out_dir: str | Path) -> dict[str, Path]:
    """Write everything of the module docstring into ``out_dir``; returns the main paths."""
    out = Path(out_dir)
    figures = {
        level.name: write_level_outputs(level, out / level.name, case) for level in case.levels
    }
    paths = {
        "results_csv": write_table(case.rows, out / "results.csv", first=COLUMNS),
        "results_json": write_json(
            out / "results.json", {"case": case_info(case), "vertebrae": case.rows}
        ),
    }
    paths["report"] = write_text(
        out / "report.html", study_report_html(study_report(case, figures))
    )
    return paths


def write_case_dicom_outputs(
    case: CaseResult,
    source: Any,
    out_dir: str | Path,
    *,
    deidentify: bool = False,
    patient_id: str | None = None,
) -> dict[str, Path]:
    """The case as DICOM objects beside its source series (:mod:`osteoimaging.dicom`):
    one Segmentation (bodies and ROIs), a Parametric Map per level and map, and a TID 1500
    Measurement Report. ``source`` is :func:`osteoimaging.dicom.read_dicom_source` of the
    CT's series; with ``deidentify`` the patient and study modules are replaced by a
    pseudonym (``patient_id``, or a random one)."""
    from osteoimaging.dicom import level_outputs, write_case_dicom

    levels = [level_outputs(level, case) for level in case.levels]
    return write_case_dicom(source, levels, out_dir, deidentify=deidentify, patient_id=patient_id)
