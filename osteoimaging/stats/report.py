"""The cohort statistics report: tables and plots in one self-contained page (atomic).

Rendered by the one report builder (:mod:`osteoimaging.reports`, template
``statistics.html``, which extends the shared layout). Pictures are embedded as PNG data
URIs, so the single ``report.html`` can be mailed or archived; every table is also written
beside it through the one table writer (:func:`osteoimaging.tables.write_table`: full
precision, empty cells for missing values) and every picture as PNG. Case ids are never
listed.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from osteoimaging.atomic import write_text
from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.reports import frame_rows, frame_table, render
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
from osteoimaging.tables import write_table

#: The methods' references, per analysis (as in the modules' docstrings and docs/cohort.md).
REFERENCES = {
    "groups": [
        "Welch BL. Biometrika 1947;34:28–35",
        "Fisher RA. Statistical Methods for Research Workers, 1925",
        "Mann HB, Whitney DR. Ann Math Stat 1947;18:50–60",
    ],
    "reproducibility": [
        "Glüer C-C et al. Osteoporos Int 1995;5:262–270",
        "ISCD Official Positions — Adult, precision assessment",
        "Bland JM, Altman DG. Lancet 1986;1:307–310 and BMJ 1996;313:744",
        "Shrout PE, Fleiss JL. Psychol Bull 1979;86:420–428",
        "McGraw KO, Wong SP. Psychol Methods 1996;1:30–46",
    ],
    "correlations": [
        "Fisher RA. Metron 1921;1:3–32",
        "Fieller EC, Hartley HO, Pearson ES. Biometrika 1957;44:470–481",
    ],
    "association": [
        "Breslow NE, Day NE. Statistical Methods in Cancer Research I, IARC 1980, ch. 7",
        "DeLong ER, DeLong DM, Clarke-Pearson DL. Biometrics 1988;44:837–845",
    ],
}

#: Figure captions by file-name prefix (plots.py's names).
_CAPTIONS = (
    ("bland_altman_", "Bland–Altman: {}"),
    ("repeatability_", "Repeatability (subject SD against mean): {}"),
    ("forest", "Odds ratio per SD (95% CI)"),
    ("roc", "ROC curves (AUC with DeLong 95% CI)"),
)


@dataclass
class Section:
    """A heading, a paragraph, tables and pictures."""

    heading: str
    text: str = ""
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    #: Plot files, or (caption, file) pairs.
    images: list[Path | tuple[str, Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)


def figure_caption(path: str | Path) -> str:
    """A caption for a plot file written by :mod:`osteoimaging.stats.plots`."""
    stem = Path(path).stem
    for prefix, caption in _CAPTIONS:
        if stem.startswith(prefix):
            return caption.format(stem[len(prefix) :] or stem)
    return stem


#: Plots shown across the page width (one line per model: they grow tall and wide).
_WIDE = ("forest",)


def _figure(image: Path | tuple[str, Path]) -> dict:
    caption, path = image if isinstance(image, tuple) else (figure_caption(image), image)
    return {"title": caption, "png": Path(path).read_bytes(), "wide": Path(path).stem in _WIDE}


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-") or "section"


def write_frame(table: pd.DataFrame, path: str | Path) -> Path:
    """A results table through the one table writer (CSV/TSV by suffix, atomic)."""
    return write_table(frame_rows(table), path, columns=[str(c) for c in table.columns])


def report_html(
    title: str,
    sections: Sequence[Section],
    *,
    n_rows: int | None = None,
    measures: Sequence[str] = (),
    input_sha256: str | None = None,
    generated: str | None = None,
) -> str:
    """The HTML page of ``sections`` (template ``statistics.html``)."""
    context = [
        {
            "heading": s.heading,
            "anchor": _anchor(s.heading),
            "text": s.text,
            "notes": s.notes,
            "tables": [frame_table(df, caption) for caption, df in s.tables],
            "figures": [_figure(image) for image in s.images],
            "references": s.references,
        }
        for s in sections
    ]
    return render(
        "statistics.html",
        title=title,
        sections=context,
        n_rows=n_rows,
        measures=list(measures),
        input_sha256=input_sha256,
        generated=generated or _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    )


def html_report(path: str | Path, title: str, sections: Sequence[Section]) -> Path:
    """Write the HTML report atomically."""
    return write_text(path, report_html(title, sections))


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
    input_sha256: str | None = None,
) -> Path:
    """Every analysis the table supports → ``out_dir/report.html`` + CSV tables + PNGs.

    ``input_sha256``: the hash of the table file, shown in the report's header.
    """
    out = Path(out_dir)
    figs = out / "figures"
    measures = list(measures)
    sections: list[Section] = []

    def save(section: Section, caption: str, name: str, table: pd.DataFrame) -> None:
        write_frame(table, out / "tables" / f"{name}.csv")
        section.tables.append((caption, table))

    desc = Section("Cohort", f"{len(df)} measurements (rows).")
    _attempt(
        desc,
        "descriptive table",
        lambda: save(desc, "mean ± SD", "descriptive", descriptive_table(df, measures, group, sex)),
    )
    sections.append(desc)

    if group and group in df.columns and df[group].nunique() > 1:
        sec = Section(f"Comparison by {group}", references=REFERENCES["groups"])

        def groups() -> None:
            save(
                sec,
                "tests",
                "group_tests",
                pd.concat([compare_groups(df, m, group) for m in measures], ignore_index=True),
            )
            sec.images += [
                (f"{m} by {group}", plots.box_plot(df, m, group, figs / f"box_{m}.png"))
                for m in measures
            ]

        _attempt(sec, "group comparison", groups)
        sections.append(sec)

    if subject and subject in df.columns and df[subject].notna().any():
        sec = Section(
            "Scan–rescan reproducibility",
            "Every repeat of each subject: RMSSD (ISCD precision), LSC = 2.77 × RMSSD, RMS-CV%, "
            "Bland–Altman (paired for 2 repeats, repeatability limits for more) and the "
            "Shrout–Fleiss / McGraw–Wong ICCs with 95% CIs.",
            references=REFERENCES["reproducibility"],
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
        sec = Section("Correlations", references=REFERENCES["correlations"])

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
                path = plots.scatter_plot(df[a], df[b], figs / f"scatter_{a}_{b}.png", a, b)
                sec.images.append((f"{b} against {a}, least-squares line", path))
            save(sec, "Pearson and Spearman", "correlations", pd.DataFrame(rows))

        _attempt(sec, "correlations", corr)
        sections.append(sec)

    if outcome:
        sec = Section(
            f"Association with {outcome}" + (f" = {positive}" if positive else ""),
            references=REFERENCES["association"],
        )

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
    page = report_html(
        "OsteoImaging cohort report",
        sections,
        n_rows=len(df),
        measures=measures,
        input_sha256=input_sha256,
    )
    return write_text(out / "report.html", page)
