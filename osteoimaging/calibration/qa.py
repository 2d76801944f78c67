"""Quality gate of a phantom calibration fit: warn about, or refuse, poor fits.

A phantom fit's residuals should be a few mg/cm³: they come from the CT-number noise of the
insert ROIs (well under 1 HU for ROIs of hundreds of voxels), the certificate's tolerance and
small scanner non-linearity. Large residuals mean something else: inserts in the wrong order, an
ROI on the wrong insert or on its wall, beam hardening, or the wrong certificate values. The
thresholds, in the phantom's density units (mg/cm³ HA or K2HPO4):

* **warning** — an insert more than :data:`RESIDUAL_WARN` = 5 mg/cm³ from the fitted line. The
  ACR CT accreditation phantom criteria accept a water CT number within 0 ± 7 HU (ACR CT
  Accreditation Program, phantom testing; ACR Computed Tomography Quality Control Manual, 2017):
  at the 0.7–1 mg/cm³ per HU of bone-mineral calibrations at 120 kVp that is about ± 5 mg/cm³,
  so a larger residual is more than a scanner within its tolerance explains. Also a warning:
  fewer than 3 distinct densities (a line through 2 points has no residual: nothing checks it).
* **refused** — RMSE above :data:`RMSE_REFUSE` = 10 mg/cm³, or r² below :data:`R2_REFUSE` =
  0.99. Spinal QCT is read against 80 and 120 mg/cm³ (osteoporosis below 80, low bone mass
  80–120: ACR–SPR–SSR Practice Parameter for the Performance of Quantitative Computed Tomography
  Bone Mineral Density, 2018); an RMSE of 10 mg/cm³ is a quarter of that 40 mg/cm³ band, enough
  to move a patient across a category by calibration error alone. r² < 0.99 leaves more than 1%
  of the inserts' density variance unexplained by the line: the relation is not the linear one
  the calibration assumes (Cann & Genant 1980). Issue 13's example (r 0.95, RMSE 52 mg/cm³)
  fails both.

No vendor publishes numeric acceptance limits for the fit itself in the sources available to us
(Mindways' QCT PRO guide gives the model, not limits): these are our choices, documented
here and in ``osteo calibrate --help``. A poor fit can be kept knowingly (``accept_poor=True``,
``osteo calibrate --accept-poor-fit``); the verdict is stored in the profile and repeated as a
warning whenever the profile is loaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from osteoimaging.calibration.fit import CalibrationFit

RESIDUAL_WARN = 5.0
RMSE_REFUSE = 10.0
R2_REFUSE = 0.99
OK, WARNING, POOR = "ok", "warning", "poor"


@dataclass(frozen=True)
class FitQuality:
    """The gate's verdict on one fit (``status`` ok / warning / poor) and its numbers."""

    status: str
    reasons: tuple[str, ...]
    r2: float
    rmse: float
    max_abs_residual: float
    n_points: int
    n_densities: int

    def to_dict(self) -> dict:
        return {**asdict(self), "reasons": list(self.reasons)}


def fit_quality(fit: CalibrationFit, densities) -> FitQuality:
    """Check ``fit`` (residuals in density units) of the inserts' known ``densities``."""
    residuals = np.asarray(fit.residuals, dtype=float)
    n_densities = int(np.unique(np.asarray(densities, dtype=float)).size)
    r2 = float(fit.r) ** 2
    rmse = float(fit.rmse)
    worst = float(np.max(np.abs(residuals))) if residuals.size else 0.0
    poor, warn = [], []
    if rmse > RMSE_REFUSE:
        poor.append(f"RMSE {rmse:.3g} mg/cm³ > {RMSE_REFUSE:g}")
    if r2 < R2_REFUSE:
        poor.append(f"r² {r2:.4f} < {R2_REFUSE:g} (r = {fit.r:.4f})")
    if worst > RESIDUAL_WARN:
        warn.append(f"an insert lies {worst:.3g} mg/cm³ from the line (> {RESIDUAL_WARN:g})")
    if n_densities < 3:
        warn.append(f"only {n_densities} distinct densities: the line's linearity is unchecked")
    status = POOR if poor else WARNING if warn else OK
    return FitQuality(status, tuple(poor + warn), r2, rmse, worst, fit.n_points, n_densities)
