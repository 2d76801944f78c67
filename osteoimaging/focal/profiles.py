"""Ridges, valleys and bone voids on one intensity profile (step 7 of Li et al. 2022).

Li et al., JOR Spine 2022;5(1):e1195, section 2.3.3: "the ridges and valleys in the
intensity profile were located by finding the localized maxima and minima, the localized
region with intensity less than 0.5 × (maxima + minima) was defined as the bone void
space" ("the full width at half-maximum measurement strategy"); "apparent focal bone void
spaces are the valleys of intensity profiles". Our exact rules (the same in the fast path,
:mod:`osteoimaging.focal.starlines`; ``docs/method.md``):

* a run of equal values counts as one extremum, at its centre; a run touching either end
  of the profile is never an extremum (the profile is unknown beyond the ROI);
* optional ``min_depth``: adjacent ridge–valley pairs whose values differ by less are
  removed, smallest difference first (1D persistence simplification), so noise ripples
  merge into the surrounding void instead of splitting it;
* each minimum with a maximum on both sides (the adjacent ones) is a valley. Its void runs
  from where the profile, walking out from the minimum, first reaches the left level to
  where it first reaches the right level; crossings are linearly interpolated between
  samples. The levels (``half_level``):

  - ``each_side`` (default): hL = ½(max_left + min), hR = ½(max_right + min);
  - ``lower_ridge``: h = ½(min(max_left, max_right) + min) on both sides;
  - ``higher_ridge``: h = ½(max(max_left, max_right) + min) on both sides;
  - ``profile_extrema``: h = ½(highest maximum + lowest minimum of the whole profile);
    a valley whose minimum is not below h has no void;

  a void never extends past its valley's ridges: where the walk reaches a ridge that is
  still below the level (possible with the last two readings) the void ends at the
  ridge's first sample. Positions are in sample units (index).

These are plain-Python functions: the readable statement of the rules, used by the
per-voxel reference implementation and checked by known-answer tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.focal.parameters import HALF_LEVELS, WIDTHS


@dataclass(frozen=True)
class Extremum:
    """A local maximum (``kind`` = +1) or minimum (−1): samples ``start``…``stop`` (inclusive)."""

    kind: int
    start: int
    stop: int
    value: float

    @property
    def position(self) -> float:
        return 0.5 * (self.start + self.stop)


@dataclass(frozen=True)
class Void:
    """A bone void: [left, right] in sample units, its minimum and its two ridges."""

    left: float
    right: float
    minimum: float
    min_value: float
    left_ridge: float
    right_ridge: float

    def contains(self, position: float) -> bool:
        return self.left <= position <= self.right

    def width(self, step_mm: float) -> float:
        """Intercept width (mm): right crossing − left crossing (Eq. 1 of the paper)."""
        return (self.right - self.left) * step_mm

    def half_width(self, step_mm: float, position: float) -> float:
        """Half width (mm) on the side of ``position``: minimum − left crossing left of the
        minimum, right crossing − minimum right of it, half the width at the minimum."""
        if position < self.minimum:
            return (self.minimum - self.left) * step_mm
        if position > self.minimum:
            return (self.right - self.minimum) * step_mm
        return self.width(step_mm) * 0.5

    def width_at(self, step_mm: float, position: float, width: str = "full") -> float:
        """The intercept width a sample at ``position`` gets (``width``: full or half)."""
        if width not in WIDTHS:
            raise InputError(f"width must be one of {', '.join(WIDTHS)}, got {width!r}")
        return self.width(step_mm) if width == "full" else self.half_width(step_mm, position)

    def bmd_loss(self, profile: np.ndarray, tissue_bmd: float = 1200.0) -> float:
        """Mean over the samples inside the void of (tissue − BMD)/tissue (Li et al. 2022)."""
        idx = np.arange(int(np.ceil(self.left)), int(np.floor(self.right)) + 1)
        return float(np.mean((tissue_bmd - np.asarray(profile, float)[idx]) / tissue_bmd))


def find_extrema(profile: np.ndarray) -> list[Extremum]:
    """Interior local maxima and minima, plateaus merged (they alternate by construction)."""
    p = np.asarray(profile, dtype=float)
    n = len(p)
    out: list[Extremum] = []
    a = 0
    while a < n:
        b = a
        while b + 1 < n and p[b + 1] == p[a]:
            b += 1
        if a > 0 and b < n - 1:
            left, right, v = p[a - 1], p[b + 1], p[a]
            if left < v and right < v:
                out.append(Extremum(+1, a, b, v))
            elif left > v and right > v:
                out.append(Extremum(-1, a, b, v))
        a = b + 1
    return out


def simplify_extrema(extrema: list[Extremum], min_depth: float) -> list[Extremum]:
    """Remove adjacent extremum pairs differing by less than ``min_depth``, smallest first."""
    ext = list(extrema)
    if min_depth <= 0:
        return ext
    while len(ext) >= 2:
        diffs = [abs(ext[i].value - ext[i + 1].value) for i in range(len(ext) - 1)]
        i = int(np.argmin(diffs))
        if diffs[i] >= min_depth:
            break
        del ext[i : i + 2]
    return ext


def _left_crossing(p: np.ndarray, start: int, level: float, ridge_stop: int) -> float:
    i = start - 1
    while i > ridge_stop and p[i] < level:
        i -= 1
    if p[i] < level:  # the ridge itself is below the level: the void ends there
        return float(i)
    return i + (p[i] - level) / (p[i] - p[i + 1])


def _right_crossing(p: np.ndarray, stop: int, level: float, ridge_start: int) -> float:
    i = stop + 1
    while i < ridge_start and p[i] < level:
        i += 1
    if p[i] < level:
        return float(i)
    return i - (p[i] - level) / (p[i] - p[i - 1])


def half_levels(ext: list[Extremum], j: int, half_level: str = "each_side") -> tuple[float, float]:
    """(left, right) level of the valley ``ext[j]`` between ridges ``ext[j ± 1]``."""
    if half_level not in HALF_LEVELS:
        raise InputError(f"half_level must be one of {', '.join(HALF_LEVELS)}, got {half_level!r}")
    vmin, max_l, max_r = ext[j].value, ext[j - 1].value, ext[j + 1].value
    if half_level == "each_side":
        return 0.5 * (max_l + vmin), 0.5 * (max_r + vmin)
    if half_level == "lower_ridge":
        h = 0.5 * (min(max_l, max_r) + vmin)
    elif half_level == "higher_ridge":
        h = 0.5 * (max(max_l, max_r) + vmin)
    else:
        top = max(e.value for e in ext if e.kind == 1)
        bottom = min(e.value for e in ext if e.kind == -1)
        h = 0.5 * (top + bottom)
    return h, h


def find_voids(
    profile: np.ndarray, min_depth: float = 0.0, half_level: str = "each_side"
) -> list[Void]:
    """All voids (the half-level width of each valley, ``half_level`` reading), left to right."""
    p = np.asarray(profile, dtype=float)
    ext = simplify_extrema(find_extrema(p), min_depth)
    voids = []
    for j in range(1, len(ext) - 1):
        m = ext[j]
        if m.kind != -1:
            continue
        h_l, h_r = half_levels(ext, j, half_level)
        if half_level == "profile_extrema" and not m.value < h_l:
            continue  # a valley above the profile's level: no region below it
        voids.append(
            Void(
                left=float(_left_crossing(p, m.start, h_l, ext[j - 1].stop)),
                right=float(_right_crossing(p, m.stop, h_r, ext[j + 1].start)),
                minimum=m.position,
                min_value=m.value,
                left_ridge=ext[j - 1].value,
                right_ridge=ext[j + 1].value,
            )
        )
    return voids


def void_at(voids: list[Void], position: float) -> Void | None:
    """The void containing ``position`` (sample units), or None."""
    for v in voids:
        if v.contains(position):
            return v
    return None
