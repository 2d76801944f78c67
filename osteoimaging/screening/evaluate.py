"""CNN vs SMI vs the L1 rule on the same cases, through :mod:`osteoimaging.stats`.

AUC with DeLong CI and the paired DeLong test (:mod:`osteoimaging.stats.roc`), sensitivity,
specificity and F1 at the Youden cut-off and at Pickhardt's fixed 110/135 HU thresholds,
Hosmer–Lemeshow calibration (:mod:`osteoimaging.stats.hosmer_lemeshow`) and decision curves
(:mod:`osteoimaging.stats.net_benefit`). SMI and L1 HU are not probabilities: for
calibration and decision curves they are mapped to one by a one-variable logistic model
(Platt JC, Probabilistic outputs for support vector machines, 1999) fitted on the training
cases when the table has a ``subset`` column, else on the evaluated cases themselves
(optimistic; the report says which).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from osteoimaging.errors import InputError
from osteoimaging.stats.hosmer_lemeshow import hosmer_lemeshow
from osteoimaging.stats.net_benefit import decision_curve
from osteoimaging.stats.roc import auc_delong, delong_test, youden_cutoff

#: name → (column, sign): score = sign × column, higher = more likely osteoporosis.
METHODS = {
    "CNN": ("cnn_probability", 1.0),
    "SMI": ("smi_cm2_m2", -1.0),
    "L1 HU": ("l1_hu", -1.0),
}


def platt(score_fit, y_fit, score_eval, iterations: int = 50) -> np.ndarray:
    """P(y = 1) = 1 / (1 + exp(−(a + b·z))), z the standardised score, fitted by Newton–Raphson
    on (score_fit, y_fit), evaluated at score_eval (Platt 1999, without his prior smoothing)."""
    s = np.asarray(score_fit, float)
    mu, sd = s.mean(), s.std() or 1.0
    x = np.c_[np.ones(len(s)), (s - mu) / sd]
    y = np.asarray(y_fit, float)
    beta = np.zeros(2)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        grad = x.T @ (y - p)
        hess = x.T @ (x * (p * (1 - p))[:, None]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-9:
            break
    xe = np.c_[np.ones(len(score_eval)), (np.asarray(score_eval, float) - mu) / sd]
    return 1 / (1 + np.exp(-np.clip(xe @ beta, -30, 30)))


def _rates(y, pred) -> dict:
    y, pred = np.asarray(y, int), np.asarray(pred, bool)
    tp, fp = int(np.sum(pred & (y == 1))), int(np.sum(pred & (y == 0)))
    fn, tn = int(np.sum(~pred & (y == 1))), int(np.sum(~pred & (y == 0)))
    ppv = tp / (tp + fp) if tp + fp else float("nan")
    sens = tp / (tp + fn) if tp + fn else float("nan")
    return {
        "sensitivity": sens,
        "specificity": tn / (tn + fp) if tn + fp else float("nan"),
        "ppv": ppv,
        "npv": tn / (tn + fn) if tn + fn else float("nan"),
        "f1": 2 * ppv * sens / (ppv + sens) if tp else 0.0,
        "accuracy": (tp + tn) / len(y) if len(y) else float("nan"),
    }


def evaluate(df: pd.DataFrame, outcome: str = "osteoporosis", subset: str | None = "test") -> dict:
    """All comparison tables for the cases of ``subset`` (all cases when None or when the
    table has no ``subset`` column)."""
    if outcome not in df:
        raise InputError(f"the table has no outcome column '{outcome}'")
    has_subset = "subset" in df and subset is not None
    ev = df[df["subset"] == subset] if has_subset else df
    fit = df[df["subset"] == "train"] if has_subset else ev
    methods = {k: v for k, v in METHODS.items() if v[0] in ev and ev[v[0]].notna().any()}
    if not methods:
        raise InputError(
            "the table has none of the columns " + ", ".join(c for c, _ in METHODS.values())
        )
    keep = ev[[outcome] + [c for c, _ in methods.values()]].dropna()
    y = keep[outcome].astype(int).to_numpy()
    scores = {k: s * keep[c].to_numpy(float) for k, (c, s) in methods.items()}
    rows, pairs, cal, curves, probs = [], [], {}, {}, {}
    for name, score in scores.items():
        col, sign = methods[name]
        auc = auc_delong(y, score)
        yd = youden_cutoff(y, score)
        rates = _rates(y, score >= yd["threshold"])
        rows.append(
            {
                "method": name,
                "n": len(y),
                "positives": int(y.sum()),
                **auc,
                "youden_cutoff": sign * yd["threshold"],
                **rates,
            }
        )
        if name == "CNN":
            prob = keep[col].to_numpy(float)
        else:
            f = fit[[outcome, col]].dropna()
            prob = platt(sign * f[col].to_numpy(float), f[outcome].astype(int), score)
        probs[name] = prob
        groups = max(3, min(10, len(y) // 10))
        try:
            cal[name] = hosmer_lemeshow(y, prob, groups)
        except InputError as exc:
            cal[name] = {"error": str(exc)}
        curves[name] = decision_curve(y, prob)
    if "L1 HU" in scores:
        for t in (110.0, 135.0):
            rows.append(
                {
                    "method": f"L1 < {t:g} HU (Pickhardt 2013)",
                    "n": len(y),
                    "positives": int(y.sum()),
                    "youden_cutoff": t,
                    **_rates(y, keep[methods["L1 HU"][0]].to_numpy(float) < t),
                }
            )
    names = list(scores)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            pairs.append({"a": a, "b": b, **delong_test(y, scores[a], scores[b])})
    return {
        "metrics": pd.DataFrame(rows),
        "delong": pd.DataFrame(pairs),
        "calibration": cal,
        "curves": curves,
        "y": y,
        "scores": scores,
        "probabilities": probs,
        "platt_fit_on": "training cases" if has_subset else "the evaluated cases (optimistic)",
        "subset": subset if has_subset else "all",
    }


def cam_summary(df: pd.DataFrame, subset: str | None = "test") -> pd.DataFrame:
    """Mean/median Grad-CAM mass, area share and enrichment per structure, how often the
    map's peak lies inside it and the median share of the map's half-maximum core inside it
    (tables written before that column existed have none)."""
    ev = df[df["subset"] == subset] if ("subset" in df and subset) else df
    rows = []
    for name in ("body", "muscle"):
        col = f"cam_mass_{name}"
        if col not in ev or ev[col].notna().sum() == 0:
            continue
        rows.append(
            {
                "structure": name,
                "n": int(ev[col].notna().sum()),
                "mass_mean": ev[col].mean(),
                "mass_median": ev[col].median(),
                "area_mean": ev[f"cam_area_{name}"].mean(),
                "enrichment_median": ev[f"cam_enrichment_{name}"].median(),
                "peak_inside_rate": ev[f"cam_peak_in_{name}"].astype(float).mean(),
                **(
                    {"core_median": ev[f"cam_core_{name}"].median()}
                    if f"cam_core_{name}" in ev
                    else {}
                ),
            }
        )
    return pd.DataFrame(rows)


def screening_report(
    df: pd.DataFrame,
    out_dir,
    outcome: str = "osteoporosis",
    subset: str | None = "test",
    extra_sections=(),
) -> Path:
    """``out_dir/report.html`` (+ CSV tables, PNG figures) comparing CNN, SMI and L1 rule."""
    from osteoimaging.atomic import write_text
    from osteoimaging.screening.figures import calibration_png, decision_curve_png
    from osteoimaging.stats.plots import roc_plot
    from osteoimaging.stats.report import Section, html_report

    out = Path(out_dir)
    res = evaluate(df, outcome, subset)
    figs = out / "figures"
    sec = Section(
        f"CNN vs SMI vs L1 rule ({res['subset']} cases)",
        "Methods and citations: docs/screening.md. AUC with DeLong 95% CI; cut-offs by "
        f"Youden's J on these cases; SMI and L1 HU turned into probabilities by a logistic "
        f"fit on {res['platt_fit_on']} for calibration and decision curves.",
    )
    for name, table in (("metrics", res["metrics"]), ("delong", res["delong"])):
        write_text(out / "tables" / f"{name}.csv", table.to_csv(index=False))
    sec.tables.append(("Discrimination and operating points", res["metrics"]))
    sec.tables.append(("Paired DeLong tests", res["delong"]))
    cal_rows = [
        {"method": k, **{m: v.get(m) for m in ("statistic", "df", "p", "error")}}
        for k, v in res["calibration"].items()
    ]
    sec.tables.append(("Hosmer–Lemeshow", pd.DataFrame(cal_rows)))
    sec.images.append(roc_plot(res["y"], res["scores"], figs / "roc.png", "ROC"))
    sec.images.append(
        calibration_png(
            {k: v for k, v in res["calibration"].items() if "error" not in v},
            figs / "calibration.png",
        )
    )
    sec.images.append(decision_curve_png(res["curves"], figs / "decision_curves.png"))
    sections = [sec]
    cams = cam_summary(df, subset)
    if len(cams):
        write_text(out / "tables" / "gradcam.csv", cams.to_csv(index=False))
        sections.append(
            Section(
                "Grad-CAM localisation",
                "Share of the map's mass inside the "
                "vertebral body and muscle vs their share of the area.",
                tables=[("Grad-CAM mass", cams)],
            )
        )
    sections.extend(extra_sections)
    return html_report(out / "report.html", "OsteoImaging opportunistic screening", sections)
