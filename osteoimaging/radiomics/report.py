"""HTML report of radscore evaluations: ROC, decision-curve and calibration plots (PNG) and
tables, one section per data set (training, validation, external). All files are written
atomically; no patient identifier appears in the report."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from osteoimaging.atomic import write_json, write_text
from osteoimaging.figures import save_figure

_STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
    "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}"
    "th{background:#eee}td:first-child,th:first-child{text-align:left}"
    "img{max-width:32%;margin-right:1%}.warn{color:#a00;font-weight:bold}"
)


def _fmt(value, digits: int = 3) -> str:
    if isinstance(value, float):
        return "—" if value != value else f"{value:.{digits}f}"
    return html.escape(str(value))


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower())


def roc_png(result: dict, path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, m in result["models"].items():
        label = f"{name} AUC {m['auc']:.3f} ({m['ci_low']:.3f}–{m['ci_high']:.3f})"
        ax.plot(m["roc"]["fpr"], m["roc"]["tpr"], label=label)
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--")
    ax.set(xlabel="1 − specificity", ylabel="sensitivity", title=f"ROC — {title}")
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path)


def decision_png(result: dict, path: Path, title: str) -> Path | None:
    curves = {n: m["decision_curve"] for n, m in result["models"].items() if "decision_curve" in m}
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    first = next(iter(curves.values()))
    for name, dc in curves.items():
        ax.plot(dc["threshold"], dc["model"], label=name)
    ax.plot(first["threshold"], first["treat_all"], color="#777", label="treat all")
    ax.plot(first["threshold"], first["treat_none"], color="k", lw=0.8, label="treat none")
    prevalence = result["n_abnormal"] / result["n"]
    ax.set_ylim(-0.05, max(prevalence, 0.05) * 1.1)
    ax.set(xlabel="threshold probability", ylabel="net benefit", title=f"Decision curve — {title}")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def calibration_png(result: dict, path: Path, title: str) -> Path | None:
    tables = {
        n: m["hosmer_lemeshow"]
        for n, m in result["models"].items()
        if "mean_predicted" in m.get("hosmer_lemeshow", {})
    }
    if not tables:
        return None
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, hl in tables.items():
        ax.plot(
            hl["mean_predicted"], hl["observed_rate"], "o-", label=f"{name} (HL p={hl['p']:.3f})"
        )
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--", label="ideal")
    ax.set(xlabel="mean predicted probability", ylabel="observed proportion abnormal")
    ax.set(xlim=(0, 1), ylim=(0, 1), title=f"Calibration — {title}")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def section_html(result: dict, title: str, directory: Path) -> str:
    """One data set: plots and tables (written into ``directory``)."""
    slug = _slug(title)
    images = [
        roc_png(result, directory / f"roc_{slug}.png", title),
        decision_png(result, directory / f"decision_curve_{slug}.png", title),
        calibration_png(result, directory / f"calibration_{slug}.png", title),
    ]
    parts = [f"<h2>{html.escape(title)}</h2>"]
    parts.append(f"<p>{result['n']} cases, {result['n_abnormal']} abnormal bone mass.</p>")
    rows = []
    for name, m in result["models"].items():
        y = m["youden"]
        rows.append(
            [
                name,
                m["auc"],
                m["se"],
                f"{m['ci_low']:.3f}–{m['ci_high']:.3f}",
                y["threshold"],
                y["sensitivity"],
                y["specificity"],
                y["accuracy"],
            ]
        )
    parts.append(
        _table(
            [
                "model",
                "AUC",
                "SE (DeLong)",
                "95% CI",
                "Youden cut-off",
                "sensitivity",
                "specificity",
                "accuracy",
            ],
            rows,
        )
    )
    fixed = [
        [
            n,
            m["at_cutoff"]["threshold"],
            m["at_cutoff"]["sensitivity"],
            m["at_cutoff"]["specificity"],
            m["at_cutoff"]["accuracy"],
        ]
        for n, m in result["models"].items()
        if "at_cutoff" in m
    ]
    if fixed:
        parts.append("<p>At the model's training cut-off:</p>")
        parts.append(_table(["model", "cut-off", "sensitivity", "specificity", "accuracy"], fixed))
    if result["comparisons"]:
        parts.append("<p>Paired DeLong tests:</p>")
        parts.append(
            _table(
                ["models", "AUC a", "AUC b", "difference", "z", "p"],
                [
                    [f"{c['a']} vs {c['b']}", c["auc_a"], c["auc_b"], c["diff"], c["z"], c["p"]]
                    for c in result["comparisons"]
                ],
            )
        )
    hl_rows = [
        [
            n,
            m["hosmer_lemeshow"]["statistic"],
            m["hosmer_lemeshow"]["df"],
            m["hosmer_lemeshow"]["p"],
        ]
        for n, m in result["models"].items()
        if "statistic" in m.get("hosmer_lemeshow", {})
    ]
    if hl_rows:
        parts.append("<p>Hosmer–Lemeshow goodness of fit:</p>")
        parts.append(_table(["model", "C statistic", "df", "p"], hl_rows))
    parts.append("".join(f'<img src="{p.name}" alt="{p.stem}">' for p in images if p))
    return "\n".join(parts)


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
    body = [f"<h1>{html.escape(title)}</h1>"]
    if warning:
        body.append(f'<p class="warn">{html.escape(warning)}</p>')
    if model is not None:
        rows = [
            [f, c, m, s]
            for f, c, m, s in zip(
                model["features"], model["coefficients"], model["means"], model["sds"], strict=True
            )
        ]
        body.append(
            f"<h2>Model</h2><p>radscore = {model['intercept']:.4f} + Σ β·z; cut-off "
            f"{model['cutoff']:.4f}.</p>"
        )
        body.append(_table(["feature", "β", "training mean", "training SD"], rows))
    for name, result in sections.items():
        body.append(section_html(result, name, directory))
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
    write_json(directory / "results.json", {"model": model, "sections": sections})
    return write_text(directory / "index.html", page)
