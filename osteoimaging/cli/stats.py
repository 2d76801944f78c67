"""``osteo stats ...``: cohort statistics on a results table (e.g. ``osteo batch``'s results.csv).

Sub-commands: describe, reproducibility, correlate, groups, associate, report. Tables
are printed and, with ``--out``, written through the one table writer
(:func:`osteoimaging.tables.write_table`: CSV, or TSV for ``.tsv``/``.txt``; atomically).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from osteoimaging.errors import InputError

if TYPE_CHECKING:  # pandas is the 'cohort' extra: imported where a table is read
    import pandas as pd

#: The focal-defect case values analysed when no --measure is given.
DEFAULT_MEASURES = (
    "focal_bmc_loss_mm",
    "focal_bmd_loss",
    "intercept_width_mm",
    "trabecular_bmd",
)


def _common(
    p: argparse.ArgumentParser, out_help: str = "write the table (.csv, or .tsv/.txt for TSV)"
) -> None:
    p.add_argument("table", help="results table (CSV), e.g. DIR/results.csv of osteo batch")
    p.add_argument(
        "--measure",
        action="append",
        metavar="COLUMN",
        help="measure column, repeatable [the focal case values present in the table]",
    )
    p.add_argument("--out", help=out_help)
    p.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="keep only rows where COLUMN equals VALUE, repeatable (e.g. level=L1: one row "
        "per subject for association)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stats",
        help="cohort statistics: reproducibility, correlation, groups, association, report",
        description="Statistics on a cohort results table. See docs/cohort.md.",
    )
    s = p.add_subparsers(dest="stats_command", metavar="ANALYSIS", required=True)

    q = s.add_parser("describe", help="n, mean ± SD overall, by group and by sex")
    _common(q)
    q.add_argument("--group", default="group", help="group column [group]")
    q.add_argument("--sex", default="sex", help="sex column [sex]")
    q.set_defaults(func=run, analysis="describe")

    q = s.add_parser(
        "reproducibility",
        help="RMSSD, LSC, CV%%, Bland–Altman, ICCs (with 95%% CIs) of k ≥ 2 repeats",
        description="Precision of repeated measurements: rows sharing --subject (and --level) "
        "are repeats of one subject; every repeat is used. See docs/cohort.md.",
    )
    _common(q)
    q.add_argument("--subject", default="rescan_id", help="scan–rescan subject column")
    q.add_argument("--level", default="level", help="level column (per-level rows) [level]")
    q.add_argument(
        "--repeats",
        type=int,
        metavar="K",
        help="repeats per subject: subjects with fewer are left out, with more use their "
        "first K [the number most subjects have]",
    )
    q.add_argument("--plots", help="folder for Bland–Altman (k = 2) or repeatability plots")
    q.set_defaults(func=run, analysis="reproducibility")

    q = s.add_parser("correlate", help="Pearson r (Fisher CI) and Spearman ρ")
    _common(q)
    q.add_argument("--x", required=True, help="column correlated with every --measure")
    q.add_argument("--plots", help="folder for scatter plots with fit and r")
    q.set_defaults(func=run, analysis="correlate")

    q = s.add_parser("groups", help="t tests (Student, Welch), Mann–Whitney or ANOVA")
    _common(q)
    q.add_argument("--group", default="group", help="group column [group]")
    q.add_argument("--plots", help="folder for box plots")
    q.set_defaults(func=run, analysis="groups")

    q = s.add_parser("associate", help="logistic / conditional logistic OR per SD")
    _common(q)
    _outcome_args(q)
    q.add_argument("--plots", help="folder for the forest and ROC plots")
    q.add_argument("--no-by-sex", action="store_true", help="skip the by-sex subgroups")
    q.set_defaults(func=run, analysis="associate")

    q = s.add_parser("report", help="HTML report with every analysis the table supports")
    _common(q, "output folder (report.html, tables/, figures/)")
    _outcome_args(q, required=False)
    q.add_argument("--group", default="group", help="group column [group]")
    q.add_argument("--subject", default="rescan_id", help="scan–rescan subject column")
    q.set_defaults(func=run, analysis="report")


def _outcome_args(q: argparse.ArgumentParser, required: bool = True) -> None:
    q.add_argument("--outcome", required=required, help="outcome column (0/1 or a label)")
    q.add_argument("--positive", help="value of --outcome that counts as 1 (e.g. fracture)")
    q.add_argument("--age", default="age", help="age column for the full model [age]")
    q.add_argument("--sex", default="sex", help="sex column for the full model [sex]")
    q.add_argument("--bmd", help="BMD column for the full model [trabecular_bmd]")
    q.add_argument("--match", default="match_id", help="matched-set column [match_id]")


def _measures(args: argparse.Namespace, df: pd.DataFrame) -> list[str]:
    if args.measure:
        return args.measure
    found = [m for m in DEFAULT_MEASURES if m in df.columns]
    if not found:
        raise InputError("no focal case values in the table; name columns with --measure")
    return found


def _select(df: pd.DataFrame, selections: list[str], source: str) -> pd.DataFrame:
    from osteoimaging.stats.table import require_columns

    for text in selections:
        column, sep, value = text.partition("=")
        if not sep:
            raise InputError(f"--select expects COLUMN=VALUE, got '{text}'")
        require_columns(df, [column], source)
        df = df[df[column].astype(str) == value]
        if df.empty:
            raise InputError(f"no row has {column} = {value}", source)
    return df


def _present(df: pd.DataFrame, column: str | None) -> str | None:
    return column if column and column in df.columns else None


def _emit(table: pd.DataFrame, out: str | None) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if out:
        from osteoimaging.stats.report import write_frame

        write_frame(table, out)


def run(args: argparse.Namespace) -> int:
    from osteoimaging.stats import plots
    from osteoimaging.stats.table import read_table, require_columns

    df = _select(read_table(args.table), args.select, args.table)
    measures = _measures(args, df)
    require_columns(df, measures, args.table)
    plot_dir = Path(args.plots) if getattr(args, "plots", None) else None
    if args.analysis == "describe":
        from osteoimaging.stats.descriptive import descriptive_table

        _emit(
            descriptive_table(df, measures, _present(df, args.group), _present(df, args.sex)),
            args.out,
        )
    elif args.analysis == "reproducibility":
        from osteoimaging.stats.reproducibility import (
            SUBJECT_KEY,
            repeat_table,
            reproducibility_table,
            with_subject_key,
        )

        require_columns(df, [args.subject], args.table)
        level = _present(df, args.level)
        _emit(reproducibility_table(df, measures, args.subject, level, args.repeats), args.out)
        if plot_dir:
            keyed = with_subject_key(df, args.subject, level)
            for m in measures:
                plots.precision_plot(repeat_table(keyed, m, SUBJECT_KEY, args.repeats), plot_dir, m)
    elif args.analysis == "correlate":
        from osteoimaging.stats.correlation import pearson, spearman

        require_columns(df, [args.x], args.table)
        import pandas as pd

        rows = []
        for m in measures:
            p, s = pearson(df[args.x], df[m]), spearman(df[args.x], df[m])
            rows.append(
                {
                    "x": args.x,
                    "y": m,
                    "n": p["n"],
                    "pearson_r": p["r"],
                    "ci_low": p["ci_low"],
                    "ci_high": p["ci_high"],
                    "p": p["p"],
                    "spearman_rho": s["rho"],
                    "rho_p": s["p"],
                }
            )
            if plot_dir:
                plots.scatter_plot(
                    df[args.x], df[m], plot_dir / f"scatter_{args.x}_{m}.png", args.x, m
                )
        _emit(pd.DataFrame(rows), args.out)
    elif args.analysis == "groups":
        import pandas as pd

        from osteoimaging.stats.group_tests import compare_groups

        require_columns(df, [args.group], args.table)
        _emit(pd.concat([compare_groups(df, m, args.group) for m in measures]), args.out)
        for m in measures if plot_dir else []:
            plots.box_plot(df, m, args.group, plot_dir / f"box_{m}.png")
    elif args.analysis == "associate":
        from osteoimaging.stats.association import association_table

        table = association_table(
            df,
            args.outcome,
            measures,
            positive=args.positive,
            age=_present(df, args.age),
            sex=_present(df, args.sex),
            bmd=_bmd(args, df),
            match=_present(df, args.match),
            by_sex=not args.no_by_sex,
        )
        _emit(table, args.out)
        if plot_dir and table["or_per_sd"].notna().any():
            plots.forest_plot(table, plot_dir / "forest.png")
        elif plot_dir:
            from osteoimaging.log import logger
            from osteoimaging.stats.report import no_model_note

            logger.warning("%s", no_model_note(table))
    else:
        from osteoimaging.cohort.hashing import file_digest
        from osteoimaging.stats.report import cohort_report

        if not args.out:
            raise InputError("osteo stats report needs --out DIR")
        path = cohort_report(
            df,
            args.out,
            measures,
            outcome=args.outcome,
            positive=args.positive,
            group=_present(df, args.group),
            sex=_present(df, args.sex),
            age=_present(df, args.age),
            bmd=_bmd(args, df),
            subject=_present(df, args.subject),
            match=_present(df, args.match),
            input_sha256=file_digest(args.table),
        )
        print(f"report {path}")
    return 0


def _bmd(args: argparse.Namespace, df: pd.DataFrame) -> str | None:
    if args.bmd:
        require = args.bmd
        if require not in df.columns:
            raise InputError(f"BMD column {require} not in the table", args.table)
        return require
    return _present(df, "trabecular_bmd")
