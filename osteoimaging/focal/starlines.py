"""Star-line analysis, fast path (steps 6–9 of Li et al., JOR Spine 2022;5:e1195).

Li et al. sample intensity profiles along star lines rotated by 12° in the cross-sectional
(axial) image, the centroid "glided voxel-by-voxel within the ROI"; every ROI voxel gets the
intercept width and focal BMD loss of the bone void it lies in, "averaged" over orientations
(section 2.3.3 of the paper; our reading in ``docs/method.md``).

Instead of sampling one profile per voxel and orientation (the paper's 2.68 min per
vertebra), each orientation is traced once as a lattice of parallel lines: lines along
the direction ``d``, ``line_step`` apart across it, samples ``sample_step`` apart along
it, all in the voxel frame of the isotropic analysis grid. Every profile is analysed once
(:mod:`.profiles` rules, re-implemented for numba below) and every ROI voxel then reads
the result of the line nearest to its centre, at its own continuous position along that
line. In 2D mode the lattice planes are exactly the axial slices. Differences to the
per-voxel definition (the line through the voxel centre, sampled from the centre) are
below half a line step across and a sample phase along the line; the tests bound them
against the per-voxel reference (``Testing/focal_reference.py``).

Coordinates here are continuous voxel indices (x, y, z) of the isotropic grid, arrays
are indexed [z, y, x]; in-plane angle θ is measured from the grid's x axis towards y.

Two implementations trace the lattices: the numba kernels below (the fast path) and
:mod:`.starlines_numpy` (the same operations vectorised with numpy, for a Slicer without
numba; same numbers, slower). :func:`star_line_backend` picks one per call: numba when it
is installed, unless ``OSTEO_NO_NUMBA=1`` is set or ``backend="numpy"`` is passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.focal import starlines_numpy
from osteoimaging.focal._jit import HAVE_NUMBA, NO_NUMBA_ENV, njit, prange, use_numba
from osteoimaging.focal.parameters import HALF_LEVEL_CODES, FocalParameters
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, report

BACKENDS = ("numba", "numpy")
# The numpy path against numba with 2 threads, warm, per vertebra (demo phantom, default
# parameters; docs/benchmarks.md, "Focal star lines without numba").
NUMPY_SLOWDOWN = 4
NUMPY_SECONDS_PER_VERTEBRA = 2
_announced = False


def star_line_backend(backend: str | None = None) -> str:
    """The implementation to run: ``backend`` if given ("numba" or "numpy"), else "numba"
    when it is installed and ``OSTEO_NO_NUMBA`` is not set (read at every call)."""
    if backend is None:
        return "numba" if use_numba() else "numpy"
    if backend not in BACKENDS:
        raise InputError(f"star-line backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "numba" and not HAVE_NUMBA:
        raise InputError("star-line backend 'numba' asked for, but numba is not installed")
    return backend


def _announce(backend: str) -> None:
    """Log once per process that the star lines run without numba, and what it costs."""
    global _announced
    if backend != "numpy" or _announced:
        return
    _announced = True
    cost = (
        f"about {NUMPY_SLOWDOWN}× slower (≈ {NUMPY_SECONDS_PER_VERTEBRA:g} s per vertebra), "
        "same results"
    )
    if HAVE_NUMBA:
        logger.info("star lines run with numpy (%s set or asked for): %s", NO_NUMBA_ENV, cost)
    else:
        logger.warning(
            "numba is not installed: star lines run with numpy, %s; pip install numba", cost
        )


def directions(params: FocalParameters) -> np.ndarray:
    """Unit line directions (n, 3) in the grid's (x, y, z) voxel frame.

    2D: θ = k·step in the axial plane, k = 0 … ⌈180/step⌉−1 (15 at 12°). 3D: rings on the
    upper hemisphere at polar angles j·90°/n (n = round(90/step)), each with about
    360°·sin φ/step azimuths; the equator holds the 2D set (opposite directions are the
    same line, so only half of it).
    """
    step = params.angle_step_deg
    if params.mode == "2d":
        th = np.deg2rad(step * np.arange(params.n_angles))
        return np.stack([np.cos(th), np.sin(th), np.zeros_like(th)], axis=1)
    n_rings = max(1, round(90.0 / step))
    out = []
    for j in range(n_rings + 1):
        phi = math.radians(90.0 * j / n_rings)
        if j == n_rings:
            alphas = np.deg2rad(step * np.arange(params.n_angles))
        else:
            m = max(1, round(360.0 * math.sin(phi) / step))
            alphas = 2 * np.pi * np.arange(m) / m
        for a in alphas:
            out.append((math.sin(phi) * math.cos(a), math.sin(phi) * math.sin(a), math.cos(phi)))
    return np.asarray(out, dtype=float)


def line_basis(d: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors across direction ``d``; in 2D mode the second is the slice normal z."""
    d = np.asarray(d, dtype=float)
    if mode == "2d":
        return np.array([-d[1], d[0], 0.0]), np.array([0.0, 0.0, 1.0])
    a = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    n1 = np.cross(a, d)
    n1 /= np.linalg.norm(n1)
    return n1, np.cross(d, n1)


# -- numba kernels -------------------------------------------------------------------------
@njit(cache=True)
def profile_voids(p, min_depth, half_level, out_left, out_right, out_mid):  # pragma: no cover
    """Voids of profile ``p`` by the rules of :mod:`.profiles`; returns their count.

    ``half_level`` is the code of the reading (:data:`~.parameters.HALF_LEVEL_CODES`).
    Crossing positions and the minimum's position (sample units) go to ``out_left``,
    ``out_right`` and ``out_mid`` (length ≥ len(p)//2).
    """
    n = p.shape[0]
    work = np.empty((4, n))
    return _voids(p, min_depth, half_level, out_left, out_right, out_mid, work)


@njit(cache=True)
def _voids(p, min_depth, half_level, out_left, out_right, out_mid, work):  # pragma: no cover
    """:func:`profile_voids` with a caller-owned workspace ``work`` (4 × ≥ len(p))."""
    n = p.shape[0]
    kind = work[0]
    start = work[1]
    stop = work[2]
    val = work[3]
    m = 0
    a = 0
    while a < n:
        b = a
        while b + 1 < n and p[b + 1] == p[a]:
            b += 1
        if a > 0 and b < n - 1:
            v = p[a]
            if p[a - 1] < v and p[b + 1] < v:
                kind[m] = 1
            elif p[a - 1] > v and p[b + 1] > v:
                kind[m] = -1
            else:
                kind[m] = 0
            if kind[m] != 0:
                start[m] = a
                stop[m] = b
                val[m] = v
                m += 1
        a = b + 1
    if min_depth > 0:
        while m >= 2:
            best = 0
            best_d = abs(val[0] - val[1])
            for i in range(1, m - 1):
                dd = abs(val[i] - val[i + 1])
                if dd < best_d:
                    best_d = dd
                    best = i
            if best_d >= min_depth:
                break
            for i in range(best, m - 2):
                kind[i] = kind[i + 2]
                start[i] = start[i + 2]
                stop[i] = stop[i + 2]
                val[i] = val[i + 2]
            m -= 2
    h_profile = 0.0
    if half_level == 3:  # profile_extrema: highest maximum and lowest minimum
        top = -np.inf
        bottom = np.inf
        for i in range(m):
            if kind[i] == 1:
                top = max(top, val[i])
            elif kind[i] == -1:
                bottom = min(bottom, val[i])
        h_profile = 0.5 * (top + bottom)
    count = 0
    for j in range(1, m - 1):
        if kind[j] != -1:
            continue
        vmin = val[j]
        if half_level == 0:  # each_side
            h_left = 0.5 * (val[j - 1] + vmin)
            h_right = 0.5 * (val[j + 1] + vmin)
        elif half_level == 1:  # lower_ridge
            h_left = 0.5 * (min(val[j - 1], val[j + 1]) + vmin)
            h_right = h_left
        elif half_level == 2:  # higher_ridge
            h_left = 0.5 * (max(val[j - 1], val[j + 1]) + vmin)
            h_right = h_left
        else:
            if not vmin < h_profile:
                continue
            h_left = h_profile
            h_right = h_profile
        # walk out from the minimum, never past the valley's ridges
        i = int(start[j]) - 1
        lim = int(stop[j - 1])
        while i > lim and p[i] < h_left:
            i -= 1
        if p[i] < h_left:
            out_left[count] = i
        else:
            out_left[count] = i + (p[i] - h_left) / (p[i] - p[i + 1])
        i = int(stop[j]) + 1
        lim = int(start[j + 1])
        while i < lim and p[i] < h_right:
            i += 1
        if p[i] < h_right:
            out_right[count] = i
        else:
            out_right[count] = i - (p[i] - h_right) / (p[i] - p[i - 1])
        out_mid[count] = 0.5 * (start[j] + stop[j])
        count += 1
    return count


@njit(cache=True)
def _analyse_run(
    p, offset, step_mm, tissue, min_depth, half_level, half_width, line_mode, o_l, o_r, o_m,
    o_w, o_loss, o_bmc, work
):  # pragma: no cover  # fmt: skip
    """Voids of one inside-ROI run; write each sample's void values (lattice sample units).

    ``half_width``: "local" writes the void's minimum to ``o_m`` as well (each voxel takes
    the half width on its own side in ``_gather``); "line" uses half of each void's width.
    ``work`` is a workspace of 7 rows × ≥ len(p) (no allocation per run)."""
    n = p.shape[0]
    vl = work[4]
    vr = work[5]
    vm = work[6]
    nv = _voids(p, min_depth, half_level, vl, vr, vm, work)
    sum_w = 0.0
    sum_loss = 0.0
    sum_bmc = 0.0
    for j in range(nv):
        i0 = math.ceil(vl[j])
        i1 = math.floor(vr[j])
        acc = 0.0
        for i in range(i0, i1 + 1):
            acc += (tissue - p[i]) / tissue
        loss = acc / (i1 - i0 + 1)
        width = (vr[j] - vl[j]) * step_mm
        if line_mode:
            w = width * 0.5 if half_width else width
            sum_w += w
            sum_loss += loss
            sum_bmc += loss * w
        else:
            for i in range(i0, i1 + 1):
                o_l[i] = vl[j] + offset
                o_r[i] = vr[j] + offset
                o_w[i] = width
                o_loss[i] = loss
                o_bmc[i] = loss * width
                if half_width:
                    o_m[i] = vm[j] + offset
    if line_mode and nv > 0:
        for i in range(n):
            o_l[i] = -np.inf
            o_r[i] = np.inf
            o_w[i] = sum_w / nv
            o_loss[i] = sum_loss / nv
            o_bmc[i] = sum_bmc / nv


@njit(cache=True)
def _trilinear(a, x, y, z):  # pragma: no cover - numba
    nz, ny, nx = a.shape
    x0 = math.floor(x)
    y0 = math.floor(y)
    z0 = math.floor(z)
    fx = x - x0
    fy = y - y0
    fz = z - z0
    x0 = min(max(x0, 0), nx - 1)
    y0 = min(max(y0, 0), ny - 1)
    z0 = min(max(z0, 0), nz - 1)
    x1 = min(x0 + 1, nx - 1)
    y1 = min(y0 + 1, ny - 1)
    z1 = min(z0 + 1, nz - 1)
    c00 = a[z0, y0, x0] * (1 - fx) + a[z0, y0, x1] * fx
    c01 = a[z0, y1, x0] * (1 - fx) + a[z0, y1, x1] * fx
    c0 = c00 * (1 - fy) + c01 * fy
    if fz == 0.0:  # in a slice (2D mode): bilinear
        return c0
    c10 = a[z1, y0, x0] * (1 - fx) + a[z1, y0, x1] * fx
    c11 = a[z1, y1, x0] * (1 - fx) + a[z1, y1, x1] * fx
    c1 = c10 * (1 - fy) + c11 * fy
    return c0 * (1 - fz) + c1 * fz


@njit(parallel=True, cache=True)
def _trace(bmd, roi, origin, d, n1, n2, nu, nv1, nv2, du, dv1, dv2, step_mm, tissue, min_depth,
           half_level, half_width, line_mode, box_lo, box_hi, o_l, o_r, o_m, o_w, o_loss,
           o_bmc):  # fmt: skip
    """Sample and analyse every line of one orientation's lattice (parallel over planes).

    Each line is clipped to the box [box_lo, box_hi] (voxel coordinates x, y, z) around the
    ROI; lines missing it are skipped and their outputs left unset: no ROI voxel reads them
    (the box is grown by more than the distance from a voxel to its nearest line). ``o_m``
    (the voids' minima) is written only with ``half_width`` and "local" aggregation
    (otherwise it may be a dummy of one element).
    """
    nz, ny, nx = roi.shape
    minima = half_width and not line_mode  # o_m is a dummy otherwise
    for k2 in prange(nv2):
        vals = np.empty(nu)
        inside = np.zeros(nu, np.bool_)
        work = np.empty((7, nu))
        base = np.empty(3)
        for k1 in range(nv1):
            t_lo = -np.inf
            t_hi = np.inf
            for a in range(3):
                base[a] = origin[a] + k1 * dv1 * n1[a] + k2 * dv2 * n2[a]
                step = du * d[a]
                if abs(step) > 1e-12:
                    t1 = (box_lo[a] - base[a]) / step
                    t2 = (box_hi[a] - base[a]) / step
                    t_lo = max(t_lo, min(t1, t2))
                    t_hi = min(t_hi, max(t1, t2))
                elif base[a] < box_lo[a] or base[a] > box_hi[a]:
                    t_hi = -np.inf
            if t_lo > t_hi:
                continue
            k_lo = max(0, math.floor(t_lo) - 1)
            k_hi = min(nu, math.ceil(t_hi) + 3)
            bx, by, bz = base[0], base[1], base[2]
            sx, sy, sz = du * d[0], du * d[1], du * d[2]
            for k in range(k_lo, k_hi):
                o_l[k2, k1, k] = np.nan
                if minima:
                    o_m[k2, k1, k] = np.nan
                o_r[k2, k1, k] = np.nan
                o_w[k2, k1, k] = np.nan
                o_loss[k2, k1, k] = np.nan
                o_bmc[k2, k1, k] = np.nan
                x = bx + k * sx
                y = by + k * sy
                z = bz + k * sz
                ix = math.floor(x + 0.5)
                iy = math.floor(y + 0.5)
                iz = math.floor(z + 0.5)
                inside[k] = 0 <= ix < nx and 0 <= iy < ny and 0 <= iz < nz and roi[iz, iy, ix]
                if inside[k]:
                    vals[k] = _trilinear(bmd, x, y, z)
            k = k_lo
            while k < k_hi:
                if not inside[k]:
                    k += 1
                    continue
                s = k
                while k < k_hi and inside[k]:
                    k += 1
                om = o_m[k2, k1, s:k] if minima else o_m[0, 0, 0:0]
                _analyse_run(vals[s:k], s, step_mm, tissue, min_depth, half_level, half_width,
                             line_mode, o_l[k2, k1, s:k], o_r[k2, k1, s:k], om,
                             o_w[k2, k1, s:k], o_loss[k2, k1, s:k], o_bmc[k2, k1, s:k],
                             work)  # fmt: skip


@njit(parallel=True, cache=True)
def _gather(coords, origin, d, n1, n2, du, dv1, dv2, line_mode, n_phases, half_width, step_mm,
            o_l, o_r, o_m, o_w, o_loss, o_bmc, s_w, s_loss, s_bmc,
            count):  # pragma: no cover - numba  # fmt: skip
    """Each voxel reads the void values of its nearest line at its own position on it.

    ``half_width`` ("local" only): the voxel's width is the half width on its own side of
    the void's minimum (``o_m``; half the full width exactly at it), BMC loss loss × that."""
    nv2, nv1, nu = o_w.shape
    for i in prange(coords.shape[0]):
        rx = coords[i, 0] - origin[0]
        ry = coords[i, 1] - origin[1]
        rz = coords[i, 2] - origin[2]
        u = (rx * d[0] + ry * d[1] + rz * d[2]) / du
        if n_phases > 1:
            ph = u + 0.5 / n_phases
            if ph - math.floor(ph) >= 1.0 / n_phases:
                continue  # another phase-shifted lattice serves this voxel
        k1 = math.floor((rx * n1[0] + ry * n1[1] + rz * n1[2]) / dv1 + 0.5)
        k2 = math.floor((rx * n2[0] + ry * n2[1] + rz * n2[2]) / dv2 + 0.5)
        if not (0 <= k1 < nv1 and 0 <= k2 < nv2):
            continue
        if line_mode:
            k = math.floor(u + 0.5)
            if 0 <= k < nu and o_w[k2, k1, k] == o_w[k2, k1, k]:
                s_w[i] += o_w[k2, k1, k]
                s_loss[i] += o_loss[k2, k1, k]
                s_bmc[i] += o_bmc[k2, k1, k]
                count[i] += 1
            continue
        k0 = math.floor(u)
        for k in range(k0, k0 + 2):
            if 0 <= k < nu and o_l[k2, k1, k] <= u <= o_r[k2, k1, k]:
                if half_width:
                    m = o_m[k2, k1, k]
                    if u < m:
                        w = (m - o_l[k2, k1, k]) * step_mm
                    elif u > m:
                        w = (o_r[k2, k1, k] - m) * step_mm
                    else:
                        w = (o_r[k2, k1, k] - o_l[k2, k1, k]) * step_mm * 0.5
                    s_w[i] += w
                    s_bmc[i] += o_loss[k2, k1, k] * w
                else:
                    s_w[i] += o_w[k2, k1, k]
                    s_bmc[i] += o_bmc[k2, k1, k]
                s_loss[i] += o_loss[k2, k1, k]
                count[i] += 1
                break


@njit(cache=True)
def _extent(coords, centre, axes):  # pragma: no cover - numba
    """Min and max of (coords − centre) projected on each row of ``axes``."""
    lo = np.full(axes.shape[0], np.inf)
    hi = np.full(axes.shape[0], -np.inf)
    for i in range(coords.shape[0]):
        for a in range(axes.shape[0]):
            v = 0.0
            for c in range(3):
                v += (coords[i, c] - centre[c]) * axes[a, c]
            lo[a] = min(lo[a], v)
            hi[a] = max(hi[a], v)
    return lo, hi


# -- Python drivers ------------------------------------------------------------------------
@dataclass
class StarLineSums:
    """Per-ROI-voxel sums over orientations (voxels in ``np.argwhere(roi)`` order)."""

    width: np.ndarray
    bmd_loss: np.ndarray
    bmc_loss: np.ndarray
    count: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> StarLineSums:
        return cls(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, np.int64))

    def means(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean width, BMD loss and BMC loss per voxel (NaN where no orientation gave one)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(self.count > 0, self.count, np.nan)
            return self.width / c, self.bmd_loss / c, self.bmc_loss / c


def roi_coordinates(roi: np.ndarray) -> np.ndarray:
    """(N, 3) voxel coordinates (x, y, z) of the ROI voxels, in ``np.argwhere`` order."""
    return np.ascontiguousarray(np.argwhere(roi)[:, ::-1], dtype=np.float64)


def trace_orientation(
    bmd: np.ndarray,
    roi: np.ndarray,
    direction: np.ndarray,
    params: FocalParameters,
    coords: np.ndarray | None = None,
    sums: StarLineSums | None = None,
    centre: np.ndarray | None = None,
    box: tuple[np.ndarray, np.ndarray] | None = None,
    backend: str | None = None,
) -> StarLineSums:
    """Add one orientation's values to ``sums`` (a new one if None) and return it.

    ``bmd`` is the filtered, calibrated image and ``roi`` the boolean ROI, both on the
    isotropic grid ([z, y, x]); ``direction`` a unit vector (x, y, z); ``backend`` see
    :func:`star_line_backend`.
    """
    backend = star_line_backend(backend)
    _announce(backend)
    if coords is None:
        coords = roi_coordinates(roi)
    if sums is None:
        sums = StarLineSums.zeros(len(coords))
    d = np.asarray(direction, dtype=float)
    d = d / np.linalg.norm(d)
    n1, n2 = line_basis(d, params.mode)
    du = params.sample_step_mm / params.spacing_mm
    dv1 = params.line_spacing_mm / params.spacing_mm
    dv2 = 1.0 if params.mode == "2d" else dv1
    centre = np.round(coords.mean(axis=0)) if centre is None else np.asarray(centre, float)
    box = (coords.min(axis=0), coords.max(axis=0)) if box is None else box
    extent = starlines_numpy.extent if backend == "numpy" else _extent
    lo, hi = extent(coords, centre, np.stack([d, n1, n2]))
    u0 = math.floor(lo[0] / du) - 1
    k1_0 = math.floor(lo[1] / dv1 + 0.5)
    k2_0 = math.floor(lo[2] / dv2 + 0.5)
    nu = math.ceil(hi[0] / du) + 2 - u0
    nv1 = math.floor(hi[1] / dv1 + 0.5) - k1_0 + 1
    nv2 = math.floor(hi[2] / dv2 + 0.5) - k2_0 + 1
    origin = centre + u0 * du * d + k1_0 * dv1 * n1 + k2_0 * dv2 * n2
    shape = (nv2, nv1, nu)
    for j in range(params.line_phases):
        shifted = origin + (j / params.line_phases) * du * d
        trace_and_gather = (
            starlines_numpy.trace_and_gather if backend == "numpy" else _trace_and_gather
        )
        trace_and_gather(
            bmd, roi, coords, box, sums, shifted, (d, n1, n2), shape, (du, dv1, dv2), params
        )
    return sums


def _trace_and_gather(bmd, roi, coords, box, sums, origin, axes, shape, steps, params) -> None:
    """Trace one lattice (origin, axes d/n1/n2, steps in voxels) and let voxels read it;
    ``box`` = (min, max) of the ROI voxel coordinates. The numba kernels;
    :func:`.starlines_numpy.trace_and_gather` is the same with numpy."""
    d, n1, n2 = axes
    du, dv1, dv2 = steps
    nv2, nv1, nu = shape
    # Filled (NaN, then void values) line by line inside the parallel kernel.
    o_l = np.empty(shape)
    half_width = params.width == "half" and params.aggregation == "local"
    o_m = np.empty(shape if half_width else (1, 1, 1))
    o_r = np.empty(shape)
    o_w = np.empty(shape, np.float32)
    o_loss = np.empty(shape, np.float32)
    o_bmc = np.empty(shape, np.float32)
    line_mode = params.aggregation == "line"
    margin = 1.0 + max(dv1, dv2)  # > the distance from a voxel to its nearest line
    box_lo, box_hi = box[0] - margin, box[1] + margin
    _trace(
        np.ascontiguousarray(bmd, dtype=np.float32), np.ascontiguousarray(roi, dtype=np.bool_),
        origin, d, n1, n2, nu, nv1, nv2, du, dv1, dv2, params.sample_step_mm,
        float(params.tissue_bmd), float(params.min_valley_depth),
        HALF_LEVEL_CODES[params.half_level], params.width == "half", line_mode, box_lo, box_hi,
        o_l, o_r, o_m, o_w, o_loss, o_bmc,
    )  # fmt: skip
    _gather(
        coords, origin, d, n1, n2, du, dv1, dv2, line_mode, params.line_phases, half_width,
        params.sample_step_mm, o_l, o_r, o_m, o_w, o_loss, o_bmc, sums.width, sums.bmd_loss,
        sums.bmc_loss, sums.count,
    )  # fmt: skip


def star_line_sums(
    bmd: np.ndarray,
    roi: np.ndarray,
    params: FocalParameters,
    progress: ProgressCallback | None = None,
    backend: str | None = None,
) -> StarLineSums:
    """Trace every orientation of ``params`` (progress reported per orientation) with
    ``backend`` (None: numba when installed and not disabled; :func:`star_line_backend`)."""
    backend = star_line_backend(backend)
    coords = roi_coordinates(roi)
    sums = StarLineSums.zeros(len(coords))
    centre = np.round(coords.mean(axis=0))
    box = (coords.min(axis=0), coords.max(axis=0))
    bmd = np.ascontiguousarray(bmd, dtype=np.float32)
    roi = np.ascontiguousarray(roi, dtype=np.bool_)
    dirs = directions(params)
    for i, d in enumerate(dirs):
        report(progress, i / len(dirs), f"star lines {i + 1}/{len(dirs)}")
        trace_orientation(bmd, roi, d, params, coords, sums, centre, box, backend)
    report(progress, 1.0, "star lines done")
    return sums
