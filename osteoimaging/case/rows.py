"""The one results-row schema: one row per measured vertebra, in every front end.

``osteo focal`` writes these rows to ``results.csv``/``results.json``, the batch adds
``case_id`` and the covariates in front, the Slicer module and the browser station show
them in their table. Columns, in order:

* identification: ``level``, ``source`` (how the body was obtained);
* quality: ``qc`` (``ok``/``flagged``), ``qc_flags`` (flag codes; their sentences are in
  ``results.json`` and the report — :mod:`osteoimaging.case.quality`);
* the ROI means (Li C et al., JOR Spine 2022;5:e1195): ``focal_bmc_loss_mm``,
  ``focal_bmd_loss``, ``intercept_width_mm``, ``trabecular_bmd`` in ``bmd_units``
  (``HU`` when uncalibrated, else ``mg/cm³ HA`` or ``mg/cm³ K2HPO4``), ``void_coverage``;
* sizes: ``roi_volume_ml``, ``roi_voxels``, ``body_volume_ml``;
* how: ``calibration`` (source), ``alignment`` (method), ``tilt_deg``, ``scan_spacing_mm``;
* sub-region means ``<region>:<map>`` (:mod:`osteoimaging.subregions`; maps of
  :data:`osteoimaging.maps.TABLE_MAPS`).

Numbers stay full-precision floats (no rounding): the same case gives bit-identical rows
in every front end.
"""

from __future__ import annotations

from typing import Any

from osteoimaging.alignment import Alignment
from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.case.density import DensityScale
from osteoimaging.case.quality import Flag, mask_volume_ml, qc_columns
from osteoimaging.maps import TABLE_MAPS
from osteoimaging.volume import Volume, format_triplet

#: The fixed leading columns of a row (sub-region columns follow).
COLUMNS = (
    "level",
    "source",
    "qc",
    "qc_flags",
    "focal_bmc_loss_mm",
    "focal_bmd_loss",
    "intercept_width_mm",
    "trabecular_bmd",
    "bmd_units",
    "void_coverage",
    "roi_volume_ml",
    "roi_voxels",
    "body_volume_ml",
    "calibration",
    "alignment",
    "tilt_deg",
    "scan_spacing_mm",
)
#: The ROI means as the focal measurement names them.
MEASURES = (
    "focal_bmc_loss_mm",
    "focal_bmd_loss",
    "intercept_width_mm",
    "trabecular_bmd",
    "void_coverage",
    "roi_volume_ml",
    "roi_voxels",
)


def subregion_columns(subregions: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{"<region>:<map>": mean}`` for every sub-region (not the whole ROI)."""
    return {
        f"{region}:{key}": means[key]
        for region, means in subregions.items()
        if region != "roi"
        for key in TABLE_MAPS
        if key in means
    }


def level_row(
    name: str,
    source: str,
    body: Volume,
    alignment: Alignment,
    calibration: LinearCalibration,
    density: DensityScale,
    values: dict[str, Any],
    subregions: dict[str, dict[str, float]],
    flags: list[Flag],
    ct: Volume,
) -> dict[str, Any]:
    """The results row of one vertebra (columns: the module docstring)."""
    row: dict[str, Any] = {"level": name, "source": source, **qc_columns(flags)}
    row.update({key: values[key] for key in MEASURES})
    row["bmd_units"] = density.units
    row["body_volume_ml"] = mask_volume_ml(body)
    row["calibration"] = calibration.source
    row["alignment"] = alignment.method
    row["tilt_deg"] = float(alignment.tilt_deg)
    row["scan_spacing_mm"] = format_triplet(ct.spacing)
    row = {key: row[key] for key in COLUMNS}
    row.update(subregion_columns(subregions))
    return row
