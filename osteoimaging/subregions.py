"""Anatomical sub-regions of the ROI and per-sub-region means of the maps.

The ROI is split in the aligned frame into thirds along the cranio-caudal axis
(superior / middle / inferior) and the antero-posterior axis (anterior / middle /
posterior), optionally halves along the left–right axis: 9 or 18 sub-regions. Li et
al. (JOR Spine 2022;5:e1195, Figure 7) show why: two vertebrae with equal BMD can carry
very different focal defects, located in different parts of the body.

Thirds are equal thirds of the ROI's extent along each axis (boundaries at ⅓ and ⅔
between its extreme voxel centres); left/right halves split at the middle of the
extent. Axes come from the ROI grid's direction (columns = left, posterior, superior in
LPS, as :mod:`osteoimaging.alignment` builds them), oriented by their LPS components.

Per-sub-region mean of a map = mean over the sub-region's ROI voxels with a value (NaN
excluded). These are volume-weighted: Σ n_r·mean_r / Σ n_r over the sub-regions equals
the ROI mean of the map, n_r being the voxels with a value in sub-region r.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

CRANIO_CAUDAL = ("superior", "middle", "inferior")
ANTERO_POSTERIOR = ("anterior", "middle", "posterior")
LEFT_RIGHT = ("right", "left")


def _oriented_axes(direction: np.ndarray) -> np.ndarray:
    """Columns: the grid axes closest to LPS x (left), y (posterior), z (superior), signed."""
    d = np.asarray(direction, dtype=float)
    out = np.zeros((3, 3))
    used: set[int] = set()
    for lps in (2, 1, 0):
        order = np.argsort(-np.abs(d[lps, :]))
        col = next(int(c) for c in order if int(c) not in used)
        used.add(col)
        v = d[:, col]
        out[:, lps] = v if v[lps] >= 0 else -v
    return out


def region_name(cc: int, ap: int, lr: int | None = None) -> str:
    """E.g. ``superior-anterior`` or ``middle-posterior-left``."""
    name = f"{CRANIO_CAUDAL[cc]}-{ANTERO_POSTERIOR[ap]}"
    return name if lr is None else f"{name}-{LEFT_RIGHT[lr]}"


def subregion_labels(roi: Volume, left_right: bool = False) -> tuple[np.ndarray, list[str]]:
    """Label array (0 outside the ROI, n ≥ 1 inside) and the names (label n → names[n - 1])."""
    arr = roi.array.astype(bool)
    if not arr.any():
        raise InputError("the ROI is empty: no sub-regions")
    idx = np.argwhere(arr)
    pts = roi.index_to_physical(idx[:, ::-1].astype(float))
    axes = _oriented_axes(roi.direction)
    q = np.einsum("nj,jk->nk", pts, axes)  # along left, posterior, superior (no BLAS: see Volume)

    def bins(values: np.ndarray, n: int) -> np.ndarray:
        lo, hi = float(values.min()), float(values.max())
        if hi - lo < 1e-9:
            return np.zeros(values.shape, dtype=int)
        return np.clip(((values - lo) / (hi - lo) * n).astype(int), 0, n - 1)

    # Superior first: bin 0 = highest z.
    cc = 2 - bins(q[:, 2], 3)
    ap = bins(q[:, 1], 3)  # anterior (small y) first
    names: list[str] = []
    if left_right:
        lr = bins(q[:, 0], 2)  # right (small x) first
        code = (cc * 3 + ap) * 2 + lr
        names = [region_name(c, a, s) for c in range(3) for a in range(3) for s in range(2)]
    else:
        code = cc * 3 + ap
        names = [region_name(c, a) for c in range(3) for a in range(3)]
    labels = np.zeros(arr.shape, dtype=np.uint8)
    labels[tuple(idx.T)] = code + 1
    return labels, names


def subregion_means(
    maps: dict[str, Volume], roi: Volume, left_right: bool = False
) -> dict[str, dict[str, float]]:
    """``{region: {map: mean, map + "_n": voxels with a value}}`` plus ``"roi"`` for all."""
    labels, names = subregion_labels(roi, left_right)
    inside = np.flatnonzero(labels)  # only the ROI's voxels are read (not the whole grid)
    region = labels.ravel()[inside]
    out: dict[str, dict[str, float]] = {name: {} for name in [*names, "roi"]}
    for key, vol in maps.items():
        if vol.shape != roi.shape:
            raise InputError(f"map '{key}' is not on the ROI grid")
        values = np.asarray(vol.array).ravel()[inside].astype(np.float64)
        valid = np.isfinite(values)
        sums = np.bincount(region[valid], weights=values[valid], minlength=len(names) + 1)
        counts = np.bincount(region[valid], minlength=len(names) + 1)
        for n, name in enumerate(names, start=1):
            out[name][key] = float(sums[n] / counts[n]) if counts[n] else float("nan")
            out[name][f"{key}_n"] = int(counts[n])
        total = int(counts[1:].sum())
        out["roi"][key] = float(sums[1:].sum() / total) if total else float("nan")
        out["roi"][f"{key}_n"] = total
    return out


_MAP_LABELS = {
    "focal_bmc_loss": "focal BMC loss",
    "focal_bmd_loss": "focal BMD loss",
    "intercept_width": "intercept width",
    "bmd": "BMD",
}


def subregion_figure(
    means: dict[str, dict[str, float]],
    key: str,
    path: str | Path,
    *,
    title: str = "",
    units: str = "",
    cmap: str = "viridis",
) -> Path:
    """:func:`subregion_image` written as PNG to ``path`` (atomically)."""
    from osteoimaging.render import save_png

    return save_png(subregion_image(means, key, title=title, units=units, cmap=cmap), path)


def subregion_image(
    means: dict[str, dict[str, float]],
    key: str,
    *,
    title: str = "",
    units: str = "",
    cmap: str = "viridis",
):
    """A coloured grid (rows superior→inferior, columns anterior→posterior) of one map.

    With left/right halves the patient's right half is drawn first (on the left), as in
    radiological views. Each cell gives the mean and its voxel count
    (:mod:`osteoimaging.render`, Pillow only). Returns a PIL image.
    """
    from osteoimaging.render import subregion_grid_figure

    sides: list[int | None] = [None] if "superior-anterior" in means else [0, 1]
    grids, counts = [], []
    for lr in sides:
        names = [[region_name(c, a, lr) for a in range(3)] for c in range(3)]
        grids.append(np.array([[means[n].get(key, np.nan) for n in row] for row in names]))
        counts.append(np.array([[means[n].get(f"{key}_n", 0) for n in row] for row in names]))
    image = subregion_grid_figure(
        grids,
        panel_titles=None if sides == [None] else [f"{LEFT_RIGHT[s]} half" for s in sides],
        counts=counts,
        title=title,
        label=_MAP_LABELS.get(key, key.replace("_", " ")),
        units=units,
        cmap=cmap,
    )
    return image
