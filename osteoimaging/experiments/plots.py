"""Figures of the experiments (matplotlib Agg via :mod:`osteoimaging.figures`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging.experiments.paper import LABELS, MEASURES
from osteoimaging.experiments.reproducibility import pair_table
from osteoimaging.figures import plt, save_figure


def bland_altman_png(rows: list[dict[str, Any]], summary: list[dict[str, Any]], path) -> Path:
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
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
    fig, axes = plt.subplots(len(measures), len(indices), figsize=(10, 8.5))
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


def equal_bmd_png(pictures: list[dict[str, Any]], path) -> Path:
    n_pairs = max(p["pair"] for p in pictures)
    fig, axes = plt.subplots(2, 2 * n_pairs, figsize=(3.2 * n_pairs * 2 / 1.6, 5.2))
    vmax = np.nanpercentile(np.concatenate([p["bmc"][np.isfinite(p["bmc"])] for p in pictures]), 99)
    for p in pictures:
        col = 2 * (p["pair"] - 1) + (p["case"] == "B")
        v = p["values"]
        hu = p["hu"]
        axes[0, col].imshow(hu, cmap="gray", vmin=-200, vmax=600, interpolation="nearest")
        axes[0, col].set_title(
            f"pair {p['pair']} {p['case']}: BMD {v['trabecular_bmd_mg_cm3']:.0f}", fontsize=8
        )
        im = axes[1, col].imshow(p["bmc"], cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        axes[1, col].set_title(f"focal BMC loss {v['focal_bmc_loss_mm']:.2f} mm", fontsize=8)
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.8, label="focal BMC loss (mm)")
    fig.suptitle(
        "Equal trabecular BMD (mg/cm³), different focal void (cf. the paper's Fig. 7)", fontsize=10
    )
    return save_figure(fig, path, dpi=80)
