"""Local thickness: the diameter of the largest inscribed sphere containing each voxel.

Definition (Hildebrand & Rüegsegger, J Microsc 1997;185:67–75): for a point p of the
structure Ω, τ(p) = 2·max{r : p ∈ sph(x, r) ⊆ Ω, x ∈ Ω}. Mean τ over the bone is Tb.Th;
over the marrow (the complement within the volume of interest) it is Tb.Sp.

Algorithm (our implementation):

1. The exact Euclidean distance transform D (scipy, physical spacing) gives, for every
   voxel centre x of the phase, the distance to the nearest voxel centre of the other
   phase.
2. Sphere centres are restricted to the distance ridge: x is dropped when a neighbour n
   (26-neighbourhood) has D(n) ≥ D(x) + |x − n| − tol, i.e. x's sphere lies inside
   n's (Hildebrand & Rüegsegger 1997, "it is sufficient to consider spheres centred on
   the medial axis"; the same reduction as Dougherty & Kunzelmann's Local Thickness
   plugin used by BoneJ). With ``ridge_tolerance=0`` the reduction is exact in the
   continuous sense; the default 0.25 voxel removes far more centres and changes the
   map by far less than a voxel (measured against all centres in the tests).
3. Every phase voxel centre strictly inside the sphere of radius D(x) around x (it
   holds no centre of the other phase) gets max(current, 2·(D(x) − δ)). D measures to
   the nearest other-phase voxel *centre*, half a voxel beyond the voxel-face surface,
   so 2·D overestimates by up to one voxel; but spheres can only be centred on voxel
   centres, so a slab of an even number t of voxels has its best centre half a voxel
   off the mid-plane and 2·D = t·s there, while an odd slab gives 2·D = (t + 1)·s.
   We take δ = ¼ of the voxel extent along the direction u to the nearest other-phase
   centre (¼·√Σ(u_a s_a)²; ¼ s on isotropic grids): slabs then measure t·s ± ½ s
   (+ for odd, − for even t) and rasterised rods and spheres of radius r measure 2r
   within ½ s — unbiased to within half a voxel, the resolution limit of any
   voxel-centred sphere fitting.
4. The painting runs in a numba loop, largest spheres first. The array border is not a
   boundary: structures are assumed to continue beyond the volume (scipy's EDT
   convention), the usual choice for cubes cut out of a larger specimen.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import ndimage

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

_OFFSETS = np.array(
    [
        (dz, dy, dx)
        for dz in (-1, 0, 1)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dz, dy, dx) != (0, 0, 0)
    ],
    dtype=np.int64,
)


@numba.njit(cache=True)
def _ridge_centres(phase, dist, spacing, offsets, tol):
    """Indices (N, 3) of phase voxels not enclosed by a neighbour's sphere."""
    nz, ny, nx = phase.shape
    olen = np.sqrt(
        (offsets[:, 0] * spacing[0]) ** 2
        + (offsets[:, 1] * spacing[1]) ** 2
        + (offsets[:, 2] * spacing[2]) ** 2
    )
    out = np.empty((int(phase.sum()), 3), dtype=np.int64)
    n = 0
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                if not phase[k, j, i]:
                    continue
                d = dist[k, j, i]
                keep = True
                for o in range(offsets.shape[0]):
                    kk = k + offsets[o, 0]
                    jj = j + offsets[o, 1]
                    ii = i + offsets[o, 2]
                    if kk < 0 or jj < 0 or ii < 0 or kk >= nz or jj >= ny or ii >= nx:
                        continue
                    if dist[kk, jj, ii] >= d + olen[o] - tol:
                        keep = False
                        break
                if keep:
                    out[n, 0] = k
                    out[n, 1] = j
                    out[n, 2] = i
                    n += 1
    return out[:n]


@numba.njit(cache=True)
def _box(d, sz, sy, sx):
    """Half-widths (voxels) of the box that holds a sphere of radius d."""
    return int(np.ceil(d / sz)), int(np.ceil(d / sy)), int(np.ceil(d / sx))


@numba.njit(cache=True)
def _surface_offset(phase, dist, k, j, i, spacing):
    """A quarter of the voxel extent along the direction to the nearest other-phase centre.

    ¼·√(Σ (u_a s_a)²) for the unit vector u towards the nearest other-phase centre:
    ¼ s on isotropic grids, ¼ s_a along an axis a of an anisotropic grid. Ties: the
    largest offset (the smaller, conservative sphere).
    """
    sz, sy, sx = spacing[0], spacing[1], spacing[2]
    if sz == sy and sy == sx:
        return 0.25 * sz
    nz, ny, nx = phase.shape
    d = dist[k, j, i]
    d2 = d * d * (1.0 + 1e-5) + 1e-12
    wz, wy, wx = _box(d, sz, sy, sx)
    best = 0.0
    for kk in range(max(k - wz, 0), min(k + wz + 1, nz)):
        vz = (kk - k) * sz
        for jj in range(max(j - wy, 0), min(j + wy + 1, ny)):
            vy = (jj - j) * sy
            for ii in range(max(i - wx, 0), min(i + wx + 1, nx)):
                if phase[kk, jj, ii]:
                    continue
                vx = (ii - i) * sx
                q = vz * vz + vy * vy + vx * vx
                if q <= d2 and q > 0:
                    off = 0.25 * math.sqrt(((vz * sz) ** 2 + (vy * sy) ** 2 + (vx * sx) ** 2) / q)
                    if off > best:
                        best = off
    if best == 0.0:  # the nearest boundary is outside the box (should not happen)
        best = 0.25 * min(sz, min(sy, sx))
    return best


@numba.njit(cache=True)
def _paint_spheres(phase, dist, centres, spacing, out):
    """Paint 2·(D − offset) on the phase voxel centres strictly inside each centre's sphere."""
    nz, ny, nx = phase.shape
    sz, sy, sx = spacing[0], spacing[1], spacing[2]
    for c in range(centres.shape[0]):
        k, j, i = centres[c, 0], centres[c, 1], centres[c, 2]
        d = dist[k, j, i]
        value = 2.0 * (d - _surface_offset(phase, dist, k, j, i, spacing))
        r2 = d * d
        wz, wy, wx = _box(d, sz, sy, sx)
        for kk in range(max(k - wz, 0), min(k + wz + 1, nz)):
            dz2 = ((kk - k) * sz) ** 2
            if dz2 >= r2:
                continue
            for jj in range(max(j - wy, 0), min(j + wy + 1, ny)):
                dzy2 = dz2 + ((jj - j) * sy) ** 2
                if dzy2 >= r2:
                    continue
                for ii in range(max(i - wx, 0), min(i + wx + 1, nx)):
                    if (
                        dzy2 + ((ii - i) * sx) ** 2 < r2
                        and phase[kk, jj, ii]
                        and out[kk, jj, ii] < value
                    ):
                        out[kk, jj, ii] = value


def local_thickness_array(
    phase: np.ndarray,
    spacing_zyx: tuple[float, float, float],
    *,
    ridge_tolerance: float = 0.25,
) -> np.ndarray:
    """Local thickness map (mm, float32) of a boolean 3D array; 0 outside the phase.

    ``ridge_tolerance`` is in units of the smallest voxel size (0 = exact ridge rule; a
    negative value uses every phase voxel as a centre, the brute-force reference).
    """
    phase = np.ascontiguousarray(phase, dtype=bool)
    if phase.ndim != 3:
        raise InputError(f"local thickness needs a 3D array, got {phase.ndim}D")
    spacing = np.asarray(spacing_zyx, dtype=np.float64)
    if spacing.shape != (3,) or not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        raise InputError(f"invalid voxel spacing {tuple(spacing_zyx)}")
    out = np.zeros(phase.shape, dtype=np.float32)
    if not phase.any():
        return out
    if phase.all():
        raise InputError("the phase fills the whole volume: its thickness is undefined")
    dist = ndimage.distance_transform_edt(phase, sampling=spacing).astype(np.float32)
    if ridge_tolerance < 0:
        centres = np.argwhere(phase).astype(np.int64)
    else:
        tol = float(ridge_tolerance) * float(spacing.min())
        centres = _ridge_centres(phase, dist, spacing, _OFFSETS, tol)
    order = np.argsort(-dist[centres[:, 0], centres[:, 1], centres[:, 2]], kind="stable")
    _paint_spheres(phase, dist, np.ascontiguousarray(centres[order]), spacing, out)
    return out


def local_thickness(phase: Volume, *, ridge_tolerance: float = 0.25) -> Volume:
    """Local thickness map (mm) of a boolean volume, on the same grid (0 outside the phase)."""
    arr = local_thickness_array(
        phase.array.astype(bool, copy=False), phase.spacing_zyx, ridge_tolerance=ridge_tolerance
    )
    return phase.with_array(arr, quantity="local thickness", units="mm")
