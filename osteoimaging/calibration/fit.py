"""Phantom calibration fits: HU of the inserts against their known densities.

Linear model (Cann & Genant, J Comput Assist Tomogr 1980;4:493–500): the scanner's CT
number of an insert is a linear function of its mineral density, HU = a·ρ + b. The
measured quantity (HU) carries the noise, so HU is regressed on ρ by ordinary least
squares and the line is inverted into the form every measurement applies,
BMD = slope·HU + intercept with slope = 1/a, intercept = −b/a (as Bonelab's Ogo does,
``ogo/calibration/standard_calibration.py``). ``r`` is Pearson's correlation of
(ρ, HU); residuals are reported in density units, BMD_fit(HU_i) − ρ_i.

Two-component model of the Mindways Model 3 phantom (QCT PRO User Guide, Mindways
Software, v5.0; implemented the same way in Ogo's ``MindwaysCalibration``): each rod
holds K2HPO4 at density ρ_K *and* a water-equivalent density ρ_w, so

    HU − ρ_w = σ_ref·ρ_K + β_ref,   σ_CT = σ_ref − 0.2174,   β_CT = β_ref + 999.6,

and HU = σ_CT·ρ_K + β_CT for bone, i.e. slope = 1/σ_CT, intercept = −β_CT/σ_CT
(densities in mg/cm³ K2HPO4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.errors import InputError

#: Mindways water-correction constants (QCT PRO User Guide v5.0; Ogo).
MINDWAYS_SIGMA_OFFSET = 0.2174
MINDWAYS_BETA_OFFSET = 999.6


@dataclass
class CalibrationFit:
    """The result of a calibration fit, in the form BMD = slope·HU + intercept."""

    slope: float
    intercept: float
    r: float
    residuals: list[float]
    model: str = "linear"
    n_points: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rmse(self) -> float:
        """Root-mean-square residual (density units)."""
        return float(np.sqrt(np.mean(np.square(self.residuals)))) if self.residuals else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rmse": self.rmse}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalibrationFit:
        keys = {"slope", "intercept", "r", "residuals", "model", "n_points", "extra"}
        return cls(**{k: v for k, v in data.items() if k in keys})

    def calibration(self, source: str, **details: Any) -> LinearCalibration:
        """The :class:`LinearCalibration` every measurement applies."""
        return LinearCalibration(
            float(self.slope), float(self.intercept), source, {"fit": self.to_dict(), **details}
        )


def _check_points(
    density: np.ndarray, response: np.ndarray, what: str, path: str | None
) -> np.ndarray:
    """Fail on < 2 points, NaN, repeated densities, or a response not increasing with density."""
    if density.size != response.size:
        raise InputError(
            f"{density.size} densities but {response.size} measured values; one per insert", path
        )
    if density.size < 2:
        raise InputError(f"calibration needs at least 2 inserts, got {density.size}", path)
    if not (np.all(np.isfinite(density)) and np.all(np.isfinite(response))):
        raise InputError("calibration densities and measured HU must be finite numbers", path)
    order = np.argsort(density, kind="stable")
    d, h = density[order], response[order]
    if np.any(np.diff(d) <= 0):
        raise InputError("two inserts have the same density; each insert must differ", path)
    if np.any(np.diff(h) <= 0):
        pairs = ", ".join(f"{a:g}→{b:.1f}" for a, b in zip(d, h, strict=True))
        raise InputError(
            f"non-increasing density/HU relation ({what}: {pairs}); check the insert order "
            "and the insert masks",
            path,
        )
    return order


def _regress(density: np.ndarray, hu: np.ndarray) -> tuple[float, float, float]:
    """OLS of HU on density: (a, b, r) with HU = a·ρ + b."""
    a, b = np.polyfit(density, hu, 1)
    if np.unique(density).size == 2 and density.size == 2:
        r = 1.0
    else:
        r = float(np.corrcoef(density, hu)[0, 1])
    return float(a), float(b), r


def fit_linear(
    densities: Sequence[float], hu: Sequence[float], *, path: str | None = None
) -> CalibrationFit:
    """Linear phantom fit (module docstring): known densities, measured mean HU per insert."""
    return fit_pooled([(densities, hu)], path=path)


def fit_pooled(
    scans: Sequence[tuple[Sequence[float], Sequence[float]]], *, path: str | None = None
) -> CalibrationFit:
    """One linear fit through the inserts of several phantom scans (densities, HU) pooled.

    Each scan is checked on its own (≥ 2 inserts, HU increasing with density); the line is
    then fitted to all points together, so repeated densities across scans are expected.
    """
    if not scans:
        raise InputError("no phantom scan given", path)
    for rho_s, mu_s in scans:
        _check_points(
            np.asarray(rho_s, dtype=float).ravel(),
            np.asarray(mu_s, dtype=float).ravel(),
            "density→HU",
            path,
        )
    rho = np.concatenate([np.asarray(s[0], dtype=float).ravel() for s in scans])
    mu = np.concatenate([np.asarray(s[1], dtype=float).ravel() for s in scans])
    a, b, r = _regress(rho, mu)
    slope, intercept = 1.0 / a, -b / a
    residuals = (slope * mu + intercept - rho).tolist()
    return CalibrationFit(slope, intercept, r, residuals, "linear", int(rho.size))


def fit_mindways(
    k2hpo4: Sequence[float],
    water: Sequence[float],
    hu: Sequence[float],
    *,
    path: str | None = None,
) -> CalibrationFit:
    """Mindways Model 3 two-component fit (module docstring); densities in mg/cm³."""
    return fit_mindways_pooled([(k2hpo4, water, hu)], path=path)


def fit_mindways_pooled(
    scans: Sequence[tuple[Sequence[float], Sequence[float], Sequence[float]]],
    *,
    path: str | None = None,
) -> CalibrationFit:
    """Mindways fit through the rods of several scans (K2HPO4, water, HU per scan) pooled."""
    if not scans:
        raise InputError("no phantom scan given", path)
    ks, lhss = [], []
    for k2hpo4, water, hu in scans:
        rho_k = np.asarray(k2hpo4, dtype=float).ravel()
        rho_w = np.asarray(water, dtype=float).ravel()
        mu = np.asarray(hu, dtype=float).ravel()
        if rho_w.size != rho_k.size:
            raise InputError("Mindways calibration needs one water density per rod", path)
        if mu.size != rho_k.size:
            raise InputError(f"{rho_k.size} rods but {mu.size} measured values; one per rod", path)
        lhs = mu - rho_w
        _check_points(rho_k, lhs, "K2HPO4→HU−water", path)
        ks.append(rho_k)
        lhss.append(lhs)
    rho_k, lhs = np.concatenate(ks), np.concatenate(lhss)
    sigma_ref, beta_ref, r = _regress(rho_k, lhs)
    sigma_ct = sigma_ref - MINDWAYS_SIGMA_OFFSET
    beta_ct = beta_ref + MINDWAYS_BETA_OFFSET
    if sigma_ct <= 0:
        raise InputError(
            f"Mindways fit gives a non-positive CT slope σ_CT = {sigma_ct:.4f}; check the rods",
            path,
        )
    slope, intercept = 1.0 / sigma_ct, -beta_ct / sigma_ct
    # Residuals in K2HPO4 units of the reference relation (HU − ρ_w) = σ_ref ρ_K + β_ref.
    residuals = ((lhs - beta_ref) / sigma_ref - rho_k).tolist()
    extra = {"sigma_ref": sigma_ref, "beta_ref": beta_ref, "sigma_ct": sigma_ct, "beta_ct": beta_ct}
    return CalibrationFit(slope, intercept, r, residuals, "mindways", int(rho_k.size), extra)
