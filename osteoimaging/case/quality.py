"""Quality checks of one case: no number from a failed step goes out unmarked.

Two outcomes (``docs/method.md``, "Quality checks"):

* **errors** (:class:`~osteoimaging.errors.InputError`, exit 2 in the CLI): the input
  cannot be one vertebral body — a mask far outside any anatomical size
  (:data:`HARD_BODY_ML`), an empty ROI;
* **flags** (:class:`Flag`): the case was measured, but a step is outside what the
  method was made for. Flags travel with the result: the ``qc`` and ``qc_flags``
  columns of every results table, the reports, the Slicer table and a warning line.

Plausible body volumes per level (:data:`BODY_ML`) are our derivation, stated in
``docs/method.md``: elliptic-cylinder volumes π/4 × width × depth × height from adult
vertebral body dimensions (Panjabi MM et al., Spine 1991;16:888–901 (thoracic) and
Spine 1992;17:299–306 (lumbar); Zhou SH et al., Eur Spine J 2000;9:242–248), widened by
about a third at both ends for small and large adults and for segmentations that include
the cortex or miss part of it. The real vertebral bodies in ``../shared/data`` (example
CT: T12 30.7, L1 35.6, L2 36.4, L3 38.3, L4 39.0, L5 34.0 ml by TotalSegmentator; VerSe
L2 33.6 ml) fall inside.

The scan resolution is compared with the paper's protocol (Li et al., JOR Spine
2022;5:e1195, section 2.1: "1 mm scanning thickness … 0.7 mm slice increment … in-plane
spatial resolution of 0.4 × 0.4 mm"): scans coarser than twice that in-plane pixel size
or slice increment are flagged, because bone voids of 1–3 mm are then only a few voxels
across and the intercept width follows the voxel size.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume, format_triplet

#: Plausible adult vertebral body volume (ml) per level: outside → flag.
BODY_ML: dict[str, tuple[float, float]] = {
    "T11": (9.0, 40.0),
    "T12": (10.0, 42.0),
    "L1": (12.0, 50.0),
    "L2": (13.0, 55.0),
    "L3": (14.0, 60.0),
    "L4": (14.0, 60.0),
    "L5": (13.0, 60.0),
}
#: For a body without a level name, or a level outside T11–L5.
DEFAULT_BODY_ML = (9.0, 60.0)
#: Outside this the mask is not one vertebral body: an error, not a flag.
HARD_BODY_ML = (2.0, 150.0)
#: The paper's in-plane pixel size and slice increment (mm), section 2.1.
PAPER_INPLANE_MM = 0.4
PAPER_INCREMENT_MM = 0.7


@dataclass(frozen=True)
class Flag:
    """A quality flag: a stable short ``code`` and a sentence for people."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class QualityLimits:
    """The thresholds of the checks (defaults documented in ``docs/method.md``)."""

    body_ml: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(BODY_ML))
    default_body_ml: tuple[float, float] = DEFAULT_BODY_ML
    hard_body_ml: tuple[float, float] = HARD_BODY_ML
    #: Smallest eroded ROI (ml) that samples the trabecular bone of a body.
    min_roi_ml: float = 1.0
    #: Smallest fraction of ROI voxels inside a bone void on at least one star line.
    min_void_coverage: float = 0.25
    max_inplane_mm: float = 2 * PAPER_INPLANE_MM
    max_slice_mm: float = 2 * PAPER_INCREMENT_MM
    #: Larger tilts of the body's axis against the scanner's z are unusual in the
    #: thoracolumbar spine and usually mean a failed end-plate fit.
    max_tilt_deg: float = 30.0

    def body_range(self, level: str | None) -> tuple[float, float]:
        return self.body_ml.get(level or "", self.default_body_ml)

    @classmethod
    def from_dict(cls, data: dict) -> QualityLimits:
        """Limits from a JSON object (e.g. a batch's ``qc`` parameter); unknown keys and
        non-numbers are refused. Ranges are two numbers ``[low, high]``."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown quality limits: {', '.join(sorted(unknown))}")
        out = {}
        for key, value in data.items():
            try:
                if key == "body_ml":
                    out[key] = {str(k): _pair(v) for k, v in dict(value).items()}
                elif key.endswith("_ml") and key != "min_roi_ml":
                    out[key] = _pair(value)
                else:
                    out[key] = float(value)
            except (TypeError, ValueError) as exc:
                raise InputError(f"quality limit {key}={value!r} is not valid") from exc
        return cls(**out)


def _pair(value) -> tuple[float, float]:
    lo, hi = (float(v) for v in value)
    if not 0 <= lo <= hi:
        raise ValueError("expected [low, high] with 0 ≤ low ≤ high")
    return lo, hi


def mask_volume_ml(mask: Volume) -> float:
    return float(np.count_nonzero(mask.array) * mask.voxel_volume_mm3 / 1000.0)


def check_body_volume(
    mask: Volume, level: str | None, limits: QualityLimits, what: str = "body mask"
) -> list[Flag]:
    """Flag a body outside the level's plausible volume; refuse one outside any."""
    ml = mask_volume_ml(mask)
    name = level or "vertebra"
    lo, hi = limits.hard_body_ml
    if not lo <= ml <= hi:
        raise InputError(
            f"the {name} {what} holds {ml:.1f} ml: not one vertebral body (a body is "
            f"{limits.body_range(level)[0]:g}–{limits.body_range(level)[1]:g} ml); check "
            "the mask, label or click"
        )
    lo, hi = limits.body_range(level)
    if lo <= ml <= hi:
        return []
    side = "small" if ml < lo else "large"
    return [
        Flag(
            "body_volume",
            f"body {ml:.1f} ml is implausibly {side} for {name} (expected {lo:g}–{hi:g} ml): "
            "check the segmentation",
        )
    ]


def edges_touched(mask: Volume) -> list[str]:
    """Which faces of the scan the mask touches: ``top/bottom`` (the slice axis) or
    ``field of view`` (the in-plane axes)."""
    arr = np.asarray(mask.array, dtype=bool)
    out = []
    if arr[0].any() or arr[-1].any():
        out.append("top or bottom slice")
    if arr[:, 0].any() or arr[:, -1].any() or arr[:, :, 0].any() or arr[:, :, -1].any():
        out.append("edge of the field of view")
    return out


def check_partial(mask: Volume) -> list[Flag]:
    """Flag a body cut off by the scan (it touches the scan's boundary)."""
    edges = edges_touched(mask)
    if not edges:
        return []
    return [
        Flag(
            "partial_vertebra",
            f"the body touches the scan's {' and '.join(edges)}: part of it is missing; no "
            "end-plate alignment, values cover the visible part only",
        )
    ]


def check_resolution(ct: Volume, limits: QualityLimits) -> list[Flag]:
    """Flag a scan coarser than the method's intended input (the paper's protocol × 2)."""
    inplane = max(ct.spacing[0], ct.spacing[1])
    through = ct.spacing[2]
    if inplane <= limits.max_inplane_mm and through <= limits.max_slice_mm:
        return []
    return [
        Flag(
            "coarse_scan",
            f"voxels {format_triplet(ct.spacing)} mm are coarser than the method's input "
            f"(≤ {limits.max_inplane_mm:g} mm in-plane, ≤ {limits.max_slice_mm:g} mm "
            "between slices; the paper used 0.4 × 0.4 mm, 0.7 mm increment): widths follow "
            "the voxel size, compare only scans of the same protocol",
        )
    ]


def check_tilt(tilt_deg: float, limits: QualityLimits) -> list[Flag]:
    if tilt_deg <= limits.max_tilt_deg:
        return []
    return [
        Flag(
            "tilt",
            f"the body's axis is tilted {tilt_deg:.0f}° from the scanner's z (more than "
            f"{limits.max_tilt_deg:g}°): check the alignment",
        )
    ]


def check_values(values: dict, limits: QualityLimits) -> list[Flag]:
    """Flags from a focal measurement's values: small ROI, no or few voids."""
    flags = []
    roi_ml = float(values.get("roi_volume_ml", float("nan")))
    if not roi_ml >= limits.min_roi_ml:
        flags.append(
            Flag(
                "roi_small",
                f"the eroded ROI holds {roi_ml:.2f} ml (< {limits.min_roi_ml:g} ml): too "
                "little trabecular bone to measure; check the segmentation",
            )
        )
    coverage = float(values.get("void_coverage", 0.0))
    if coverage == 0.0 or not np.isfinite(values.get("focal_bmc_loss_mm", np.nan)):
        flags.append(
            Flag(
                "no_voids",
                "no bone void was found on any star line: the focal values are empty "
                "(a uniform or over-smoothed ROI?)",
            )
        )
    elif coverage < limits.min_void_coverage:
        flags.append(
            Flag(
                "few_voids",
                f"only {coverage:.0%} of the ROI lies in a bone void (expected ≥ "
                f"{limits.min_void_coverage:.0%}): values rest on few voxels",
            )
        )
    return flags


def qc_columns(flags: list[Flag]) -> dict[str, str]:
    """The two table columns: ``qc`` (``ok``/``flagged``) and ``qc_flags`` (codes)."""
    return {
        "qc": "flagged" if flags else "ok",
        "qc_flags": "; ".join(dict.fromkeys(f.code for f in flags)),
    }
