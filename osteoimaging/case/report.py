"""The study report of a case: one self-contained HTML page for all its levels.

Summary table (with quality flags), bar charts across levels, each level's overlay and
sub-region grids, calibration and method details, software version, input hash and date
(issue 15, "One study report"). Rendered by the one report builder
(:mod:`osteoimaging.reports`, template ``focal_study.html``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from osteoimaging.focal.pipeline import METHOD_REFERENCE
from osteoimaging.reports import render


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    units: str
    pattern: str


def summary_columns(bmd_units: str) -> list[Column]:
    """The measures of the summary table, with labels, units and number formats."""
    return [
        Column("focal_bmc_loss_mm", "Focal BMC loss", "mm", "{:.3f}"),
        Column("focal_bmd_loss", "Focal BMD loss", "fraction", "{:.4f}"),
        Column("intercept_width_mm", "Intercept width", "mm", "{:.3f}"),
        Column("trabecular_bmd", "Trabecular BMD", bmd_units, "{:.1f}"),
        Column("void_coverage", "Void coverage", "fraction of ROI", "{:.3f}"),
        Column("roi_volume_ml", "ROI volume", "ml", "{:.2f}"),
        Column("body_volume_ml", "Body volume", "ml", "{:.1f}"),
    ]


@dataclass
class Figure:
    title: str
    png: bytes


@dataclass
class LevelReport:
    """One level's section: its row, flag sentences and figures."""

    name: str
    row: dict[str, Any]
    flags: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    subregion_figures: list[Figure] = field(default_factory=list)


@dataclass
class StudyReport:
    """Everything the study report shows (built by any front end)."""

    levels: list[LevelReport]
    bmd_units: str
    calibration_text: str
    parameters: dict[str, Any]
    scan_spacing: str
    input_name: str = ""
    input_sha256: str | None = None
    case_flags: list[str] = field(default_factory=list)
    bar_charts: list[Figure] = field(default_factory=list)
    title: str = "Focal osteoporosis defect"
    generated: str = field(
        default_factory=lambda: _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    )


def calibration_text(calibration, bmd_units: str) -> str:
    """How BMD values came about, in one sentence."""
    if calibration.is_identity:
        if bmd_units == "HU":
            return (
                "none: values in HU; focal BMD loss is relative to 1200 HU, not to the "
                "paper's 1200 mg/cm³ HA"
            )
        return f"none: the input is already in {bmd_units}"
    return (
        f"BMD = {calibration.slope:.6g} × HU + {calibration.intercept:.6g} ({bmd_units}; "
        f"source: {calibration.source})"
    )


def study_report_html(report: StudyReport) -> str:
    """The HTML page of ``report``."""
    return render(
        "focal_study.html",
        title=report.title,
        input_name=report.input_name,
        input_sha256=report.input_sha256,
        generated=report.generated,
        levels=report.levels,
        case_flags=report.case_flags,
        summary_columns=summary_columns(report.bmd_units),
        bar_charts=report.bar_charts,
        method_reference=METHOD_REFERENCE,
        bmd_units=report.bmd_units,
        calibration_text=report.calibration_text,
        parameters=report.parameters,
        scan_spacing=report.scan_spacing,
    )
