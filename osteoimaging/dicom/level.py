"""What the DICOM writers need of one vertebral level: masks, maps, values, flags."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from osteoimaging.dicom.codes import normalise_level
from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

if TYPE_CHECKING:
    from osteoimaging.focal.pipeline import FocalResult

# results.json keys of a focal measurement → (measurement name, unit or None = from the
# result's bmd_units).
FOCAL_VALUES = {
    "trabecular_bmd_mg_cm3": ("trabecular_bmd", None),
    "focal_bmc_loss_mm": ("focal_bmc_loss", "mm"),
    "focal_bmd_loss": ("focal_bmd_loss", "{ratio}"),
    "intercept_width_mm": ("intercept_width", "mm"),
    "void_coverage": ("void_coverage", "{ratio}"),
    "roi_volume_ml": ("roi_volume", "mL"),
}
FOCAL_MAPS = ("focal_bmc_loss", "focal_bmd_loss", "intercept_width", "bmd")
BODY_ALGORITHMS = ("MANUAL", "SEMIAUTOMATIC", "AUTOMATIC")


@dataclass
class LevelOutputs:
    """One vertebral level for :func:`osteoimaging.dicom.write_case_dicom`.

    * ``level``: ``"T12"``, ``"L1"`` … (C1–L5);
    * ``body``, ``roi``: boolean masks on the source CT grid (use
      :func:`osteoimaging.dicom.roi_on_ct_grid` for an ROI from the analysis grid);
    * ``maps``: name → Volume on any grid in the CT's frame of reference, with
      ``metadata["units"]`` (names: focal_bmc_loss, focal_bmd_loss, intercept_width, bmd,
      void_coverage; NaN outside the ROI);
    * ``measurements``: name → (value, unit), e.g. ``{"focal_bmc_loss": (0.41, "mm")}``;
      NaN is written as "Not a number" (DCM 114000), not as a number;
    * ``flags``: quality flags (free text, no patient data);
    * ``calibration``, ``parameters``: recorded in the SR's algorithm identification;
    * ``body_algorithm``: how the body was segmented (MANUAL, SEMIAUTOMATIC, AUTOMATIC)
      and ``body_algorithm_name`` (e.g. "GrowCut"; ignored for MANUAL).
    """

    level: str
    body: Volume
    roi: Volume
    maps: dict[str, Volume] = field(default_factory=dict)
    measurements: dict[str, tuple[float, str]] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    calibration: str = "none"
    parameters: dict[str, Any] = field(default_factory=dict)
    body_algorithm: str = "SEMIAUTOMATIC"
    body_algorithm_name: str = "GrowCut"

    def __post_init__(self) -> None:
        self.level = normalise_level(self.level)
        self.body_algorithm = str(self.body_algorithm).upper()
        if self.body_algorithm not in BODY_ALGORITHMS:
            raise InputError(
                f"{self.level}: body_algorithm must be one of {', '.join(BODY_ALGORITHMS)}"
            )
        for name, (value, unit) in self.measurements.items():
            if not isinstance(value, int | float | np.floating | np.integer) or not isinstance(
                unit, str
            ):
                raise InputError(f"{self.level}: measurement {name!r} must be (number, unit)")
        for name, volume in self.maps.items():
            if not isinstance(volume, Volume) or "units" not in volume.metadata:
                raise InputError(f"{self.level}: map {name!r} must be a Volume with units")


def _calibration_text(result: FocalResult) -> str:
    cal = result.calibration
    if cal.is_identity:
        return "none (values in HU)"
    return f"BMD = {cal.slope:g} × HU + {cal.intercept:g} mg/cm3 (source: {cal.source})"


def level_from_focal(
    level: str,
    result: FocalResult,
    body: Volume,
    *,
    flags: list[str] | tuple[str, ...] = (),
    body_algorithm: str = "SEMIAUTOMATIC",
    body_algorithm_name: str = "GrowCut",
) -> LevelOutputs:
    """A :class:`LevelOutputs` from a focal measurement and the body mask on the CT grid.

    The ROI (analysis grid) is resampled to the CT grid by nearest neighbour
    (:func:`~osteoimaging.dicom.seg.roi_on_ct_grid`); maps keep their analysis grid.
    """
    from osteoimaging.dicom.seg import roi_on_ct_grid

    values = result.values
    bmd_units = str(values.get("bmd_units", "mg/cm3 HA"))
    measurements = {}
    for key, (name, unit) in FOCAL_VALUES.items():
        if key in values:
            value = float(values[key]) if values[key] is not None else math.nan
            measurements[name] = (value, bmd_units if unit is None else unit)
    maps = {name: result.maps[name] for name in FOCAL_MAPS if name in result.maps}
    return LevelOutputs(
        level=level,
        body=body,
        roi=roi_on_ct_grid(result.roi, body),
        maps=maps,
        measurements=measurements,
        flags=list(flags),
        calibration=_calibration_text(result),
        parameters=result.parameters.to_dict(),
        body_algorithm=body_algorithm,
        body_algorithm_name=body_algorithm_name,
    )
