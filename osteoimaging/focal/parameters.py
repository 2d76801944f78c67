"""Parameters of the focal osteoporosis defect measurement (Li et al., JOR Spine 2022;5:e1195).

Every default is the paper's value or our documented reading of it (``docs/method.md``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from osteoimaging.errors import InputError

AGGREGATIONS = ("local", "line")
MODES = ("2d", "3d")
MASK_RESAMPLING = ("nearest", "distance")
#: Readings of the paper's half level "0.5 × (maxima + minima)" (section 2.3.3); the first
#: is the default. Codes 0, 1, 2, 3 in the kernels (:data:`HALF_LEVEL_CODES`).
HALF_LEVELS = ("each_side", "lower_ridge", "higher_ridge", "profile_extrema")
#: Readings of the intercept width: the full width between the two half-level crossings
#: (Eq. 1) or the half width on the voxel's side (the discussion's "half-width distance").
WIDTHS = ("full", "half")
HALF_LEVEL_CODES = {name: code for code, name in enumerate(HALF_LEVELS)}


@dataclass(frozen=True)
class FocalParameters:
    """All choices of the method; lengths in mm, densities in mg/cm³ HA.

    * ``spacing_mm`` isotropic analysis grid (step 2); ``mask_resampling`` how the mask is
      put on it: ``"nearest"`` neighbour or ``"distance"`` (linear interpolation of the
      signed distance map, thresholded at 0).
    * ``sigma_mm`` Gaussian σ; ``unsharp_amount`` 0 = plain Gaussian, a > 0 = unsharp mask
      I + a·(I − G_σ*I) (step 3).
    * ``erosion_mm`` physical erosion of the mask by the Euclidean distance transform (step 4).
    * ``angle_step_deg`` star-line angular step: 2D orientations k·step for k < 180/step;
      3D mode spreads directions over a hemisphere at about the same step (steps 6, 11).
    * ``sample_step_mm`` spacing of the profile samples along a line. Fast path only:
      ``line_spacing_mm`` spacing of one orientation's parallel lines (each voxel reads the
      nearest line) and ``line_phases`` phase-shifted copies of each line lattice (each
      voxel reads the copy whose samples are in phase with its centre).
    * ``min_valley_depth`` ridge–valley pairs shallower than this (BMD units) are merged
      away before voids are found (step 7).
    * ``half_level`` which maxima and minima set the level of "0.5 × (maxima + minima)"
      (section 2.3.3 of the paper): ``"each_side"`` each side of a valley against its own
      ridge; ``"lower_ridge"`` / ``"higher_ridge"`` one level from the lower / higher of
      the valley's two ridges; ``"profile_extrema"`` one level per profile from its highest
      maximum and lowest minimum. A void never extends past its valley's ridges (step 7).
    * ``width`` ``"full"``: intercept width = right − left crossing (Eq. 1); ``"half"``:
      the distance from the valley's minimum to the crossing on the voxel's side (the
      discussion's "half-width distance between local maximum and minimum"); focal BMC
      loss follows the chosen width (step 8).
    * ``aggregation`` ``"local"``: the void containing the voxel; ``"line"``: the mean over
      all voids on the voxel's line (step 9).
    * ``tissue_bmd`` density of intact bone tissue for focal BMD loss (step 8).
    """

    spacing_mm: float = 0.3
    sigma_mm: float = 0.3
    unsharp_amount: float = 0.0
    erosion_mm: float = 6.0
    angle_step_deg: float = 12.0
    sample_step_mm: float = 0.3
    min_valley_depth: float = 0.0
    aggregation: str = "local"
    mode: str = "2d"
    tissue_bmd: float = 1200.0
    mask_resampling: str = "nearest"
    line_spacing_mm: float = 0.15
    line_phases: int = 2
    half_level: str = "each_side"
    width: str = "full"

    def __post_init__(self) -> None:
        positive = (
            "spacing_mm",
            "angle_step_deg",
            "sample_step_mm",
            "tissue_bmd",
            "line_spacing_mm",
        )
        non_negative = ("sigma_mm", "unsharp_amount", "erosion_mm", "min_valley_depth")
        for name in positive + non_negative:
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise InputError(f"parameter {name} must be a finite number, got {value!r}")
            if name in positive and value <= 0:
                raise InputError(f"parameter {name} must be positive, got {value}")
            if name in non_negative and value < 0:
                raise InputError(f"parameter {name} must not be negative, got {value}")
        if isinstance(self.line_phases, bool) or not isinstance(self.line_phases, int):
            raise InputError(f"parameter line_phases must be an integer, got {self.line_phases!r}")
        if not 1 <= self.line_phases <= 16:
            raise InputError(f"parameter line_phases must be in 1…16, got {self.line_phases}")
        if not 0 < self.angle_step_deg <= 90:
            raise InputError(f"angle_step_deg must be in (0, 90], got {self.angle_step_deg}")
        for name, allowed in (
            ("aggregation", AGGREGATIONS),
            ("mode", MODES),
            ("mask_resampling", MASK_RESAMPLING),
            ("half_level", HALF_LEVELS),
            ("width", WIDTHS),
        ):
            if getattr(self, name) not in allowed:
                raise InputError(
                    f"parameter {name} must be one of {', '.join(allowed)}, "
                    f"got {getattr(self, name)!r}"
                )

    @property
    def n_angles(self) -> int:
        """Number of 2D orientations: θ = k·step, k = 0 … n−1 covering [0°, 180°)."""
        return max(1, math.ceil(180.0 / self.angle_step_deg - 1e-9))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FocalParameters:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown focal parameters: {', '.join(sorted(unknown))}")
        return cls(**data)
