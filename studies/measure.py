"""One focal measurement of a simulated scan, reduced to the case values the experiments use."""

from __future__ import annotations

from typing import Any

from osteoimaging.calibration import LinearCalibration
from osteoimaging.focal import FocalParameters, measure_focal
from osteoimaging.volume import Volume
from studies.cases import FOCAL_KEYS


def focal_values(
    ct: Volume,
    mask: Volume,
    calibration: LinearCalibration,
    params: FocalParameters | None = None,
) -> dict[str, Any]:
    """The case values (``FOCAL_KEYS``) of ``measure_focal`` plus its runtime."""
    result = measure_focal(ct, mask, calibration, params or FocalParameters())
    out = {k: result.values[k] for k in FOCAL_KEYS}
    out["runtime_s"] = result.values["runtime_s"]
    return out
