"""HU → BMD calibration (mg/cm³ hydroxyapatite, or K2HPO4 for Mindways phantoms).

* :mod:`.linear` — the :class:`LinearCalibration` every measurement applies;
* :mod:`.fit` — phantom fits (linear, Mindways two-component, pooled scans);
* :mod:`.presets` — known insert densities of common phantoms (JSON package data);
* :mod:`.inserts` — measuring the inserts in a CT (masks, label map, centres + radius);
* :mod:`.profile` — named calibration profiles saved as JSON ("asynchronous" use);
* :mod:`.internal` — phantomless calibration from reference tissues (less accurate).
"""

from osteoimaging.calibration.fit import (
    CalibrationFit,
    fit_linear,
    fit_mindways,
    fit_mindways_pooled,
    fit_pooled,
)
from osteoimaging.calibration.internal import NOMINAL_TISSUE_HU, internal_calibration
from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.calibration.presets import PhantomPreset, list_presets, load_preset
from osteoimaging.calibration.profile import (
    CalibrationProfile,
    fit_profile,
    load_profile,
    profile_from_preset,
    save_profile,
)

__all__ = [
    "NOMINAL_TISSUE_HU",
    "CalibrationFit",
    "CalibrationProfile",
    "LinearCalibration",
    "PhantomPreset",
    "fit_linear",
    "fit_mindways",
    "fit_mindways_pooled",
    "fit_pooled",
    "fit_profile",
    "internal_calibration",
    "list_presets",
    "load_preset",
    "load_profile",
    "profile_from_preset",
    "save_profile",
]
