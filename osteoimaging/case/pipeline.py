"""``measure_case``: the one pipeline from a :class:`CaseRequest` to results.

Per level: body mask (click → GrowCut, label value, or mask) → quality checks of the
body → alignment of the analysis frame to the body's axis → HU → BMD calibration and
the focal osteoporosis defect maps (Li C et al., JOR Spine 2022;5:e1195; see
:mod:`osteoimaging.focal`) → sub-region means → quality checks of the values → one
results row (:mod:`osteoimaging.case.rows`). The CLI, the batch, the Slicer module and
the browser station call this and only this; they differ in how they gather inputs and
where they put the outputs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from osteoimaging.alignment import Alignment, align_body
from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.case.density import DensityScale, resolve_density
from osteoimaging.case.quality import (
    Flag,
    check_body_volume,
    check_partial,
    check_resolution,
    check_tilt,
    check_values,
)
from osteoimaging.case.request import BodySource, CaseRequest
from osteoimaging.case.rows import level_row
from osteoimaging.errors import InputError
from osteoimaging.focal.pipeline import FocalResult, measure_focal
from osteoimaging.geometry import ras_to_lps
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, report, sub_progress
from osteoimaging.segmentation.labels import body_mask_from_labels
from osteoimaging.subregions import subregion_means
from osteoimaging.volume import Volume, canonical_geometry


@dataclass
class LevelResult:
    """One vertebra: its body, frame, maps, sub-region means, flags and table row."""

    source: BodySource
    body: Volume
    alignment: Alignment
    focal: FocalResult
    subregions: dict[str, dict[str, float]]
    flags: list[Flag]
    row: dict[str, Any]
    segmentation: Any = None
    #: Seconds per step: body, alignment, focal, subregions.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.source.name


@dataclass
class CaseResult:
    """All levels of a case, the case's density scale and case-level flags."""

    request: CaseRequest
    density: DensityScale
    calibration: LinearCalibration
    levels: list[LevelResult] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    runtime_s: float = 0.0

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [level.row for level in self.levels]

    def level(self, name: str) -> LevelResult:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)


def merge_cases(cases: list[CaseResult]) -> CaseResult:
    """One CaseResult holding the levels of several (e.g. levels measured one by one in
    Slicer); settings are the last case's, and a flag says when they differed."""
    if not cases:
        raise InputError("no measured vertebra")
    last = cases[-1]
    merged = CaseResult(last.request, last.density, last.calibration)
    for case in cases:
        merged.levels.extend(case.levels)
        merged.flags.extend(f for f in case.flags if f not in merged.flags)
        merged.runtime_s += case.runtime_s
    settings = {(c.density.units, c.calibration.source, repr(c.request.params)) for c in cases}
    if len(settings) > 1:
        merged.flags.append(
            Flag(
                "mixed_settings",
                "the levels were measured with different calibrations or parameters; "
                "see each row's calibration column",
            )
        )
    return merged


def body_from_source(
    request: CaseRequest, source: BodySource, progress: ProgressCallback | None = None
) -> tuple[Volume, str, Any]:
    """(boolean mask on the CT grid, description, segmentation result or None)."""
    ct = request.ct
    if source.seed_ras is not None:
        from osteoimaging.segmentation.growcut import segment_vertebral_body

        extra = {} if request.growcut is None else {"growcut": request.growcut}
        seg = segment_vertebral_body(
            ct,
            ras_to_lps(source.seed_ras),
            level=source.level,
            params=request.segmentation,
            progress=progress,
            path=request.input_name or None,
            **extra,
        )
        x, y, z = source.seed_ras
        text = source.description or f"GrowCut from RAS ({x:.1f}, {y:.1f}, {z:.1f})"
        return ct.with_array(np.asarray(seg.mask.array, bool)), text, seg
    if source.label is not None:
        assert request.labels is not None  # checked by CaseRequest
        mask = body_mask_from_labels(
            request.labels,
            source.label,
            path=request.labels_name,
            body_labels=request.body_labels,
        )
        if not mask.same_geometry(ct):
            raise InputError("the label map is not on the CT grid", request.labels_name)
        text = source.description or f"label {source.label} of {request.labels_name}"
        return ct.with_array(mask.array), text, None
    mask = source.mask
    assert mask is not None
    if not mask.same_geometry(ct):
        raise InputError(
            f"the {source.name} mask ({mask.describe()}) is not on the CT grid ({ct.describe()})",
            source.description or None,
        )
    arr = np.asarray(mask.array)
    if arr.dtype != bool:
        arr = arr != 0
    if not arr.any():
        raise InputError(f"the {source.name} mask is empty", source.description or None)
    return ct.with_array(arr), source.description or "mask", None


def _alignment(request: CaseRequest, body: Volume, partial: bool) -> tuple[Alignment, list[Flag]]:
    """The analysis frame; a partial body or a failed end-plate fit keeps scanner axes."""
    align = request.align
    if isinstance(align, str) and align != "none" and partial:
        return Alignment(None, "none (partial vertebra)", 0.0), []
    try:
        alignment = align_body(body, align)
    except InputError as exc:
        flag = Flag("alignment_failed", f"{exc.problem}; measured in the scanner's axes")
        return Alignment(None, "none (alignment failed)", 0.0), [flag]
    return alignment, check_tilt(alignment.tilt_deg, request.limits)


def measure_level(
    request: CaseRequest,
    source: BodySource,
    density: DensityScale,
    calibration: LinearCalibration,
    case_flags: list[Flag],
    progress: ProgressCallback | None = None,
) -> LevelResult:
    """One vertebra of the case (see the module docstring)."""
    limits = request.limits
    clock = _Clock()
    report(progress, 0.0, f"{source.name}: vertebral body")
    body, description, seg = body_from_source(request, source, sub_progress(progress, 0, 0.25))
    clock.lap("body")
    flags = [Flag("segmentation", text) for text in getattr(seg, "flags", [])]
    flags += check_body_volume(body, source.level, limits)
    partial = check_partial(body)
    flags += partial
    report(progress, 0.25, f"{source.name}: alignment")
    alignment, align_flags = _alignment(request, body, bool(partial))
    flags += align_flags
    clock.lap("alignment")
    try:
        focal = measure_focal(
            request.ct,
            body,
            calibration=None if calibration.is_identity else calibration,
            params=request.params,
            grid_direction=alignment.direction,
            progress=sub_progress(progress, 0.3, 0.95),
            bmd_units=density.units,
            input_path=request.input_name or None,
        )
    except InputError as exc:
        if exc.path is not None:
            raise
        raise InputError(f"{source.name} ({description}): {exc.problem}") from exc
    clock.lap("focal")
    report(progress, 0.95, f"{source.name}: sub-regions")
    sub = subregion_means(focal.maps, focal.roi, request.left_right)
    clock.lap("subregions")
    flags += check_values(focal.values, limits)
    for flag in flags:
        logger.warning("%s: %s", source.name, flag.message)
    all_flags = case_flags + flags
    row = level_row(
        source.name,
        description,
        body,
        alignment,
        calibration,
        density,
        focal.values,
        sub,
        all_flags,
        request.ct,
    )
    return LevelResult(source, body, alignment, focal, sub, all_flags, row, seg, clock.laps)


class _Clock:
    """Seconds between successive laps (the per-step timings of a level)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._last
        self._last = now


def measure_case(request: CaseRequest, progress: ProgressCallback | None = None) -> CaseResult:
    """Measure every level of ``request`` (see the module docstring).

    Raises InputError for input that cannot be measured (no body, a mask that cannot be
    a vertebral body, wrong units) and CancelledError when ``progress`` returns False.
    """
    t0 = time.perf_counter()
    request = replace(request, ct=canonical_geometry(request.ct))
    density, calibration = resolve_density(
        request.calibration, request.input_units, request.material
    )
    case = CaseResult(request, density, calibration)
    case.flags = check_resolution(request.ct, request.limits)
    for flag in case.flags:
        logger.warning("%s", flag.message)
    n = len(request.bodies)
    for i, source in enumerate(request.bodies):
        case.levels.append(
            measure_level(
                request,
                source,
                density,
                calibration,
                case.flags,
                sub_progress(progress, i / n, (i + 1) / n),
            )
        )
    case.runtime_s = time.perf_counter() - t0
    report(progress, 1.0, "done")
    return case
