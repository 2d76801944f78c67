"""What the numbers of a case's BMD map mean: HU, or mg/cm³ of a calibration material.

QCT reports volumetric BMD in mg/cm³ of the calibration phantom's material: calcium
hydroxyapatite (HA; e.g. QRM, Siemens Osteo, and Li et al., JOR Spine 2022;5:e1195,
whose 1200 mg/cm³ tissue density is HA) or dipotassium phosphate (K2HPO4; Mindways,
Cann & Genant, J Comput Assist Tomogr 1980;4:493–500). The two scales are not
interchangeable, so the material travels with every number.

The scale of a case follows from what the user declares about the input and the
calibration (:func:`resolve_density`):

==================  ================  ====================================================
input units         calibration       BMD values and their units
==================  ================  ====================================================
HU (default)        none              HU, labelled "HU" (uncalibrated)
HU                  linear fit        mg/cm³ of the calibration's material
mg/cm³ + material   none              the input values, mg/cm³ of the declared material
mg/cm³              any               refused: the input is already calibrated
==================  ================  ====================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.errors import InputError

MATERIALS = ("HA", "K2HPO4")
INPUT_UNITS = ("HU", "mg/cm3")
#: The material of the focal method's tissue density (Li et al. 2022: 1200 mg/cm³ HA).
PAPER_MATERIAL = "HA"


@dataclass(frozen=True)
class DensityScale:
    """The units of BMD values: HU (``material`` None) or mg/cm³ of ``material``."""

    material: str | None

    @property
    def calibrated(self) -> bool:
        return self.material is not None

    @property
    def units(self) -> str:
        """Units text as written into tables and maps: ``HU`` or ``mg/cm³ HA``."""
        return "HU" if self.material is None else f"mg/cm³ {self.material}"

    @property
    def ucum(self) -> str:
        return "[hnsf'U]" if self.material is None else "mg/cm3"


def check_material(material: str | None) -> str | None:
    """The normalised material name (``ha`` → ``HA``), or an InputError."""
    if material is None:
        return None
    name = str(material).strip().upper().replace("K2HP04", "K2HPO4")
    if name not in MATERIALS:
        raise InputError(f"unknown calibration material '{material}' (HA or K2HPO4)")
    return name


def check_input_units(units: str) -> str:
    """``HU`` or ``mg/cm3`` (``mg/cm³``, ``mg/ml`` accepted), or an InputError."""
    text = str(units).strip().replace("³", "3").lower()
    if text == "hu":
        return "HU"
    if text in {"mg/cm3", "mg/ml", "mgcm3"}:
        return "mg/cm3"
    raise InputError(f"unknown input units '{units}' (HU or mg/cm3)")


def resolve_density(
    calibration: LinearCalibration | None,
    input_units: str = "HU",
    material: str | None = None,
) -> tuple[DensityScale, LinearCalibration]:
    """The case's density scale and the calibration to apply (see the module table).

    ``material`` is the declared calibration material: for a manual slope/intercept or
    an input already in mg/cm³. A calibration profile carries its own material
    (``details["material"]``); a different declared material is refused.
    """
    units = check_input_units(input_units)
    declared = check_material(material)
    calibrated = calibration is not None and not calibration.is_identity
    if units == "mg/cm3":
        if calibrated:
            raise InputError(
                "the input is declared in mg/cm³ (already calibrated): a HU → BMD "
                "calibration cannot be applied to it"
            )
        if declared is None:
            raise InputError("an input in mg/cm³ needs its calibration material (HA or K2HPO4)")
        return DensityScale(declared), LinearCalibration.identity()
    if not calibrated:
        if declared is not None:
            raise InputError(f"material {declared} given without a calibration: values stay in HU")
        return DensityScale(None), LinearCalibration.identity()
    assert calibration is not None
    own = check_material(calibration.details.get("material"))
    if own is not None and declared is not None and own != declared:
        raise InputError(f"the calibration '{calibration.source}' is in {own}, not {declared}")
    return DensityScale(own or declared or PAPER_MATERIAL), calibration
