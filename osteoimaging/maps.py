"""The catalogue of result maps: one entry per map the focal measurement produces.

Every consumer — the NRRD writer, the results table, the figures, the Slicer display
(:mod:`osteoimaging.mrml.maps`), DICOM Parametric Maps — reads names, units and display
ranges from here, so a map is described once.

Units: ``units`` is the text people read, ``ucum`` the Unified Code for Units of Measure
code DICOM and Slicer store (Schadow G, McDonald CJ, *The Unified Code for Units of
Measure*, Regenstrief Institute; ``{ratio}`` and ``{count}`` are UCUM annotations of the
dimensionless unit 1). The BMD map's units follow the density scale of the case
(:class:`osteoimaging.case.density.DensityScale`): HU when uncalibrated, mg/cm³ of the
calibration material otherwise.

Display ranges are display choices, not results: chosen to span the values the focal
measurement gives on vertebral bodies, fixed so that maps of different vertebrae and
patients are comparable at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MapInfo:
    """One map: key, human label, units (text, UCUM), colour map and display range."""

    key: str
    label: str
    units: str
    ucum: str
    colormap: str
    display_min: float
    display_max: float
    #: Values below this (and NaN) are transparent over the CT.
    threshold: float
    label_format: str = "%.1f"
    #: Part of the results table (ROI and sub-region means).
    in_table: bool = True


MAPS: dict[str, MapInfo] = {
    m.key: m
    for m in (
        MapInfo("focal_bmc_loss", "Focal BMC loss", "mm", "mm", "inferno", 0.0, 5.0, 1e-6),
        MapInfo(
            "focal_bmd_loss",
            "Focal BMD loss",
            "fraction",
            "{ratio}",
            "inferno",
            0.5,
            1.0,
            1e-6,
            "%.2f",
        ),
        MapInfo("intercept_width", "Intercept width", "mm", "mm", "inferno", 0.0, 6.0, 1e-6),
        MapInfo(
            "coverage",
            "Void coverage",
            "orientations",
            "{count}",
            "inferno",
            0.0,
            15.0,
            0.5,
            "%.0f",
            in_table=False,
        ),
        MapInfo("bmd", "BMD", "mg/cm³ HA", "mg/cm3", "viridis", 0.0, 300.0, -1e6, "%.0f"),
        # Screening (osteoimaging.screening): Grad-CAM min–max scaled per case (0 = no
        # evidence, 1 = the map's maximum); the lowest 5 % transparent over the CT.
        MapInfo(
            "gradcam",
            "Grad-CAM",
            "relative",
            "1",
            "inferno",
            0.0,
            1.0,
            0.05,
            "%.1f",
            in_table=False,
        ),
    )
}
#: The maps of the focal measurement (every map but the screening's Grad-CAM).
MAP_KEYS: tuple[str, ...] = tuple(k for k in MAPS if k != "gradcam")
#: Maps whose ROI and sub-region means go into the results table.
TABLE_MAPS: tuple[str, ...] = tuple(k for k, m in MAPS.items() if m.in_table)

#: Units text → UCUM code, for every units text a map may carry in its metadata.
UCUM = {
    "mm": "mm",
    "fraction": "{ratio}",
    "orientations": "{count}",
    "HU": "[hnsf'U]",
    "mg/cm³ HA": "mg/cm3",
    "mg/cm³ K2HPO4": "mg/cm3",
}


def map_info(key: str) -> MapInfo:
    """The catalogue entry of ``key``; unknown keys get a plain viridis 0–1 entry."""
    return MAPS.get(key, MapInfo(key, key, "", "1", "viridis", 0.0, 1.0, -1e30, "%.2f"))


def ucum_code(units: str) -> str:
    """The UCUM code of a units text (``"1"`` when unknown)."""
    return UCUM.get(units, "1")
