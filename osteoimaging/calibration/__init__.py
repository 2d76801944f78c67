"""HU → BMD calibration (mg/cm³ hydroxyapatite)."""

from osteoimaging.calibration.linear import LinearCalibration

__all__ = ["LinearCalibration"]
