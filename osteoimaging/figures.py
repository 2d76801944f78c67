"""Static pictures (PNG) for the CLI and reports, with matplotlib's Agg backend.

Slices are shown in the volume's own voxel axes with the physical aspect ratio;
radiological orientation conventions are the viewer's job (Slicer), not this module's.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from osteoimaging.atomic import atomic_path
from osteoimaging.volume import Volume


def _centre_of(mask: Volume | None, volume: Volume) -> tuple[int, int, int]:
    if mask is not None and mask.array.any():
        idx = np.argwhere(mask.array)
        return tuple(int(v) for v in np.round(idx.mean(axis=0)))  # type: ignore[return-value]
    return tuple(n // 2 for n in volume.shape)  # type: ignore[return-value]


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 120) -> Path:
    """Save a figure atomically as PNG and close it."""
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(path)


def mid_slices_png(
    ct: Volume,
    path: str | Path,
    mask: Volume | None = None,
    window: tuple[float, float] = (400.0, 1500.0),
    title: str = "",
) -> Path:
    """Axial, coronal and sagittal slices through the mask centre, mask outlined in colour.

    ``window`` is (level, width) in the image's units (default: a bone window in HU).
    """
    k, j, i = _centre_of(mask, ct)
    sx, sy, sz = ct.spacing
    level, width = window
    vmin, vmax = level - width / 2, level + width / 2
    views = [
        ("axial", ct.array[k], None if mask is None else mask.array[k], sy / sx),
        ("coronal", ct.array[:, j, :], None if mask is None else mask.array[:, j, :], sz / sx),
        ("sagittal", ct.array[:, :, i], None if mask is None else mask.array[:, :, i], sz / sy),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    for ax, (name, img, msk, aspect) in zip(axes, views, strict=True):
        origin = "lower" if name != "axial" else "upper"
        ax.imshow(
            img,
            cmap="gray",
            vmin=vmin,
            vmax=vmax,
            aspect=aspect,
            origin=origin,
            interpolation="nearest",
        )
        if msk is not None and msk.any():
            ax.contour(msk.astype(float), levels=[0.5], colors=["#ffb000"], linewidths=0.8)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
