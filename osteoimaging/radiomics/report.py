"""The radiomics study report: ROC, decision-curve and calibration plots and the tables of
each data set (training, validation, external), the radscore model and its training.

One self-contained page, ``index.html``, rendered by the one report builder
(:mod:`osteoimaging.reports`, template ``radiomics.html`` extending the shared layout);
the plots are embedded as PNG data URIs and also written beside it as PNG files, with
``results.json`` holding every number. All files are written atomically; no patient
identifier appears in the report (the sections hold only aggregate statistics).

Methods: :mod:`osteoimaging.stats.roc` (DeLong 1988, Sun & Xu 2014, Youden 1950),
:mod:`osteoimaging.stats.hosmer_lemeshow` (Hosmer & Lemeshow 1980),
:mod:`osteoimaging.stats.net_benefit` (Vickers & Elkin 2006).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osteoimaging.atomic import write_bytes, write_json, write_text
from osteoimaging.figures import figure_png, new_figure, save_figure
from osteoimaging.reports import render

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: The methods behind the report's numbers (as cited in the modules that compute them).
REFERENCES = (
    "DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated "
    "receiver operating characteristic curves: a nonparametric approach. Biometrics "
    "1988;44(3):837–845.",
    "Sun X, Xu W. Fast implementation of DeLong's algorithm for comparing the areas under "
    "correlated receiver operating characteristic curves. IEEE Signal Processing Letters "
    "2014;21(11):1389–1393.",
    "Youden WJ. Index for rating diagnostic tests. Cancer 1950;3(1):32–35.",
    "Hosmer DW, Lemeshow S. Goodness of fit tests for the multiple logistic regression model. "
    "Communications in Statistics – Theory and Methods 1980;9(10):1043–1069.",
    "Vickers AJ, Elkin EB. Decision curve analysis: a novel method for evaluating prediction "
    "models. Medical Decision Making 2006;26(6):565–574.",
)
STUDY_DESIGN = (
    "Multiparametric lumbar MRI radiomics (sagittal T1WI, T2WI, T1WI+T2WI) for abnormal bone "
    "mass against DXA: ICC filter, z-score, LASSO radscore, ROC/DeLong, decision curves, "
    "external validation (docs/radiomics.md)."
)
#: The training settings shown in the report, in this order, with their labels.
TRAINING_FIELDS = (
    ("n_cases", "training cases"),
    ("n_abnormal", "abnormal bone mass"),
    ("n_candidate_features", "candidate features"),
    ("cv_folds", "cross-validation folds"),
    ("C", "LASSO C (= 1/λ)"),
    ("test_fraction", "validation share"),
    ("split_seed", "split seed"),
    ("created", "trained"),
)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower())


def roc_figure(result: dict, title: str) -> Figure:
    """ROC curves of every model of one data set, AUC (DeLong 95% CI) in the legend."""
    fig, ax = new_figure((4.5, 4.5))
    for name, m in result["models"].items():
        label = f"{name} AUC {m['auc']:.3f} ({m['ci_low']:.3f}–{m['ci_high']:.3f})"
        ax.plot(m["roc"]["fpr"], m["roc"]["tpr"], label=label)
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--")
    ax.set(xlabel="1 − specificity", ylabel="sensitivity", title=f"ROC — {title}")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def decision_figure(result: dict, title: str) -> Figure | None:
    """Net benefit against threshold probability (None without probabilities)."""
    curves = {n: m["decision_curve"] for n, m in result["models"].items() if "decision_curve" in m}
    if not curves:
        return None
    fig, ax = new_figure((4.5, 4.5))
    first = next(iter(curves.values()))
    for name, dc in curves.items():
        ax.plot(dc["threshold"], dc["model"], label=name)
    ax.plot(first["threshold"], first["treat_all"], color="#777", label="treat all")
    ax.plot(first["threshold"], first["treat_none"], color="k", lw=0.8, label="treat none")
    prevalence = result["n_abnormal"] / result["n"]
    ax.set_ylim(-0.05, max(prevalence, 0.05) * 1.1)
    ax.set(xlabel="threshold probability", ylabel="net benefit", title=f"Decision curve — {title}")
    ax.legend(fontsize=7)
    return fig


def calibration_figure(result: dict, title: str) -> Figure | None:
    """Observed against mean predicted probability per risk group (None without a table)."""
    tables = {
        n: m["hosmer_lemeshow"]
        for n, m in result["models"].items()
        if "mean_predicted" in m.get("hosmer_lemeshow", {})
    }
    if not tables:
        return None
    fig, ax = new_figure((4.5, 4.5))
    for name, hl in tables.items():
        ax.plot(
            hl["mean_predicted"], hl["observed_rate"], "o-", label=f"{name} (HL p={hl['p']:.3f})"
        )
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--", label="ideal")
    ax.set(xlabel="mean predicted probability", ylabel="observed proportion abnormal")
    ax.set(xlim=(0, 1), ylim=(0, 1), title=f"Calibration — {title}")
    ax.legend(fontsize=7)
    return fig


def calibration_png(result: dict, path: Path, title: str) -> Path | None:
    fig = calibration_figure(result, title)
    return None if fig is None else save_figure(fig, path)


_PLOTS = (
    ("roc", "ROC curves (AUC with DeLong 95% CI)", roc_figure),
    ("decision_curve", "Decision curves (net benefit)", decision_figure),
    ("calibration", "Calibration (Hosmer–Lemeshow risk groups)", calibration_figure),
)


def section_context(result: dict, title: str, directory: Path | None = None) -> dict[str, Any]:
    """What the template shows of one data set; its PNGs are written into ``directory``."""
    slug = _slug(title)
    figures = []
    for stem, caption, draw in _PLOTS:
        fig = draw(result, title)
        if fig is None:
            continue
        png = figure_png(fig)
        if directory is not None:
            write_bytes(Path(directory) / f"{stem}_{slug}.png", png)
        figures.append({"title": f"{caption} — {title}", "png": png})
    models = [{"name": name, **m} for name, m in result["models"].items()]
    return {
        "title": title,
        "anchor": f"set-{slug}",
        "n": result["n"],
        "n_abnormal": result["n_abnormal"],
        "models": models,
        "fixed": [m for m in models if "at_cutoff" in m],
        "comparisons": result["comparisons"],
        "calibration": [m for m in models if "statistic" in m.get("hosmer_lemeshow", {})],
        "calibration_notes": [
            f"{m['name']}: Hosmer–Lemeshow not computed: {m['hosmer_lemeshow']['error']}"
            for m in models
            if "error" in m.get("hosmer_lemeshow", {})
        ],
        "figures": figures,
    }


def _model_context(model: dict | None) -> dict[str, Any] | None:
    if model is None:
        return None
    terms = [
        {"feature": f, "coefficient": c, "mean": m, "sd": s}
        for f, c, m, s in zip(
            model["features"], model["coefficients"], model["means"], model["sds"], strict=True
        )
    ]
    training = model.get("training") or {}
    return {
        "name": model.get("name", "radscore"),
        "intercept": model["intercept"],
        "cutoff": model["cutoff"],
        "link": model.get("link", "logit"),
        "terms": terms,
        "training": [
            {"label": label, "value": training[key]}
            for key, label in TRAINING_FIELDS
            if training.get(key) is not None
        ],
        "software": model.get("software") or {},
        "warning": model.get("warning", ""),
    }


def report_html(
    sections: dict[str, dict],
    *,
    directory: Path | None = None,
    title: str = "MRI radiomics radscore",
    model: dict | None = None,
    warning: str = "",
    generated: str | None = None,
) -> str:
    """The HTML page (template ``radiomics.html``); PNGs go into ``directory`` if given."""
    contexts = [section_context(r, name, directory) for name, r in sections.items()]
    model_names = list(dict.fromkeys(m["name"] for s in contexts for m in s["models"]))
    warnings = [w for w in (warning, (model or {}).get("warning", "")) if w]
    return render(
        "radiomics.html",
        title=title,
        warnings=list(dict.fromkeys(warnings)),
        model=_model_context(model),
        sections=contexts,
        model_names=model_names,
        references=REFERENCES,
        study_design=STUDY_DESIGN,
        generated=generated or _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    )


def write_report(
    directory: str | Path,
    sections: dict[str, dict],
    *,
    title: str = "MRI radiomics radscore",
    model: dict | None = None,
    warning: str = "",
) -> Path:
    """Write ``index.html``, the PNGs and ``results.json`` into ``directory``; return the HTML."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    page = report_html(sections, directory=directory, title=title, model=model, warning=warning)
    write_json(directory / "results.json", {"model": model, "sections": sections})
    return write_text(directory / "index.html", page)
