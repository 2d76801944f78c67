"""Star-line analysis without numba: the lattices of :mod:`.starlines`, vectorised with numpy.

Steps 6–9 of Li et al., JOR Spine 2022;5(1):e1195 (star-line profiles, FWHM bone voids,
intercept width and focal BMD loss per voxel) on exactly the lattices that
:func:`osteoimaging.focal.starlines.trace_orientation` lays out, for a stock 3D Slicer in
which numba is not installed. Every sample, run, extremum, void and voxel read of the
numba kernels ``_trace``/``_analyse_run``/``_voids``/``_gather`` is done here on whole
arrays at once (all lines of a chunk, all voids, all voxels), by the rules of
:mod:`.profiles`:

* samples: positions ``base + k·step`` per line, the nearest voxel decides ``inside``,
  values by the same bilinear/trilinear formula as ``_trilinear`` (floor, clamp to the
  array, bilinear where ``fz == 0``);
* runs of inside samples; extrema = pairs of consecutive non-zero differences with a sign
  change inside a run (a run of equal values between them is the plateau; runs touching a
  profile end are never extrema);
* ``min_valley_depth`` > 0: each round removes, in every profile at once, that profile's
  adjacent pair with the smallest difference (first on ties) if it is below the depth —
  the sequential rule of ``_voids``, one removal per profile per round;
* half-level crossings: all voids walk outwards one sample per round until they reach the
  level; sums over a void's samples (BMD loss) and over a line's voids ("line"
  aggregation) are accumulated one term per round in the kernels' order.

Every floating-point operation is the kernels' own, in the same order, in float64, so the
results are the same numbers (not only close ones): the stored per-sample values are
float32 as in the kernels, the per-voxel sums float64.

Memory: a lattice is processed in chunks of whole lines of at most :data:`CHUNK_SAMPLES`
samples (2¹⁶; smaller chunks stay in cache and were fastest here). Peak memory is the
chunk's temporaries (≈ 250–450 bytes per chunk sample: ≤ 30 MB), a float64 copy of the
image (8 bytes per grid voxel), ≈ 70 bytes per ROI voxel for the gather, 4 bytes per
lattice sample inside the ROI's box and ≈ 30 bytes per void. Measured with tracemalloc on
the demo phantom (1.4 M grid voxels, 187 660 ROI voxels): 28 MB for a 2D orientation,
37 MB for a 3D one.
"""

from __future__ import annotations

import numpy as np

from osteoimaging.focal.parameters import HALF_LEVEL_CODES

CHUNK_SAMPLES = 1 << 16


# -- lattice geometry --------------------------------------------------------------------
def extent(coords: np.ndarray, centre: np.ndarray, axes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Min and max of (coords − centre) projected on each row of ``axes`` (as ``_extent``)."""
    diff = [coords[:, c] - centre[c] for c in range(3)]
    lo = np.empty(len(axes))
    hi = np.empty(len(axes))
    for a in range(len(axes)):
        v = diff[0] * axes[a, 0] + diff[1] * axes[a, 1] + diff[2] * axes[a, 2]
        lo[a] = v.min() if v.size else np.inf
        hi[a] = v.max() if v.size else -np.inf
    return lo, hi


def _line_windows(origin, axes, shape, steps, box_lo, box_hi):
    """Per line (k2·nv1 + k1): its base point and the sample window [k_lo, k_hi) that
    ``_trace`` analyses (the line clipped to the box), empty where it misses the box."""
    d, n1, n2 = axes
    du, dv1, dv2 = steps
    nv2, nv1, nu = shape
    k2, k1 = np.divmod(np.arange(nv2 * nv1, dtype=np.int64), nv1)
    base = [origin[a] + k1 * dv1 * n1[a] + k2 * dv2 * n2[a] for a in range(3)]
    t_lo = np.full(len(k1), -np.inf)
    t_hi = np.full(len(k1), np.inf)
    for a in range(3):
        step = du * d[a]
        if abs(step) > 1e-12:
            t1 = (box_lo[a] - base[a]) / step
            t2 = (box_hi[a] - base[a]) / step
            t_lo = np.maximum(t_lo, np.minimum(t1, t2))
            t_hi = np.minimum(t_hi, np.maximum(t1, t2))
        else:
            t_hi[(base[a] < box_lo[a]) | (base[a] > box_hi[a])] = -np.inf
    hit = ~(t_lo > t_hi)
    k_lo = np.zeros(len(k1), np.int64)
    k_hi = np.zeros(len(k1), np.int64)
    k_lo[hit] = np.maximum(0, np.floor(t_lo[hit]).astype(np.int64) - 1)
    k_hi[hit] = np.minimum(nu, np.ceil(t_hi[hit]).astype(np.int64) + 3)
    k_hi = np.maximum(k_hi, k_lo)
    return base, k_lo, k_hi


def _chunks(lengths: np.ndarray, chunk_samples: int) -> list[tuple[int, int]]:
    """Consecutive line ranges [a, b) of at most ``chunk_samples`` samples (≥ 1 line)."""
    ends = np.cumsum(lengths)
    out = []
    a, done = 0, 0
    n = len(lengths)
    while a < n:
        b = int(np.searchsorted(ends, done + chunk_samples, side="right"))
        b = max(b, a + 1)
        out.append((a, b))
        done = int(ends[b - 1])
        a = b
    return out


# -- sampling ------------------------------------------------------------------------------
def _trilinear(flat: np.ndarray, shape: tuple[int, int, int], x, y, z) -> np.ndarray:
    """``_trilinear`` on arrays of positions: same floor, clamping and ``fz == 0`` case.

    ``flat`` is the image raveled as float64 (the kernel multiplies its float32 values,
    converted exactly, by float64 weights: the same products)."""
    nz, ny, nx = shape
    x0 = np.floor(x)
    y0 = np.floor(y)
    z0 = np.floor(z)
    fx = x - x0
    fy = y - y0
    fz = z - z0
    x0 = np.minimum(np.maximum(x0.astype(np.int64), 0), nx - 1)
    y0 = np.minimum(np.maximum(y0.astype(np.int64), 0), ny - 1)
    z0 = np.minimum(np.maximum(z0.astype(np.int64), 0), nz - 1)
    x1 = np.minimum(x0 + 1, nx - 1)
    row00 = (z0 * ny + y0) * nx
    row01 = (z0 * ny + np.minimum(y0 + 1, ny - 1)) * nx
    gx = 1 - fx
    c00 = flat[row00 + x0] * gx + flat[row00 + x1] * fx
    c01 = flat[row01 + x0] * gx + flat[row01 + x1] * fx
    out = c00 * (1 - fy) + c01 * fy  # bilinear where fz == 0 (every sample in 2D mode)
    m = np.flatnonzero(fz != 0.0)
    if m.size:
        z1 = np.minimum(z0[m] + 1, nz - 1)
        y1 = np.minimum(y0[m] + 1, ny - 1)
        r10 = (z1 * ny + y0[m]) * nx
        r11 = (z1 * ny + y1) * nx
        xm0, xm1, fxm, gxm = x0[m], x1[m], fx[m], gx[m]
        c10 = flat[r10 + xm0] * gxm + flat[r10 + xm1] * fxm
        c11 = flat[r11 + xm0] * gxm + flat[r11 + xm1] * fxm
        c1 = c10 * (1 - fy[m]) + c11 * fy[m]
        out[m] = out[m] * (1 - fz[m]) + c1 * fz[m]
    return out


def _sample_chunk(bmd_flat, roi_flat, grid, base, k_lo, k_hi, step):
    """Window samples of a chunk of lines: which are inside the ROI and their values.

    Returns (inside flags over the window samples, k of every window sample, values of the
    inside samples in order). Positions are ``base + k·step`` as in ``_trace``; along an
    axis the line does not move in (step exactly 0) that is the base itself."""
    nz, ny, nx = grid
    lengths = k_hi - k_lo
    total = int(lengths.sum())
    line = np.repeat(np.arange(len(lengths)), lengths)
    first = np.cumsum(lengths) - lengths
    k = np.arange(total, dtype=np.int64) + np.repeat(k_lo - first, lengths)
    pos = []
    idx = []
    ok = np.ones(total, bool)
    for a, n in enumerate((nx, ny, nz)):
        if step[a] == 0.0:
            p_line = base[a]
            i_line = np.floor(p_line + 0.5).astype(np.int64)
            ok &= np.repeat((i_line >= 0) & (i_line < n), lengths)
            pos.append(np.repeat(p_line, lengths))
            idx.append(np.repeat(i_line, lengths))
        else:
            p = base[a][line] + k * step[a]
            i = np.floor(p + 0.5).astype(np.int64)
            ok &= (i >= 0) & (i < n)
            pos.append(p)
            idx.append(i)
    sel = np.flatnonzero(ok)
    inside = np.zeros(total, bool)
    inside[sel] = roi_flat[(idx[2][sel] * ny + idx[1][sel]) * nx + idx[0][sel]]
    sel = np.flatnonzero(inside)
    values = _trilinear(bmd_flat, grid, pos[0][sel], pos[1][sel], pos[2][sel])
    return inside, k, values


# -- profiles ------------------------------------------------------------------------------
def _extrema(p: np.ndarray, run_of: np.ndarray):
    """Interior extrema of every run of ``p`` (``run_of``: run index of each sample, runs
    contiguous): arrays run, start, stop, value, kind (+1 max, −1 min), in profile order.

    A run of equal values is an extremum when the non-zero differences just before and just
    after it (inside the same run) have opposite signs: the plateau rule of :mod:`.profiles`.
    """
    diff = p[1:] - p[:-1]
    q = np.flatnonzero((run_of[1:] == run_of[:-1]) & (diff != 0))
    qa, qb = q[:-1], q[1:]
    up = diff[q] > 0
    down = diff[q] < 0
    same = run_of[qa] == run_of[qb]
    is_max = same & up[:-1] & down[1:]
    is_min = same & down[:-1] & up[1:]
    sel = np.flatnonzero(is_max | is_min)
    start = qa[sel] + 1
    return run_of[start], start, qb[sel], p[start], np.where(is_max[sel], 1, -1)


def _simplify(run: np.ndarray, value: np.ndarray, min_depth: float) -> np.ndarray:
    """Mask of the extrema kept by the persistence rule of ``_voids``: per run, repeatedly
    remove the adjacent pair with the smallest |difference| (first on ties) while it is
    below ``min_depth``; one removal per run and round, all runs at once."""
    kept = np.ones(len(run), bool)
    active = np.zeros(int(run.max()) + 1 if len(run) else 0, bool)
    cur = np.arange(len(run))
    while cur.size >= 2:
        r = run[cur]
        v = value[cur]
        dd = np.full(len(cur), np.inf)  # pair (i, i+1); inf across runs and at the end
        same = r[:-1] == r[1:]
        dd[:-1][same] = np.abs(v[:-1] - v[1:])[same]
        seg = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        smallest = np.minimum.reduceat(dd, seg)
        smallest = np.repeat(smallest, np.diff(np.r_[seg, len(cur)]))
        cand = np.flatnonzero((dd == smallest) & (smallest < min_depth))
        if not cand.size:
            break
        first = cand[np.r_[True, r[cand[1:]] != r[cand[:-1]]]]
        kept[cur[first]] = False
        kept[cur[first + 1]] = False
        active[:] = False
        active[r[first]] = True
        cur = cur[kept[cur] & active[r]]
    return kept


def _walk(p: np.ndarray, i: np.ndarray, level: np.ndarray, step: int, limit: np.ndarray):
    """From each start ``i``, move by ``step`` while ``p[i] < level`` and ``i`` has not
    reached ``limit`` (the valley's ridge), all walks at once."""
    i = i.copy()
    act = np.flatnonzero((p[i] < level) & (i != limit))
    while act.size:
        i[act] += step
        ia = i[act]
        act = act[(p[ia] < level[act]) & (ia != limit[act])]
    return i


def _ordered_sums(values: np.ndarray, first: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Σ values[first_j … first_j + length_j − 1], added left to right from 0 — the order of
    the kernels' loops, so the float64 results are the same (one term per round)."""
    out = np.zeros(len(first))
    if not len(first):
        return out
    order = np.argsort(-length, kind="stable")
    f = first[order]
    n_longer = np.searchsorted(-length[order], -np.arange(int(length.max())), side="left")
    acc = np.zeros(len(order))
    for m, n in enumerate(n_longer):
        acc[:n] += values[f[:n] + m]
    out[order] = acc
    return out


def _levels(run, value, kind, j, half_level: int):
    """(left, right) half levels of the valleys ``j`` by the reading ``half_level`` (the
    codes of ``_voids``) and the mask of the valleys that have a void."""
    vmin, a, b = value[j], value[j - 1], value[j + 1]
    if half_level == 0:
        return 0.5 * (a + vmin), 0.5 * (b + vmin), np.ones(len(j), bool)
    if half_level in (1, 2):
        h = 0.5 * ((np.minimum(a, b) if half_level == 1 else np.maximum(a, b)) + vmin)
        return h, h, np.ones(len(j), bool)
    n_runs = int(run.max()) + 1
    top = np.full(n_runs, -np.inf)
    bottom = np.full(n_runs, np.inf)
    np.maximum.at(top, run[kind == 1], value[kind == 1])
    np.minimum.at(bottom, run[kind == -1], value[kind == -1])
    h = 0.5 * (top[run[j]] + bottom[run[j]])
    return h, h, vmin < h


def find_voids(
    p: np.ndarray, run_of: np.ndarray, run_first: np.ndarray, min_depth: float,
    half_level: int = 0,
):  # fmt: skip
    """Voids of every run of ``p`` (runs contiguous; ``run_first`` their first indices).

    Returns (run, left, right, mid): the run of each void, its half-level crossings and
    its minimum's position in sample units from the run's first sample, voids ordered by
    run and position — :func:`.profiles.find_voids` on each run, all runs at once
    (``half_level``: the code of the reading, :data:`~.parameters.HALF_LEVEL_CODES`).
    """
    run, start, stop, value, kind = _extrema(p, run_of)
    if min_depth > 0 and len(run) >= 2:
        keep = _simplify(run, value, min_depth)
        run, start, stop, value, kind = run[keep], start[keep], stop[keep], value[keep], kind[keep]
    if len(run) < 3:
        empty = np.zeros(0)
        return np.zeros(0, np.int64), empty, empty, empty
    mid = run[1:-1]
    j = 1 + np.flatnonzero((kind[1:-1] == -1) & (run[:-2] == mid) & (run[2:] == mid))
    h_left, h_right, has = _levels(run, value, kind, j, half_level)
    if not has.all():
        j, h_left, h_right = j[has], h_left[has], h_right[has]
    i_left = _walk(p, start[j] - 1, h_left, -1, stop[j - 1])
    i_right = _walk(p, stop[j] + 1, h_right, 1, start[j + 1])
    rs = run_first[run[j]]
    with np.errstate(divide="ignore", invalid="ignore"):  # clipped voids: not used
        left = (i_left - rs) + (p[i_left] - h_left) / (p[i_left] - p[i_left + 1])
        right = (i_right - rs) - (p[i_right] - h_right) / (p[i_right] - p[i_right - 1])
    clip = p[i_left] < h_left  # the walk reached a ridge below the level
    left[clip] = (i_left - rs)[clip]
    clip = p[i_right] < h_right
    right[clip] = (i_right - rs)[clip]
    centre = 0.5 * ((start[j] - rs) + (stop[j] - rs))
    return run[j], left, right, centre


def voids_of_profiles(
    profiles, min_depth: float = 0.0, half_level: int = 0
) -> list[list[tuple[float, float, float]]]:
    """Voids (left, right crossing, minimum; sample units) of each 1D profile, all at once."""
    arrays = [np.asarray(p, dtype=float).ravel() for p in profiles]
    lengths = np.array([len(a) for a in arrays], np.int64)
    p = np.concatenate(arrays) if arrays else np.zeros(0)
    run_of = np.repeat(np.arange(len(arrays)), lengths)
    run_first = np.cumsum(lengths) - lengths
    run, left, right, mid = find_voids(p, run_of, run_first, float(min_depth), half_level)
    out: list[list[tuple[float, float, float]]] = [[] for _ in arrays]
    for r, a, b, c in zip(run.tolist(), left.tolist(), right.tolist(), mid.tolist(), strict=True):
        out[r].append((a, b, c))
    return out


def _chunk_entries(p, run_of, run_first, run_offset, params, line_mode):
    """Void values of the runs of one chunk and the entry each sample reads (−1: none).

    Entries are voids ("local": left/right crossing and minimum in lattice sample units)
    or runs with at least one void ("line": ±inf, NaN, means over the run's voids), as
    ``_analyse_run`` writes them."""
    run, left, right, mid = find_voids(
        p, run_of, run_first, params.min_valley_depth, HALF_LEVEL_CODES[params.half_level]
    )
    step_mm = params.sample_step_mm
    tissue = float(params.tissue_bmd)
    rs = run_first[run]
    i0 = np.ceil(left).astype(np.int64)
    i1 = np.floor(right).astype(np.int64)
    n_in = i1 - i0 + 1
    loss = _ordered_sums((tissue - p) / tissue, rs + i0, n_in) / n_in
    width = (right - left) * step_mm
    sample_entry = np.full(len(p), -1, np.int64)
    if line_mode:
        if params.width == "half":
            width = width * 0.5
        n_runs = len(run_first)
        nv = np.bincount(run, minlength=n_runs)
        has = np.flatnonzero(nv)
        first_void = (np.cumsum(nv) - nv)[has]
        nvh = nv[has]
        sums = [_ordered_sums(a, first_void, nvh) for a in (width, loss, loss * width)]
        entry_of_run = np.full(n_runs, -1, np.int64)
        entry_of_run[has] = np.arange(len(has))
        sample_entry = entry_of_run[run_of]
        inf = np.full(len(has), np.inf)
        return sample_entry, (-inf, inf, np.full(len(has), np.nan), *(s / nvh for s in sums))
    # Each void's samples i0 … i1 (consecutive voids share at most a ridge sample: the
    # later one wins, as the kernel writes voids left to right).
    shift = rs + i0 - (np.cumsum(n_in) - n_in)
    g = np.arange(int(n_in.sum()), dtype=np.int64) + np.repeat(shift, n_in)
    void = np.repeat(np.arange(len(run), dtype=np.int64), n_in)
    if g.size and np.all(g[1:] >= g[:-1]):
        last = np.r_[g[1:] != g[:-1], True]
        sample_entry[g[last]] = void[last]
    else:
        np.maximum.at(sample_entry, g, void)
    offset = run_offset[run]
    return sample_entry, (left + offset, right + offset, mid + offset, width, loss, loss * width)


# -- one lattice ---------------------------------------------------------------------------
def trace_and_gather(bmd, roi, coords, box, sums, origin, axes, shape, steps, params,
                     chunk_samples: int | None = None) -> None:  # fmt: skip
    """Trace one lattice and let every ROI voxel read it: ``_trace`` + ``_gather`` of
    :mod:`.starlines` (same arguments; ``sums`` has arrays width, bmd_loss, bmc_loss, count).
    ``chunk_samples`` bounds the samples analysed at once (None: :data:`CHUNK_SAMPLES`)."""
    chunk_samples = chunk_samples or CHUNK_SAMPLES
    d = axes[0]
    du, dv1, dv2 = steps
    line_mode = params.aggregation == "line"
    margin = 1.0 + max(dv1, dv2)
    box_lo, box_hi = box[0] - margin, box[1] + margin
    base, k_lo, k_hi = _line_windows(origin, axes, shape, steps, box_lo, box_hi)
    lengths = k_hi - k_lo
    win_first = np.cumsum(lengths) - lengths
    entry = np.full(int(lengths.sum()), -1, np.int32)
    tables: list[tuple[np.ndarray, ...]] = []
    n_entries = 0
    bmd_flat = np.asarray(bmd, dtype=np.float32).astype(np.float64).ravel()
    roi_flat = np.ascontiguousarray(roi, dtype=np.bool_).ravel()
    step = (du * d[0], du * d[1], du * d[2])
    for a, b in _chunks(lengths, chunk_samples):
        lines = slice(a, b)
        inside, k, p = _sample_chunk(
            bmd_flat, roi_flat, roi.shape, [c[lines] for c in base], k_lo[lines], k_hi[lines],
            step,
        )  # fmt: skip
        if not p.size:
            continue
        where = np.flatnonzero(inside)
        # runs: inside samples whose predecessor is outside or on another line
        starts = np.ones(len(where), bool)
        starts[1:] = where[1:] != where[:-1] + 1
        line_start = np.zeros(len(inside), bool)
        line_start[(win_first[lines] - win_first[a])[lengths[lines] > 0]] = True
        starts |= line_start[where]
        run_first = np.flatnonzero(starts)
        run_of = np.cumsum(starts) - 1
        sample_entry, table = _chunk_entries(
            p, run_of, run_first, k[where[run_first]], params, line_mode
        )
        got = sample_entry >= 0
        entry[win_first[a] + where[got]] = sample_entry[got] + n_entries
        n_entries += len(table[0])
        tables.append(table)
    if not n_entries:
        return
    lo, hi, mid, w, loss, bmc = (np.concatenate(col) for col in zip(*tables, strict=True))
    w, loss, bmc = (a.astype(np.float32) for a in (w, loss, bmc))
    half = params.sample_step_mm if params.width == "half" and not line_mode else None
    _gather(coords, origin, axes, steps, shape, line_mode, params.line_phases,
            (k_lo, k_hi, win_first, entry), (lo, hi, mid, w, loss, bmc), sums,
            half)  # fmt: skip


def _gather(coords, origin, axes, steps, shape, line_mode, n_phases, lattice, table, sums,
            half_step_mm=None):  # fmt: skip
    """``_gather``: each voxel reads the entry of its nearest line at its own position;
    ``half_step_mm`` (the sample step): half widths on the voxel's side of the minimum."""
    d, n1, n2 = axes
    du, dv1, dv2 = steps
    nv2, nv1, _ = shape
    k_lo, k_hi, win_first, entry = lattice
    lo, hi, mid, w, loss, bmc = table
    rx = coords[:, 0] - origin[0]
    ry = coords[:, 1] - origin[1]
    rz = coords[:, 2] - origin[2]
    u = (rx * d[0] + ry * d[1] + rz * d[2]) / du
    vox = np.arange(len(u))
    if n_phases > 1:
        ph = u + 0.5 / n_phases
        keep = ~(ph - np.floor(ph) >= 1.0 / n_phases)
        vox, rx, ry, rz, u = vox[keep], rx[keep], ry[keep], rz[keep], u[keep]
    k1 = np.floor((rx * n1[0] + ry * n1[1] + rz * n1[2]) / dv1 + 0.5)
    k2 = np.floor((rx * n2[0] + ry * n2[1] + rz * n2[2]) / dv2 + 0.5)
    ok = (k1 >= 0) & (k1 < nv1) & (k2 >= 0) & (k2 < nv2)
    vox, u = vox[ok], u[ok]
    line = k2[ok].astype(np.int64) * nv1 + k1[ok].astype(np.int64)

    def read(k, line):
        """Entry of sample k of each line (−1 outside the traced window)."""
        lo_k = k_lo[line]
        inwin = (k >= lo_k) & (k < k_hi[line])
        e = np.full(len(k), -1, np.int64)
        e[inwin] = entry[(win_first[line] - lo_k + k)[inwin]]
        return e

    if line_mode:
        e = read(np.floor(u + 0.5).astype(np.int64), line)
        hit = np.flatnonzero(e >= 0)
        got, e = vox[hit], e[hit]
    else:
        k0 = np.floor(u).astype(np.int64)
        e = read(k0, line)
        safe = np.maximum(e, 0)
        first = (e >= 0) & (lo[safe] <= u) & (u <= hi[safe])
        rest = np.flatnonzero(~first)
        e1 = read(k0[rest] + 1, line[rest])
        safe = np.maximum(e1, 0)
        second = (e1 >= 0) & (lo[safe] <= u[rest]) & (u[rest] <= hi[safe])
        got = np.concatenate([vox[first], vox[rest[second]]])
        at = np.concatenate([u[first], u[rest[second]]])
        e = np.concatenate([e[first], e1[second]])
        if half_step_mm is not None:
            m, a, b = mid[e], lo[e], hi[e]
            hw = np.where(
                at < m,
                (m - a) * half_step_mm,
                np.where(at > m, (b - m) * half_step_mm, (b - a) * half_step_mm * 0.5),
            )
            sums.width[got] += hw
            sums.bmd_loss[got] += loss[e]
            sums.bmc_loss[got] += loss[e] * hw
            sums.count[got] += 1
            return
    sums.width[got] += w[e]
    sums.bmd_loss[got] += loss[e]
    sums.bmc_loss[got] += bmc[e]
    sums.count[got] += 1
