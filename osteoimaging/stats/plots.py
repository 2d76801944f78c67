"""Cohort plots (PNG, matplotlib object API, written atomically through ``figures.save_figure``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from osteoimaging.figures import new_figure, save_figure
from osteoimaging.stats.correlation import linear_fit, pearson
from osteoimaging.stats.reproducibility import bland_altman, rmssd


def bland_altman_plot(a: Any, b: Any, path: str | Path, title: str = "", units: str = "") -> Path:
    """Difference (b − a) against the mean, with bias and 95% limits of agreement."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ba = bland_altman(a, b)
    keep = np.isfinite(a) & np.isfinite(b)
    mean, diff = (a[keep] + b[keep]) / 2, b[keep] - a[keep]
    fig, ax = new_figure((5.5, 4))
    ax.scatter(mean, diff, s=14, color="#1f77b4")
    for y, style, label in (
        (ba["bias"], "-", f"bias {ba['bias']:.3g}"),
        (ba["loa_low"], "--", f"−1.96 SD {ba['loa_low']:.3g}"),
        (ba["loa_high"], "--", f"+1.96 SD {ba['loa_high']:.3g}"),
    ):
        ax.axhline(y, linestyle=style, color="#d62728" if style == "-" else "grey", lw=1)
        ax.annotate(
            label, (1.0, y), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8
        )
    unit = f" ({units})" if units else ""
    ax.set_xlabel(f"mean of scan and rescan{unit}")
    ax.set_ylabel(f"rescan − scan{unit}")
    ax.set_title(title or "Bland–Altman")
    return save_figure(fig, path)


def repeatability_plot(table: Any, path: str | Path, title: str = "", units: str = "") -> Path:
    """k > 2 repeats: each subject's SD against its mean, with the within-subject SD s_w.

    Bland & Altman (BMJ 1996;313:744) plot the subject SDs against the subject means to see
    whether the error grows with the magnitude (then s_w is not one number for everyone).
    """
    arr = np.asarray(table, float)
    arr = arr[np.all(np.isfinite(arr), axis=1)]
    sw = rmssd(arr)
    fig, ax = new_figure((5.5, 4))
    ax.scatter(arr.mean(axis=1), arr.std(axis=1, ddof=1), s=14, color="#1f77b4")
    ax.axhline(sw, color="#d62728", lw=1)
    ax.annotate(
        f"s_w = RMSSD {sw:.3g}; limits 0 ± {1.96 * np.sqrt(2) * sw:.3g}",
        (1.0, sw),
        xycoords=("axes fraction", "data"),
        ha="right",
        va="bottom",
        fontsize=8,
    )
    unit = f" ({units})" if units else ""
    ax.set_xlabel(f"subject mean of {arr.shape[1]} repeats{unit}")
    ax.set_ylabel(f"subject SD{unit}")
    ax.set_title(title or "Repeatability")
    return save_figure(fig, path)


def precision_plot(table: Any, folder: str | Path, measure: str) -> Path:
    """``bland_altman_<measure>.png`` for k = 2 repeats, else ``repeatability_<measure>.png``."""
    arr = np.asarray(table, float)
    folder = Path(folder)
    if arr.shape[1] == 2:
        return bland_altman_plot(
            arr[:, 0], arr[:, 1], folder / f"bland_altman_{measure}.png", measure
        )
    return repeatability_plot(arr, folder / f"repeatability_{measure}.png", measure)


def scatter_plot(
    x: Any, y: Any, path: str | Path, xlabel: str = "x", ylabel: str = "y", title: str = ""
) -> Path:
    """Scatter with the least-squares line and Pearson r (95% CI) in the legend."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    stats = pearson(x, y)
    slope, intercept = linear_fit(x, y)
    keep = np.isfinite(x) & np.isfinite(y)
    fig, ax = new_figure((5, 4))
    ax.scatter(x[keep], y[keep], s=14)
    xs = np.linspace(x[keep].min(), x[keep].max(), 50)
    ax.plot(
        xs,
        slope * xs + intercept,
        color="#d62728",
        lw=1.2,
        label=f"r = {stats['r']:.2f} ({stats['ci_low']:.2f}, {stats['ci_high']:.2f}), "
        f"n = {stats['n']}",
    )
    ax.legend(fontsize=8, loc="best")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def _boxes(ax: Any, data: list[np.ndarray], width: float = 0.5) -> None:
    """Tukey box plots at x = 1, 2, …: quartile box, median, whiskers to the furthest point
    within 1.5 IQR (Tukey JW, Exploratory Data Analysis, 1977), no outlier markers.

    Drawn from primitives because ``Axes.boxplot`` iterates over every ``matplotlib.rcParams``
    entry, and reading ``rcParams["backend"]`` resolves matplotlib's default backend by
    importing pyplot (matplotlib 3.11), which the plots here must not do.
    """
    from matplotlib.cbook import boxplot_stats
    from matplotlib.patches import Rectangle

    half = width / 2
    for x, values in enumerate(data, start=1):
        if values.size == 0:
            continue
        s = boxplot_stats(values, whis=1.5)[0]
        box = Rectangle((x - half, s["q1"]), width, s["q3"] - s["q1"], fill=False, lw=1)
        ax.add_patch(box)
        ax.hlines(s["med"], x - half, x + half, color="#ff7f0e", lw=1.5, zorder=3)
        ax.vlines([x, x], [s["whislo"], s["q3"]], [s["q1"], s["whishi"]], color="k", lw=1)
        ax.hlines([s["whislo"], s["whishi"]], x - half / 2, x + half / 2, color="k", lw=1)


def box_plot(df: pd.DataFrame, value: str, group: str, path: str | Path) -> Path:
    """Box plots of ``value`` by ``group`` with the points overlaid."""
    sub = df[[value, group]].dropna()
    names = sorted(sub[group].astype(str).unique())
    data = [pd.to_numeric(sub[value][sub[group].astype(str) == g]).to_numpy(float) for g in names]
    fig, ax = new_figure((1.6 + 1.3 * len(names), 4))
    _boxes(ax, data)
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set_xlim(0.4, len(names) + 0.6)
    rng = np.random.default_rng(0)  # jitter only; fixed for reproducible pictures
    for i, d in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.12, 0.12, d.size), d, s=10, alpha=0.6, color="#1f77b4")
    ax.set_xlabel(group)
    ax.set_ylabel(value)
    return save_figure(fig, path)


def roc_plot(y: Any, scores: Mapping[str, Any], path: str | Path, title: str = "ROC") -> Path:
    """ROC curves of several scores against a 0/1 outcome, AUC (DeLong CI) in the legend.

    Uses the shared :mod:`osteoimaging.stats.roc`. Scores whose AUC is below 0.5 are
    drawn negated (lower values predict the outcome), marked "(−)".
    """
    from osteoimaging.stats.roc import auc_delong, roc_curve

    y = np.asarray(y, float)
    fig, ax = new_figure((4.6, 4.4))
    for name, score in scores.items():
        s = np.asarray(score, float)
        keep = np.isfinite(s) & np.isfinite(y)
        yy, s = y[keep].astype(int), s[keep]
        res = auc_delong(yy, s)
        if res["auc"] < 0.5:
            s, name, res = -s, f"{name} (−)", auc_delong(yy, -s)
        fpr, tpr, _ = roc_curve(yy, s)
        ax.plot(
            fpr,
            tpr,
            lw=1.3,
            label=f"{name}: AUC {res['auc']:.2f} ({res['ci_low']:.2f}–{res['ci_high']:.2f})",
        )
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, linestyle=":")
    ax.set_xlabel("1 − specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path)


def forest_plot(table: pd.DataFrame, path: str | Path, title: str = "Odds ratio per SD") -> Path:
    """Odds ratios with 95% CI on a log axis, one line per row of an association table."""
    rows = table.dropna(subset=["or_per_sd"]).reset_index(drop=True)
    labels = [
        " · ".join(str(r[c]) for c in ("biomarker", "model", "subgroup") if c in r and r[c] != "")
        for _, r in rows.iterrows()
    ]
    fig, ax = new_figure((6.5, 0.8 + 0.32 * max(len(rows), 1)))
    ypos = np.arange(len(rows))[::-1]
    if len(rows):
        ors = rows["or_per_sd"].to_numpy(float)
        err = np.vstack(
            [ors - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - ors]
        )
        ax.errorbar(ors, ypos, xerr=err, fmt="s", color="#1f77b4", ms=4, capsize=2, lw=1)
    ax.axvline(1.0, color="grey", lw=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_yticks(ypos, labels, fontsize=8)
    ax.set_xlabel("odds ratio per 1 SD (95% CI, log scale)")
    ax.set_title(title)
    return save_figure(fig, path)
