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
    from osteoimaging.case.pipeline import CaseResult, LevelResult

# Row columns of the case pipeline → (measurement name, unit or None = the case's BMD units).
ROW_VALUES = {
    "trabecular_bmd": ("trabecular_bmd", None),
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


def level_outputs(level: LevelResult, case: CaseResult) -> LevelOutputs:
    """A :class:`LevelOutputs` from one level of the case pipeline
    (:func:`osteoimaging.case.measure_case`): its row values (units from the case's
    density scale), body, maps, flags (code and sentence), calibration and parameters.

    The ROI (analysis grid) is resampled to the CT grid by nearest neighbour
    (:func:`~osteoimaging.dicom.seg.roi_on_ct_grid`); maps keep their analysis grid.
    How the body was made: GrowCut from a click is SEMIAUTOMATIC, a label map AUTOMATIC
    (named after its file), a given mask SEMIAUTOMATIC named by its source.
    """
    from osteoimaging.case.report import calibration_text
    from osteoimaging.dicom.seg import roi_on_ct_grid

    units = case.density.units
    measurements = {
        name: (math.nan if level.row[key] is None else float(level.row[key]), unit or units)
        for key, (name, unit) in ROW_VALUES.items()
    }
    source = level.source
    if source.seed_ras is not None:
        algorithm, name = "SEMIAUTOMATIC", "GrowCut (one click)"
    elif source.label is not None:
        algorithm, name = "AUTOMATIC", f"label {source.label} of {case.request.labels_name}"
    else:
        algorithm, name = "SEMIAUTOMATIC", level.row["source"]
    return LevelOutputs(
        level=level.source.level or level.name,
        body=level.body,
        roi=roi_on_ct_grid(level.focal.roi, level.body),
        maps={k: level.focal.maps[k] for k in FOCAL_MAPS if k in level.focal.maps},
        measurements=measurements,
        flags=[str(flag) for flag in level.flags],
        calibration=calibration_text(case.calibration, units),
        parameters=case.request.params.to_dict(),
        body_algorithm=algorithm,
        body_algorithm_name=name[:64],
    )
