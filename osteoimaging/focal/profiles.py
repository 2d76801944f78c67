"""Ridges, valleys and bone voids on one intensity profile (step 7 of Li et al. 2022).

Li et al., JOR Spine 2022;5(1):e1195 take the local maxima and minima of each star-line
intensity profile as ridges and valleys and the bone-void space as the full width at half
maximum of a valley (as summarised in issue 3; ``docs/method.md``). Our exact rules (the
same in the fast path, :mod:`osteoimaging.focal.starlines`):

* a run of equal values counts as one extremum, at its centre; a run touching either end
  of the profile is never an extremum (the profile is unknown beyond the ROI);
* optional ``min_depth``: adjacent ridge–valley pairs whose values differ by less are
  removed, smallest difference first (1D persistence simplification), so noise ripples
  merge into the surrounding void instead of splitting it;
* each minimum with a maximum on both sides (the adjacent ones) is a void. It runs from
  where the profile, walking out from the minimum, first reaches hL = ½(max_left + min) on
  the left to where it first reaches hR = ½(max_right + min) on the right; crossings are
  linearly interpolated between samples. Positions are in sample units (index).

These are plain-Python functions: the readable statement of the rules, used by the
per-voxel reference implementation and checked by known-answer tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
        """Intercept width (mm): right crossing − left crossing."""
        return (self.right - self.left) * step_mm

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


def _left_crossing(p: np.ndarray, start: int, level: float) -> float:
    i = start - 1
    while p[i] < level:
        i -= 1
    return i + (p[i] - level) / (p[i] - p[i + 1])


def _right_crossing(p: np.ndarray, stop: int, level: float) -> float:
    i = stop + 1
    while p[i] < level:
        i += 1
    return i - (p[i] - level) / (p[i] - p[i - 1])


def find_voids(profile: np.ndarray, min_depth: float = 0.0) -> list[Void]:
    """All voids (FWHM of each valley against its own two ridges), left to right."""
    p = np.asarray(profile, dtype=float)
    ext = simplify_extrema(find_extrema(p), min_depth)
    voids = []
    for j in range(1, len(ext) - 1):
        m = ext[j]
        if m.kind != -1:
            continue
        max_l, max_r = ext[j - 1].value, ext[j + 1].value
        h_l, h_r = 0.5 * (max_l + m.value), 0.5 * (max_r + m.value)
        voids.append(
            Void(
                left=float(_left_crossing(p, m.start, h_l)),
                right=float(_right_crossing(p, m.stop, h_r)),
                minimum=m.position,
                min_value=m.value,
                left_ridge=max_l,
                right_ridge=max_r,
            )
        )
    return voids


def void_at(voids: list[Void], position: float) -> Void | None:
    """The void containing ``position`` (sample units), or None."""
    for v in voids:
        if v.contains(position):
            return v
    return None
