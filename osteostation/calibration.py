"""The reader's calibration choice → what :func:`run_focal` takes.

Three choices, as in ``osteo focal``: none (values stay in HU), manual
(BMD = slope × HU + intercept in a declared material, HA by default), or a calibration
profile file (``osteo calibrate``) under the data folder, which carries its own material.
The density logic itself (:func:`osteoimaging.case.resolve_density`) stays in the case
pipeline; this only builds its inputs and refuses incomplete ones early.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osteoimaging.case.density import check_material
from osteoimaging.errors import InputError

KINDS = ("none", "manual", "profile")


@dataclass(frozen=True)
class CalibrationChoice:
    """The calibration for :func:`osteoimaging.mrml.focal_workflow.run_focal`."""

    calibration: Any = None
    material: str | None = None
    text: str = "none (HU)"


def _number(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"calibration {name} '{value}' is not a number") from None
    if not math.isfinite(number):
        raise InputError(f"calibration {name} must be finite")
    return number


def calibration_choice(
    kind: str,
    slope: Any = None,
    intercept: Any = None,
    material: str | None = None,
    profile_path: Path | None = None,
) -> CalibrationChoice:
    """The calibration of ``kind`` (none/manual/profile); InputError for bad values."""
    from osteoimaging.calibration.linear import LinearCalibration
    from osteoimaging.mrml.focal_workflow import profile_calibration

    if kind not in KINDS:
        raise InputError(f"calibration must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "none":
        return CalibrationChoice()
    if kind == "manual":
        if slope in (None, "") or intercept in (None, ""):
            raise InputError("manual calibration: give both the slope and the intercept")
        name = check_material(material or "HA")
        try:
            fit = LinearCalibration.manual(_number(slope, "slope"), _number(intercept, "intercept"))
        except ValueError as exc:
            raise InputError(f"bad calibration: {exc}") from exc
        text = f"manual: BMD = {fit.slope:g} × HU + {fit.intercept:g} mg/cm³ {name}"
        return CalibrationChoice(fit, name, text)
    if profile_path is None:
        raise InputError("choose a calibration profile")
    fit = profile_calibration(profile_path)
    return CalibrationChoice(fit, None, f"profile {profile_path.name}")
