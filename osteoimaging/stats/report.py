"""The cohort HTML report: tables and plots in one self-contained file (atomic).

Pictures are embedded as base64 PNG, so the single ``report.html`` can be mailed or
archived; every table is also written as CSV beside it. Case ids are never listed.
"""

from __future__ import annotations

import base64
import html
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from osteoimaging._version import __version__
from osteoimaging.atomic import write_text
from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.stats import plots
from osteoimaging.stats.association import association_table, outcome_vector, roc_table
from osteoimaging.stats.correlation import pearson, spearman
from osteoimaging.stats.descriptive import descriptive_table
from osteoimaging.stats.group_tests import compare_groups
from osteoimaging.stats.reproducibility import (
    SUBJECT_KEY,
    repeat_table,
    reproducibility_table,
    with_subject_key,
)

_CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}
img{max-width:48%;margin:4px;border:1px solid #eee}.note{color:#a33}"""


@dataclass
class Section:
    """A heading, a paragraph, tables and pictures."""

    heading: str
    text: str = ""
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _img(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0)


def html_report(path: str | Path, title: str, sections: Sequence[Section]) -> Path:
    """Write the HTML report atomically."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p>osteoimaging {__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        "Methods and citations: docs/cohort.md.</p>",
    ]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.heading)}</h2>")
        if s.text:
            parts.append(f"<p>{html.escape(s.text)}</p>")
        parts.extend(f"<p class='note'>{html.escape(n)}</p>" for n in s.notes)
        for caption, df in s.tables:
            parts.append(f"<h3>{html.escape(caption)}</h3>{_table(df)}")
        parts.extend(_img(p) for p in s.images)
    parts.append("</body></html>")
    return write_text(path, "\n".join(parts))


def _attempt(section: Section, what: str, func: Callable[[], None]) -> None:
    """Run one analysis; an impossible one becomes a note in the report, not a crash."""
    try:
        func()
    except (InputError, ImportError, ValueError) as exc:
        logger.info("%s skipped: %s", what, exc)
        section.notes.append(f"{what} not computed: {exc}")


def no_model_note(table: pd.DataFrame) -> str:
    """Why no odds ratio could be estimated: the distinct reasons of an association table."""
    reasons = sorted({str(n) for n in table["note"].dropna() if str(n)})
    return (
        "No odds ratio could be estimated, so there is no forest plot: "
        + ("; ".join(reasons) if reasons else "no model was fitted")
        + ". The table lists each model with its reason."
    )


def cohort_report(
    df: pd.DataFrame,
    out_dir: str | Path,
    measures: Sequence[str],
    *,
    outcome: str | None = None,
    positive: str | None = None,
    group: str | None = "group",
    sex: str | None = "sex",
    age: str | None = "age",
    bmd: str | None = None,
    subject: str | None = "rescan_id",
    match: str | None = "match_id",
    level: str | None = "level",
) -> Path:
    """Every analysis the table supports → ``out_dir/report.html`` + CSV tables + PNGs."""
    out = Path(out_dir)
    figs = out / "figures"
    measures = list(measures)
    sections: list[Section] = []

    def save(section: Section, caption: str, name: str, table: pd.DataFrame) -> None:
        write_text(out / "tables" / f"{name}.csv", table.to_csv(index=False))
        section.tables.append((caption, table))

    desc = Section("Cohort", f"{len(df)} measurements (rows).")
    _attempt(
        desc,
        "descriptive table",
        lambda: save(desc, "mean ± SD", "descriptive", descriptive_table(df, measures, group, sex)),
    )
    sections.append(desc)

    if group and group in df.columns and df[group].nunique() > 1:
        sec = Section(f"Comparison by {group}")

        def groups() -> None:
            save(
                sec,
                "tests",
                "group_tests",
                pd.concat([compare_groups(df, m, group) for m in measures], ignore_index=True),
            )
            sec.images += [plots.box_plot(df, m, group, figs / f"box_{m}.png") for m in measures]

        _attempt(sec, "group comparison", groups)
        sections.append(sec)

    if subject and subject in df.columns and df[subject].notna().any():
        sec = Section(
            "Scan–rescan reproducibility",
            "Every repeat of each subject: RMSSD (ISCD precision), LSC = 2.77 × RMSSD, RMS-CV%, "
            "Bland–Altman (paired for 2 repeats, repeatability limits for more) and the "
            "Shrout–Fleiss / McGraw–Wong ICCs with 95% CIs.",
        )

        def repro() -> None:
            save(
                sec,
                "precision",
                "reproducibility",
                reproducibility_table(df, measures, subject, level),
            )
            keyed = with_subject_key(df, subject, level)
            for m in measures:
                sec.images.append(
                    plots.precision_plot(repeat_table(keyed, m, SUBJECT_KEY), figs, m)
                )

        _attempt(sec, "reproducibility", repro)
        sections.append(sec)

    if len(measures) > 1:
        sec = Section("Correlations")

        def corr() -> None:
            rows = []
            for a, b in itertools.combinations(measures, 2):
                p, s = pearson(df[a], df[b]), spearman(df[a], df[b])
                rows.append(
                    {
                        "x": a,
                        "y": b,
                        "n": p["n"],
                        "pearson_r": p["r"],
                        "r_ci_low": p["ci_low"],
                        "r_ci_high": p["ci_high"],
                        "p": p["p"],
                        "spearman_rho": s["rho"],
                        "rho_p": s["p"],
                    }
                )
                sec.images.append(
                    plots.scatter_plot(df[a], df[b], figs / f"scatter_{a}_{b}.png", a, b)
                )
            save(sec, "Pearson and Spearman", "correlations", pd.DataFrame(rows))

        _attempt(sec, "correlations", corr)
        sections.append(sec)

    if outcome:
        sec = Section(f"Association with {outcome}" + (f" = {positive}" if positive else ""))

        def assoc() -> None:
            table = association_table(
                df,
                outcome,
                measures,
                positive=positive,
                age=age,
                sex=sex,
                bmd=bmd,
                match=match if match in df else None,
            )
            save(sec, "odds ratio per SD (logistic regression)", "association", table)
            if table["or_per_sd"].notna().any():
                sec.images.append(plots.forest_plot(table, figs / "forest.png"))
            else:
                sec.notes.append(no_model_note(table))

        def roc() -> None:
            save(sec, "ROC (DeLong 95% CI)", "roc", roc_table(df, outcome, measures, positive))
            y = outcome_vector(df, outcome, positive)
            sec.images.append(plots.roc_plot(y, {m: df[m] for m in measures}, figs / "roc.png"))

        _attempt(sec, "association", assoc)
        _attempt(sec, "ROC", roc)
        sections.append(sec)
    return html_report(out / "report.html", "OsteoImaging cohort report", sections)
