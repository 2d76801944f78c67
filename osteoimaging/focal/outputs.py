"""The overlay picture of a focal measurement: CT slices with the focal BMC loss map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from osteoimaging.figures import plt, save_figure
from osteoimaging.focal.pipeline import FocalResult
from osteoimaging.volume import Volume


def _slice_reference(grid: Volume, axis: str, pad: int) -> sitk.Image:
    """A one-voxel-thick reference through the ROI centre: axial (k) or sagittal (i)."""
    nx, ny, nz = grid.size
    ci, _, ck = (n // 2 for n in grid.size)
    if axis == "axial":
        size, start = (nx + 2 * pad, ny + 2 * pad, 1), (-pad, -pad, ck)
    else:
        size, start = (1, ny + 2 * pad, nz + 2 * pad), (ci, -pad, -pad)
    ref = sitk.Image(size, sitk.sitkFloat32)
    ref.SetSpacing(grid.spacing)
    ref.SetOrigin(tuple(grid.index_to_physical(np.asarray(start, float))))
    ref.SetDirection(tuple(grid.direction.ravel()))
    return ref


def _on_slice(volume: Volume, ref: sitk.Image, interp: int, default: float) -> np.ndarray:
    image = sitk.Cast(volume.to_sitk(), sitk.sitkFloat32)
    out = sitk.GetArrayFromImage(sitk.Resample(image, ref, sitk.Transform(), interp, default))
    return out[0] if out.shape[0] == 1 else out[:, :, 0]


def overlay_png(result: FocalResult, path: str | Path, ct: Volume | None = None) -> Path:
    """Axial and sagittal mid-slices: CT in grey, focal BMC loss in colour with a colour bar."""
    grid = result.roi
    background = ct if ct is not None else result.hu
    bmc = result.maps["focal_bmc_loss"]
    finite = bmc.array[np.isfinite(bmc.array)]
    vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
    pad = round(10.0 / grid.spacing[0])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    image = None
    for ax, axis in zip(axes, ("axial", "sagittal"), strict=True):
        ref = _slice_reference(grid, axis, pad)
        if background is not None:
            grey = _on_slice(background, ref, sitk.sitkLinear, -1024.0)
            ax.imshow(
                grey,
                cmap="gray",
                vmin=-200,
                vmax=1300,
                origin="lower" if axis != "axial" else "upper",
            )
        colour = _on_slice(bmc, ref, sitk.sitkNearestNeighbor, np.nan)
        image = ax.imshow(
            np.ma.masked_invalid(colour),
            cmap="magma",
            vmin=0.0,
            vmax=max(vmax, 1e-6),
            origin="lower" if axis != "axial" else "upper",
            interpolation="nearest",
        )
        ax.set_title(f"{axis} (analysis grid, {grid.spacing[0]:g} mm)")
        ax.set_xticks([])
        ax.set_yticks([])
    bar = fig.colorbar(image, ax=list(axes), shrink=0.85)
    bar.set_label("focal BMC loss (mm)")
    return save_figure(fig, path)
