"""Figures of the experiments (matplotlib object API via :mod:`osteoimaging.figures`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging.figures import new_figure, save_figure
from studies.paper import LABELS, MEASURES
from studies.reproducibility import pair_table


def bland_altman_png(rows: list[dict[str, Any]], summary: list[dict[str, Any]], path) -> Path:
    fig, axes = new_figure((15, 3.6), 1, 4)
    for ax, m in zip(axes, MEASURES, strict=True):
        t = pair_table(rows, m)
        mean, diff = t.mean(axis=1), t[:, 1] - t[:, 0]
        s = next(s for s in summary if s["measure"] == m)
        ax.scatter(mean, diff, s=14, color="#1f77b4")
        for y, style in ((s["bias"], "-"), (s["loa_low"], "--"), (s["loa_high"], "--")):
            ax.axhline(y, color="#d62728", linestyle=style, linewidth=1)
        ax.set_title(f"{LABELS[m]}\nICC(2,1) {s['icc_2_1']:.3f}", fontsize=9)
        ax.set_xlabel("mean of scan and rescan", fontsize=8)
        ax.set_ylabel("rescan − scan", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"Simulated scan–rescan, {t.shape[0]} pairs: Bland–Altman", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=80)


def correlation_png(rows: list[dict[str, Any]], corr: list[dict[str, Any]], path) -> Path:
    measures = MEASURES[:3]
    indices = ("bvtv", "tb_sp_mm", "tb_th_mm")
    fig, axes = new_figure((10, 8.5), len(measures), len(indices))
    for i, m in enumerate(measures):
        y = np.array([r[m] for r in rows])
        for j, idx in enumerate(indices):
            x = np.array([r[idx] for r in rows])
            ax = axes[i, j]
            ax.scatter(
                x, y, s=12, c=[r["n_defects"] for r in rows], cmap="coolwarm", vmin=0, vmax=1
            )
            slope, icpt = np.polyfit(x, y, 1)
            xs = np.linspace(x.min(), x.max(), 2)
            ax.plot(xs, slope * xs + icpt, color="k", linewidth=0.8)
            c = next(c for c in corr if c["measure"] == m and c["index"] == idx)
            paper = c["paper_abs_r"]
            ptxt = f" (paper |r| {paper:.2f})" if paper is not None else " (paper: poor)"
            ax.set_title(f"r = {c['r']:+.2f}{ptxt}", fontsize=8)
            ax.tick_params(labelsize=7)
            if i == len(measures) - 1:
                ax.set_xlabel(LABELS[idx], fontsize=8)
            if j == 0:
                ax.set_ylabel(LABELS[m], fontsize=8)
    fig.suptitle(
        f"Focal measures (simulated CT) vs true microarchitecture, {len(rows)} ROIs "
        "(red: with a focal void)",
        fontsize=10,
    )
    fig.tight_layout()
    return save_figure(fig, path, dpi=80)


def _crop_to_finite(*images: np.ndarray, ref: np.ndarray, pad: int = 30) -> list[np.ndarray]:
    """Crop 2D images to the bounding box of the finite pixels of ``ref`` (plus ``pad``)."""
    idx = np.argwhere(np.isfinite(ref))
    if idx.size == 0:
        return list(images)
    lo = np.maximum(idx.min(axis=0) - pad, 0)
    hi = idx.max(axis=0) + pad + 1
    return [im[lo[0] : hi[0], lo[1] : hi[1]] for im in images]


def _map_panels(panels: list[dict[str, Any]], title: str, path, hu_window=(-200, 600)) -> Path:
    """Columns of (CT slice, focal BMC loss slice) cropped to the ROI; one shared colour bar."""
    n = len(panels)
    fig, axes = new_figure((2.2 * n + 1.2, 4.6), 2, n, squeeze=False)
    finite = np.concatenate([p["bmc"][np.isfinite(p["bmc"])] for p in panels])
    vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
    im = None
    for col, p in enumerate(panels):
        roi = p.get("roi", np.isfinite(p["bmc"]))
        hu, bmc, roi = _crop_to_finite(p["hu"], p["bmc"], roi.astype(float), ref=p["bmc"])
        axes[0, col].imshow(hu, cmap="gray", vmin=hu_window[0], vmax=hu_window[1])
        axes[0, col].contour(roi, levels=[0.5], colors=["#ffb000"], linewidths=0.6)
        axes[0, col].set_title(p["top"], fontsize=7)
        im = axes[1, col].imshow(bmc, cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        axes[1, col].set_title(p["bottom"], fontsize=7)
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.9, label="focal BMC loss (mm)")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path, dpi=80)


def equal_bmd_png(pictures: list[dict[str, Any]], path) -> Path:
    panels = [
        {
            "hu": p["hu"],
            "bmc": p["bmc"],
            "roi": p["roi"],
            "top": f"{p['pair']}{p['case']}: BMD {p['values']['trabecular_bmd']:.0f}",
            "bottom": f"BMC loss {p['values']['focal_bmc_loss_mm']:.2f} mm",
        }
        for p in pictures
    ]
    return _map_panels(
        panels,
        "Equal trabecular BMD (mg/cm³), different focal void (cf. the paper's Fig. 7)",
        path,
    )


def real_scans_png(pictures: list[dict[str, Any]], path) -> Path:
    panels = [
        {
            "hu": p["hu"],
            "bmc": p["bmc"],
            "roi": p["roi"],
            "top": p["scan"],
            "bottom": f"BMC loss {p['focal_bmc_loss_mm']:.2f} mm",
        }
        for p in pictures
    ]
    return _map_panels(
        panels,
        "Real scans: slice k through the ROI centre, 0.3 mm analysis grid",
        path,
        (-200, 800),
    )
