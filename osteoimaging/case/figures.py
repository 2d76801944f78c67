"""The pictures of a case: per-level overlay and sub-region grids, bar charts across levels.

Each function returns PNG bytes, written to disk and embedded in the study report by
:mod:`osteoimaging.case.outputs` (one rendering serves both). Drawn by
:mod:`osteoimaging.render` (Pillow only, as 3D Slicer bundles it): radiological
orientation, orientation letters, scale bar, slice position, colour bars with units and
a legend of the outlines; titles name the level and the input file, never patient data.
"""

from __future__ import annotations

import math

from osteoimaging.case.pipeline import CaseResult, LevelResult
from osteoimaging.maps import map_info
from osteoimaging.volume import Volume

#: Maps drawn as sub-region grids (key, name in titles).
SUBREGION_FIGURES = (("focal_bmc_loss", "focal BMC loss"), ("bmd", "BMD"))
#: Measures charted across levels: (row key, label, units or None = the BMD units).
BAR_CHARTS = (
    ("focal_bmc_loss_mm", "Focal BMC loss", "mm"),
    ("focal_bmd_loss", "Focal BMD loss", "fraction"),
    ("intercept_width_mm", "Intercept width", "mm"),
    ("trabecular_bmd", "Trabecular BMD", None),
)


def _title(level: LevelResult, input_name: str, what: str) -> str:
    return " - ".join(t for t in (level.name, input_name, what) if t)


def overlay_png(level: LevelResult, ct: Volume, input_name: str = "") -> bytes:
    """CT slices through the body (planes of the aligned analysis grid) with the focal BMC
    loss map in colour, the body and the ROI outlined."""
    from osteoimaging.render import Outline, Overlay, png_bytes, slice_figure

    focal = level.focal
    info = map_info("focal_bmc_loss")
    erosion = focal.parameters.erosion_mm
    figure = slice_figure(
        ct,
        overlays=[
            Overlay(
                focal.maps["focal_bmc_loss"],
                info.label,
                info.units,
                cmap="magma",
                clear_below=0.0,
            )
        ],
        outlines=[
            Outline(level.body, "vertebral body"),
            Outline(focal.roi, f"ROI (vertebral body eroded {erosion:g} mm)"),
        ],
        planes="volume",
        grid=focal.roi,
        window=(400.0, 1500.0) if level.row["bmd_units"] == "HU" else (300.0, 1200.0),
        window_units="HU" if ct.metadata.get("units", "HU") == "HU" else "",
        title=_title(level, input_name, info.label),
    )
    return png_bytes(figure.image)


def subregion_pngs(level: LevelResult, bmd_units: str) -> list[tuple[str, str, bytes]]:
    """(map key, title, PNG) of each sub-region grid of :data:`SUBREGION_FIGURES`."""
    from osteoimaging.render import png_bytes
    from osteoimaging.subregions import subregion_image

    out = []
    for key, text in SUBREGION_FIGURES:
        units = bmd_units if key == "bmd" else level.focal.maps[key].metadata.get("units", "")
        title = f"{level.name}: {text} by sub-region ({units})"
        image = subregion_image(level.subregions, key, title=title, units=units)
        out.append((key, title, png_bytes(image)))
    return out


def bar_chart_pngs(case: CaseResult) -> list[tuple[str, bytes]]:
    """(title, PNG) of each measure across the case's levels (two levels or more); levels
    with flags of their own are marked with the codes (case-wide flags, such as a coarse
    scan, hold for every bar and are stated once in the report)."""
    from osteoimaging.render import bar_chart, png_bytes

    if len(case.levels) < 2:
        return []
    names = [level.name for level in case.levels]
    flags = [
        "; ".join(dict.fromkeys(f.code for f in level.flags if f not in case.flags)) or None
        for level in case.levels
    ]
    out = []
    for key, label, units in BAR_CHARTS:
        units = units or case.density.units
        values = [level.row[key] for level in case.levels]
        values = [None if v is None or not math.isfinite(v) else v for v in values]
        title = f"{label} by level ({units})"
        image = bar_chart(names, values, flags=flags, title=title, label=label, units=units)
        out.append((title, png_bytes(image)))
    return out
