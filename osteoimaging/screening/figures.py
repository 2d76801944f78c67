"""PNG figures of the screening extra (matplotlib's object API through
:func:`osteoimaging.figures.new_figure`; no pyplot, no global backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from osteoimaging.figures import new_figure, save_figure
from osteoimaging.screening.prep import PreparedInput


def cam_overlay_png(prepared: PreparedInput, cam: np.ndarray, path, title: str = "") -> Path:
    """The input slab (soft-tissue window) with the Grad-CAM map (inferno, 0–1) and the body
    (and muscle) outlines; columns = patient left, rows = posterior."""
    fig, axes = new_figure(figsize=(8.4, 4.2), ncols=2)
    lo, hi = prepared.params.windows[0]
    for ax, overlay in zip(axes, (False, True), strict=True):
        ax.imshow(prepared.hu, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        if overlay:
            im = ax.imshow(
                np.ma.masked_less(cam, 0.05),
                cmap="inferno",
                vmin=0,
                vmax=1,
                alpha=0.55,
                interpolation="bilinear",
            )
            fig.colorbar(im, ax=ax, fraction=0.046, label="Grad-CAM (min–max scaled)")
        ax.contour(prepared.body.astype(float), levels=[0.5], colors=["#00e0ff"], linewidths=0.8)
        if prepared.muscle is not None and prepared.muscle.any():
            ax.contour(
                prepared.muscle.astype(float), levels=[0.5], colors=["#7cfc00"], linewidths=0.6
            )
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_title(f"{prepared.params.level} slab {prepared.params.slab_mm:g} mm")
    axes[1].set_title(title or "Grad-CAM")
    return save_figure(fig, path)


def calibration_png(tables: dict[str, dict], path) -> Path:
    """Observed vs mean predicted risk per group (one line per model)."""
    fig, ax = new_figure(figsize=(4.6, 4.4))
    for name, t in tables.items():
        ax.plot(t["mean_predicted"], t["observed_rate"], "o-", ms=4, lw=1.2, label=name)
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=0.8)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed proportion")
    ax.set_title("Calibration")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def decision_curve_png(curves: dict[str, dict], path) -> Path:
    """Net benefit against threshold probability (Vickers & Elkin 2006)."""
    fig, ax = new_figure(figsize=(5.2, 4.2))
    first = next(iter(curves.values()))
    for name, c in curves.items():
        ax.plot(c["threshold"], c["model"], lw=1.3, label=name)
    ax.plot(first["threshold"], first["treat_all"], color="grey", lw=0.9, label="treat all")
    ax.plot(first["threshold"], first["treat_none"], color="black", lw=0.9, label="treat none")
    top = max(float(np.max(c["model"])) for c in curves.values())
    ax.set_ylim(-0.05, max(0.05, top * 1.1))
    ax.set_xlabel("threshold probability")
    ax.set_ylabel("net benefit")
    ax.set_title("Decision curves")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def training_png(history: list[dict], path) -> Path:
    """Training loss and validation AUC per epoch."""
    fig, ax = new_figure(figsize=(5, 3.6))
    ep = [h["epoch"] for h in history]
    ax.plot(ep, [h["train_loss"] for h in history], "o-", label="training loss")
    ax2 = ax.twinx()
    ax2.plot(ep, [h["val_auc"] for h in history], "s-", color="#d62728", label="validation AUC")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax2.set_ylabel("AUC")
    fig.legend(fontsize=8, loc="lower center")
    return save_figure(fig, path)
