"""Named calibration profiles: a phantom fit saved as JSON and applied to other scans.

The paper calibrated "asynchronously" (Li et al., JOR Spine 2022;5:e1195): the phantom
is scanned separately with the same protocol and its fit is applied to the patients'
scans. A profile records the protocol (scanner, kVp, kernel, date), the phantom and its
inserts, the measured HU of every phantom scan (several scans are pooled into one fit),
and the fit. JSON layout (``format`` = ``osteoimaging-calibration-profile``, version 1)::

    {"format": ..., "version": 1, "name": ..., "scanner": ..., "kvp": ..., "kernel": ...,
     "date": ..., "phantom": ..., "material": "HA", "model": "linear", "accuracy": ...,
     "inserts": [{"name": ..., "density": ..., ["water_density": ...]}],
     "scans": [[HU per insert], ...], "fit": {"slope", "intercept", "r", "residuals", ...},
     "qa": {"status": "ok" | "warning" | "poor", "reasons": [...], "r2", "rmse", ...}}

Phantom fits pass the quality gate of :mod:`osteoimaging.calibration.qa`: a poor fit is refused
unless accepted explicitly, warnings are logged; the verdict is stored under ``qa`` and logged
again whenever a profile that is not ``ok`` is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osteoimaging.atomic import write_json
from osteoimaging.calibration.fit import CalibrationFit, fit_mindways_pooled, fit_pooled
from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.calibration.presets import PhantomPreset
from osteoimaging.calibration.qa import OK, POOR, fit_quality
from osteoimaging.errors import InputError
from osteoimaging.jsondoc import read_json_document
from osteoimaging.log import logger

PROFILE_FORMAT = "osteoimaging-calibration-profile"
PROFILE_VERSION = 1


@dataclass
class CalibrationProfile:
    """A named calibration fit with its protocol and the data it came from."""

    name: str
    fit: CalibrationFit
    inserts: list[dict[str, Any]]
    scans: list[list[float]]
    phantom: str = "custom"
    material: str = "HA"
    model: str = "linear"
    scanner: str = ""
    kvp: float | None = None
    kernel: str = ""
    date: str = ""
    accuracy: str = "phantom"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    qa: dict[str, Any] = field(default_factory=dict)

    def calibration(self) -> LinearCalibration:
        """The linear HU → BMD calibration, with ``source = "profile:<name>"``."""
        return self.fit.calibration(
            f"profile:{self.name}",
            phantom=self.phantom,
            material=self.material,
            accuracy=self.accuracy,
            scanner=self.scanner,
            kvp=self.kvp,
            kernel=self.kernel,
            date=self.date,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "name": self.name,
            "scanner": self.scanner,
            "kvp": self.kvp,
            "kernel": self.kernel,
            "date": self.date,
            "phantom": self.phantom,
            "material": self.material,
            "model": self.model,
            "accuracy": self.accuracy,
            "notes": self.notes,
            "inserts": self.inserts,
            "scans": self.scans,
            "fit": self.fit.to_dict(),
            "qa": self.qa,
            "extra": self.extra,
        }


def fit_profile(
    name: str,
    inserts: Sequence[dict[str, Any]],
    scans: Sequence[Sequence[float]],
    *,
    model: str = "linear",
    accept_poor: bool = False,
    **fields: Any,
) -> CalibrationProfile:
    """Fit the inserts' known densities to the measured HU of one or more scans (pooled).

    The fit passes :func:`osteoimaging.calibration.qa.fit_quality`: a poor one raises
    InputError (with the numbers and what to check) unless ``accept_poor``; warnings are logged.
    """
    inserts = [dict(i) for i in inserts]
    densities = [float(i["density"]) for i in inserts]
    scans = [[float(v) for v in s] for s in scans]
    for n, s in enumerate(scans):
        if len(s) != len(densities):
            raise InputError(
                f"scan {n + 1} has {len(s)} insert values but the phantom has "
                f"{len(densities)} inserts"
            )
    if model == "mindways":
        water = [float(i["water_density"]) for i in inserts]
        fit = fit_mindways_pooled([(densities, water, s) for s in scans])
    elif model == "linear":
        fit = fit_pooled([(densities, s) for s in scans])
    else:
        raise InputError(f"unknown calibration model '{model}' (linear or mindways)")
    quality = fit_quality(fit, densities)
    summary = (
        f"phantom fit r = {fit.r:.4f} (r² {quality.r2:.4f}), RMSE {quality.rmse:.3g} mg/cm³, "
        f"largest residual {quality.max_abs_residual:.3g} mg/cm³ over {fit.n_points} points"
    )
    if quality.status == POOR and not accept_poor:
        raise InputError(
            f"poor calibration fit, refused: {summary}; {'; '.join(quality.reasons)}. Check the "
            "insert order and ROIs, the certificate densities (and water densities of a Mindways "
            "phantom) and the scan; keep it anyway with --accept-poor-fit"
        )
    qa = quality.to_dict()
    if quality.status != OK:
        logger.warning(
            "calibration %s: %s — %s", quality.status, summary, "; ".join(quality.reasons)
        )
        if quality.status == POOR:
            qa["accepted_by_user"] = True
    return CalibrationProfile(
        name=name, fit=fit, inserts=inserts, scans=scans, model=model, qa=qa, **fields
    )


def profile_from_preset(
    name: str,
    preset: PhantomPreset,
    scans: Sequence[Sequence[float]],
    *,
    densities: Sequence[float] | None = None,
    water_densities: Sequence[float] | None = None,
    accept_poor: bool = False,
    **fields: Any,
) -> CalibrationProfile:
    """Fit a preset phantom, optionally with the certificate's ``densities`` (and, for a
    Mindways phantom, its ``water_densities``: each rod's certificate gives both, so a
    Mindways certificate's K2HPO4 values are refused without its water values)."""
    inserts = [dict(i) for i in preset.inserts]
    for values, key in ((densities, "density"), (water_densities, "water_density")):
        if values is None:
            continue
        if len(values) != len(inserts):
            what = "densities" if key == "density" else "water densities"
            raise InputError(
                f"{len(values)} {what} given but {preset.name} has {len(inserts)} inserts"
            )
        for insert, d in zip(inserts, values, strict=True):
            insert[key] = float(d)
    if preset.model == "mindways" and (densities is None) != (water_densities is None):
        raise InputError(
            f"{preset.name} rods have two certificate values each (K2HPO4 and water-equivalent "
            "density, mg/cm³): give both --densities and --water-densities from your certificate"
        )
    if preset.model != "mindways" and water_densities is not None:
        raise InputError(f"{preset.name} has no water densities (only Mindways phantoms do)")
    return fit_profile(
        name,
        inserts,
        scans,
        model=preset.model,
        accept_poor=accept_poor,
        phantom=preset.name,
        material=preset.material,
        **fields,
    )


def save_profile(profile: CalibrationProfile, path: str | Path) -> Path:
    """Write the profile as JSON (atomically)."""
    return write_json(path, profile.to_dict())


def load_profile(path: str | Path) -> CalibrationProfile:
    """Read a profile written by :func:`save_profile`; clear errors for anything else."""
    path = Path(path)
    data = read_json_document(path, PROFILE_FORMAT, "calibration profile")
    if not isinstance(data.get("fit"), dict):
        kind = type(data.get("fit")).__name__ if "fit" in data else "missing"
        raise InputError(
            f"calibration profile's 'fit' must be an object with slope and intercept ({kind})",
            path,
        )
    try:
        fit = CalibrationFit.from_dict(data["fit"])
        profile = CalibrationProfile(
            name=str(data["name"]),
            fit=fit,
            inserts=list(data.get("inserts", [])),
            scans=[list(s) for s in data.get("scans", [])],
            phantom=data.get("phantom", "custom"),
            material=data.get("material", "HA"),
            model=data.get("model", "linear"),
            scanner=data.get("scanner", ""),
            kvp=data.get("kvp"),
            kernel=data.get("kernel", ""),
            date=data.get("date", ""),
            accuracy=data.get("accuracy", "phantom"),
            notes=data.get("notes", ""),
            extra=data.get("extra", {}),
            qa=data.get("qa") or {},
        )
        profile.calibration()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"calibration profile is incomplete or invalid ({exc})", path) from exc
    if profile.qa.get("status", OK) != OK:
        logger.warning(
            "calibration profile %s: phantom fit %s (%s)",
            profile.name,
            profile.qa["status"],
            "; ".join(profile.qa.get("reasons", [])),
        )
    return profile
