"""Phantomless ("internal") calibration from the patient's own reference tissues.

Less accurate than a phantom calibration, and marked so in every output
(``accuracy = "internal (approximate)"``).

Method. Internal calibration uses tissues whose attenuation is known without a phantom
(air, adipose tissue, blood, skeletal muscle) as calibration points; see Michalski AS
et al., "CT-based internal density calibration for opportunistic skeletal assessment
using abdominal CT scans", Med Eng Phys 2020;78:55–63 (air, adipose, blood, muscle and
cortical bone), and Mueller DK et al., "Phantom-less QCT BMD system as screening tool
for osteoporosis without additional radiation", Eur J Radiol 2011;79:375–381 (fat and
muscle). Michalski et al. convert the tissues' HU to linear attenuation and match
tabulated mass attenuation coefficients to find the effective energy; we implement a
simpler two-step linear variant:

1. correct the scanner's CT-number scale with the reference tissues: the measured HU of
   each tissue is fitted to its nominal CT number (least squares, HU_true = a·HU + b);
2. convert corrected HU to BMD with a nominal calibration for the protocol (default
   the identity, BMD ≈ HU, the usual assumption of opportunistic CT; pass a phantom
   profile of the same kVp made on another day or scanner to use its slope).

The nominal CT numbers (air −1000, water 0, fat −100, blood +40, muscle +50 HU) are the
textbook values of unenhanced CT at 120 kVp (e.g. Buzug, *Computed Tomography*,
Springer 2008, ch. 1, Hounsfield scale); override them with your own reference values.
Contrast-enhanced blood must not be used.
"""

from __future__ import annotations

from collections.abc import Mapping

from osteoimaging.calibration.fit import CalibrationFit, fit_linear
from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.calibration.profile import CalibrationProfile
from osteoimaging.errors import InputError

#: Nominal CT numbers of reference tissues, unenhanced CT at 120 kVp (HU).
NOMINAL_TISSUE_HU: dict[str, float] = {
    "air": -1000.0,
    "fat": -100.0,
    "water": 0.0,
    "blood": 40.0,
    "muscle": 50.0,
}

INTERNAL_ACCURACY = "internal (approximate; less accurate than a phantom calibration)"


def internal_calibration(
    measured_hu: Mapping[str, float],
    *,
    nominal_hu: Mapping[str, float] | None = None,
    reference: LinearCalibration | None = None,
    name: str = "internal",
    **fields,
) -> CalibrationProfile:
    """A profile from the mean HU of reference tissues measured in the patient's scan.

    ``measured_hu`` maps tissue names (keys of :data:`NOMINAL_TISSUE_HU` or of
    ``nominal_hu``) to their mean HU; at least two tissues with different nominal values
    are needed. ``reference`` is the nominal HU → BMD conversion (default identity).
    """
    nominal = dict(NOMINAL_TISSUE_HU if nominal_hu is None else nominal_hu)
    unknown = [t for t in measured_hu if t not in nominal]
    if unknown:
        raise InputError(
            f"no nominal CT number for tissue(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(nominal))})"
        )
    tissues = list(measured_hu)
    scale = fit_linear([nominal[t] for t in tissues], [float(measured_hu[t]) for t in tissues])
    ref = reference or LinearCalibration(1.0, 0.0, "nominal")
    slope = ref.slope * scale.slope
    intercept = ref.slope * scale.intercept + ref.intercept
    fit = CalibrationFit(
        slope,
        intercept,
        scale.r,
        [ref.slope * r for r in scale.residuals],
        "internal",
        scale.n_points,
        {
            "hu_scale_slope": scale.slope,
            "hu_scale_intercept": scale.intercept,
            "reference_slope": ref.slope,
            "reference_intercept": ref.intercept,
        },
    )
    inserts = [{"name": t, "nominal_hu": nominal[t], "density": nominal[t]} for t in tissues]
    return CalibrationProfile(
        name=name,
        fit=fit,
        inserts=inserts,
        scans=[[float(measured_hu[t]) for t in tissues]],
        phantom="none (reference tissues)",
        model="internal",
        accuracy=INTERNAL_ACCURACY,
        notes="Phantomless internal calibration; see osteoimaging.calibration.internal.",
        **fields,
    )
