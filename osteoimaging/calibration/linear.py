"""The linear HU → BMD calibration every measurement applies.

BMD [mg/cm³ HA] = slope × HU + intercept, the standard QCT calibration model
(Cann & Genant, J Comput Assist Tomogr 1980;4:493–500; Li et al., JOR Spine 2022 used
"an asynchronous calibration"). ``source`` records where the numbers came from and is
written into every output: ``"none"`` (identity, values stay in HU), ``"manual"``
(slope/intercept given by the user), ``"profile:<name>"``, ``"phantom"``, ``"internal"``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LinearCalibration:
    """BMD = slope × HU + intercept, with provenance."""

    slope: float = 1.0
    intercept: float = 0.0
    source: str = "none"
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.slope) and math.isfinite(self.intercept)):
            raise ValueError("calibration slope and intercept must be finite")
        if self.slope <= 0:
            raise ValueError(f"calibration slope must be positive, got {self.slope}")

    @classmethod
    def identity(cls) -> LinearCalibration:
        """No calibration: values stay in HU; outputs say ``"calibration": "none"``."""
        return cls(1.0, 0.0, "none")

    @classmethod
    def manual(cls, slope: float, intercept: float) -> LinearCalibration:
        return cls(float(slope), float(intercept), "manual")

    @property
    def is_identity(self) -> bool:
        return self.source == "none"

    def apply(self, hu: np.ndarray | float) -> np.ndarray | float:
        """BMD from HU (float32 for arrays)."""
        if isinstance(hu, np.ndarray):
            return (self.slope * hu.astype(np.float32, copy=False) + self.intercept).astype(
                np.float32, copy=False
            )
        return self.slope * float(hu) + self.intercept

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
