"""Files of a focal measurement: results.json, maps/*.nrrd, roi.nrrd, overlay.png, report.html.

Every file is written atomically (temporary name, then rename). Maps keep the analysis
grid's exact geometry (spacing, origin, direction), so they overlay the CT in any viewer.
No patient identifier is written.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from osteoimaging.atomic import write_json, write_text
from osteoimaging.figures import plt, save_figure
from osteoimaging.focal.pipeline import MAP_NAMES, METHOD_REFERENCE, FocalResult
from osteoimaging.imageio import write_image
from osteoimaging.volume import Volume

VALUE_ROWS = (
    ("focal_bmc_loss_mm", "Focal BMC loss", "mm", "{:.3f}"),
    ("focal_bmd_loss", "Focal BMD loss", "fraction", "{:.4f}"),
    ("intercept_width_mm", "Intercept width", "mm", "{:.3f}"),
    ("trabecular_bmd_mg_cm3", "Trabecular BMD", None, "{:.1f}"),
    ("void_coverage", "Void coverage", "fraction of ROI voxels", "{:.3f}"),
    ("roi_voxels", "ROI voxels", "", "{:d}"),
    ("roi_volume_ml", "ROI volume", "ml", "{:.2f}"),
    ("runtime_s", "Run time", "s", "{:.2f}"),
)


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


def _fmt(value, pattern: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return pattern.format(value)


def report_html(result: FocalResult, overlay: Path | None) -> str:
    """A self-contained HTML report: values, calibration, parameters, picture, reference."""
    v = result.values
    rows = []
    for key, label, unit, pattern in VALUE_ROWS:
        unit = v.get("bmd_units", "") if unit is None else unit
        rows.append(
            f"<tr><td>{html.escape(label)}</td><td>{_fmt(v.get(key), pattern)}</td>"
            f"<td>{html.escape(unit)}</td></tr>"
        )
    params = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(val))}</td></tr>"
        for k, val in result.parameters.to_dict().items()
    )
    cal = v.get("calibration")
    cal_text = (
        "none (identity: values in HU, BMD losses relative to 1200 HU)"
        if cal == "none"
        else f"BMD = {result.calibration.slope:g} × HU + {result.calibration.intercept:g} "
        f"(source: {result.calibration.source})"
    )
    picture = ""
    if overlay is not None and overlay.exists():
        data = base64.b64encode(overlay.read_bytes()).decode("ascii")
        picture = f'<img alt="focal BMC loss overlay" src="data:image/png;base64,{data}">'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Focal osteoporosis defect</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:2px 8px}}
img{{max-width:100%}}</style>
</head><body>
<h1>Focal osteoporosis defect</h1>
<h2>Case values</h2><table>{"".join(rows)}</table>
<p>Calibration: {html.escape(cal_text)}</p>
<h2>Maps</h2>{picture}
<h2>Parameters</h2><table>{params}</table>
<p>Software version {html.escape(str(v.get("software_version")))};
input SHA-256 {html.escape(str(v.get("input_sha256")))}.</p>
<h2>Method</h2><p>{html.escape(METHOD_REFERENCE)}. Every step and interpretation is described
in <code>docs/method.md</code> of OsteoImaging.</p>
</body></html>
"""


def write_focal_outputs(
    result: FocalResult, out_dir: str | Path, ct: Volume | None = None
) -> dict[str, Path]:
    """Write all outputs into ``out_dir``; returns {name: path}."""
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    for name in MAP_NAMES:
        paths[name] = write_image(result.maps[name], out / "maps" / f"{name}.nrrd")
    paths["roi"] = write_image(
        result.roi.with_array(result.roi.array.astype(np.uint8)), out / "roi.nrrd"
    )
    paths["overlay"] = overlay_png(result, out / "overlay.png", ct)
    paths["results"] = write_json(out / "results.json", result.values)
    paths["report"] = write_text(out / "report.html", report_html(result, paths["overlay"]))
    return paths
