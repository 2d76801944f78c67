"""The radiomics and cohort statistics reports through the one report builder (issue 13), their
tables through the one table writer, and plotting without matplotlib's global state (issue 12
item 9).

Each page is rendered from synthetic data whose key numbers are recomputed here independently
(scipy, numpy) and looked for, formatted, in the page's table cells; the page must extend the
shared layout and load nothing from the network.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps

ROOT = Path(__file__).resolve().parents[1]
CASE_PREFIX = "subj-"  # every case id starts with this: it must never reach a page


def cohort_table(n_subjects: int = 30, seed: int = 3) -> pd.DataFrame:
    """Scan–rescan rows (2 per subject, one level) with group, sex, age and one missing value."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_subjects):
        fracture = s % 3 == 0
        truth = rng.normal(0.30 + 0.08 * fracture, 0.05)
        for scan in range(2):
            rows.append(
                {
                    "case_id": f"{CASE_PREFIX}{s}-{scan}",
                    "level": "L1",
                    "focal_bmc_loss_mm": truth + rng.normal(0, 0.01),
                    "trabecular_bmd": 180 - 200 * truth + rng.normal(0, 5),
                    "group": "fracture" if fracture else "control",
                    "sex": "FM"[s % 2],
                    "age": 55 + s % 20,
                    "rescan_id": f"s{s}",
                }
            )
    df = pd.DataFrame(rows)
    df.loc[5, "trabecular_bmd"] = np.nan
    return df


def statistics_report(out: Path) -> tuple[Path, pd.DataFrame]:
    from osteoimaging.stats.report import cohort_report

    df = cohort_table()
    path = cohort_report(
        df,
        out,
        ["focal_bmc_loss_mm", "trabecular_bmd"],
        outcome="group",
        positive="fracture",
        input_sha256="ab" * 32,
    )
    return path, df


def radiomics_sections(seed: int = 11) -> dict[str, dict]:
    """Two data sets, each with two correlated scores and their probabilities."""
    from osteoimaging.radiomics.evaluate import evaluate_scores

    rng = np.random.default_rng(seed)
    sections = {}
    for name, n in (("training", 80), ("validation", 40)):
        y = np.arange(n) % 2
        a = y * 1.2 + rng.normal(size=n)
        b = 0.6 * a + y * 0.3 + rng.normal(size=n)
        scores = {"T1+T2": a, "T1": b}
        probabilities = {k: 1 / (1 + np.exp(-v)) for k, v in scores.items()}
        sections[name] = evaluate_scores(y, scores, probabilities, {"T1+T2": 0.1, "T1": 0.0})
        sections[name]["_y"], sections[name]["_scores"] = y, scores
    return sections


RADIOMICS_MODEL = {
    "name": "T1+T2",
    "features": ["T1_original_shape_SurfaceVolumeRatio", "T2_original_glszm_SmallAreaEmphasis"],
    "coefficients": [0.41237, -0.27311],
    "means": [0.61, 0.44],
    "sds": [0.05, 0.07],
    "intercept": 0.123456,
    "cutoff": 0.098765,
    "link": "logit",
    "training": {"n_cases": 80, "n_abnormal": 40, "cv_folds": 5, "C": 0.316, "seed": 0},
    "software": {"osteoimaging": "test", "scikit-learn": "x.y"},
    "warning": "",
}


def radiomics_report(out: Path) -> tuple[Path, dict[str, dict]]:
    from osteoimaging.radiomics.report import write_report

    sections = radiomics_sections()
    clean = {k: {f: v for f, v in s.items() if not f.startswith("_")} for k, s in sections.items()}
    path = write_report(out, clean, model=RADIOMICS_MODEL, warning="synthetic test cohort")
    return path, sections


def assert_standalone_page(html: str) -> None:
    """Extends base.html (its layout, print style and footer) and loads nothing remote."""
    assert html.startswith("<!DOCTYPE html>")
    assert "@page { size: A4" in html and "Research software: results support" in html
    assert "<footer>" in html and html.count("<h1>") == 1
    remote = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, flags=re.I)
    assert not remote, remote
    for src in re.findall(r'<img[^>]*\ssrc="([^"]*)"', html):
        assert src.startswith("data:image/png;base64,"), src[:60]
    assert CASE_PREFIX not in html  # no case (patient) identifiers


def cells(html: str) -> list[str]:
    """The text of every numeric table cell."""
    return re.findall(r'<td class="num">([^<]*)</td>', html)


# ---------------------------------------------------------------------------------------------
# Cohort statistics report


@pytest.fixture(scope="module")
def statistics_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("statistics")
    path, df = statistics_report(out)
    return path, df, path.read_text(encoding="utf-8")


def test_statistics_page_shows_the_key_numbers_formatted(statistics_page):
    path, df, html = statistics_page
    assert_standalone_page(html)
    numbers = cells(html)
    # Pearson r of the two measures (complete pairs), scipy, 4 significant digits.
    keep = df[["focal_bmc_loss_mm", "trabecular_bmd"]].dropna()
    r = sps.pearsonr(keep.focal_bmc_loss_mm, keep.trabecular_bmd).statistic
    assert f"{r:.4g}" in numbers
    # Scan–rescan RMSSD of focal BMC loss: sqrt(mean(d² / 2)) over the 30 pairs.
    pairs = df.focal_bmc_loss_mm.to_numpy().reshape(-1, 2).T  # rows: subject, then scan
    rmssd = math.sqrt(np.mean((pairs[1] - pairs[0]) ** 2 / 2))
    assert f"{rmssd:.4g}" in numbers
    # Welch's t of focal BMC loss, control vs fracture.
    welch = sps.ttest_ind(
        df.focal_bmc_loss_mm[df.group == "control"],
        df.focal_bmc_loss_mm[df.group == "fracture"],
        equal_var=False,
    )
    assert f"{welch.statistic:.4g}" in numbers and f"{welch.pvalue:.4g}" in numbers
    # Counts as whole numbers (not 60.0 or 6e+01); the missing BMD value leaves 59 of 60.
    assert '<td>focal_bmc_loss_mm</td><td></td><td>all</td><td class="num">60</td>' in html
    assert '<td>trabecular_bmd</td><td></td><td>all</td><td class="num">59</td>' in html
    assert not [c for c in re.findall(r"<td[^>]*>([^<]*)</td>", html) if "nan" in c.lower()]
    for heading in ("Cohort", "Comparison by group", "Scan–rescan reproducibility", "Correlations"):
        assert f"<h2>{heading}</h2>" in html
    assert "Association with group = fracture" in html
    assert "Shrout PE, Fleiss JL" in html and "input SHA-256 abababababababab" in html
    assert html.count("data:image/png;base64,") == len(
        list((path.parent / "figures").glob("*.png"))
    )


def test_statistics_wide_table_is_transposed(statistics_page):
    """The reproducibility table (33 columns, one row per measure) reads one column per
    measure: its statistics are rows."""
    _, _, html = statistics_page
    section = html[html.index('id="scan-rescan-reproducibility"') :]
    table = section[: section.index("</table>")]
    assert "<th>focal_bmc_loss_mm · all</th>" in table and "<th>trabecular_bmd · all</th>" in table
    assert re.search(r"<tr><th>icc_2_1</th>(<td[^>]*>[^<]*</td>){2}</tr>", table)


def test_statistics_tables_keep_full_precision_and_empty_missing_cells(statistics_page):
    from osteoimaging.stats.correlation import pearson

    path, df, _ = statistics_page
    saved = pd.read_csv(path.parent / "tables" / "correlations.csv")
    assert saved.pearson_r[0] == pearson(df.focal_bmc_loss_mm, df.trabecular_bmd)["r"]  # exact
    text = (path.parent / "tables" / "group_tests.csv").read_text(encoding="utf-8")
    assert "nan" not in text.lower()
    header, *rows = (line.split(",") for line in text.splitlines())
    student = dict(zip(header, next(r for r in rows if r[1] == "Student t"), strict=True))
    assert student["median_a"] == ""  # a t test has no median: NaN → empty cell
    saved = pd.read_csv(path.parent / "tables" / "group_tests.csv")
    assert saved.median_a.isna().sum() == 4 and saved.p.notna().all()


def test_stats_cli_writes_tsv_through_the_table_writer(tmp_path, capsys):
    from osteoimaging.cli.main import main

    table = tmp_path / "cohort.csv"
    cohort_table().to_csv(table, index=False)
    out = tmp_path / "describe.tsv"
    assert main(["stats", "describe", str(table), "--out", str(out)]) == 0
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header.split("\t")[:2] == ["measure", "by"]
    capsys.readouterr()
    assert main(["stats", "describe", str(table), "--out", str(tmp_path / "d.xlsx")]) == 2
    assert "must end in .csv, .tsv or .txt" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Radiomics report


@pytest.fixture(scope="module")
def radiomics_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("radiomics")
    path, sections = radiomics_report(out)
    return path, sections, path.read_text(encoding="utf-8")


def test_radiomics_page_shows_the_key_numbers_formatted(radiomics_page):
    path, sections, html = radiomics_page
    assert_standalone_page(html)
    numbers = cells(html)
    for name, section in sections.items():
        y, scores = section["_y"], section["_scores"]
        for score in scores.values():
            # AUC = Mann–Whitney U / (n1 n0), scipy; 3 decimals.
            u = sps.mannwhitneyu(score[y == 1], score[y == 0]).statistic
            assert f"{u / (y.sum() * (len(y) - y.sum())):.3f}" in numbers, name
        p = section["comparisons"][0]["p"]
        assert f"{p:.3g}" in numbers
        for stem in ("roc", "decision_curve", "calibration"):
            assert (path.parent / f"{stem}_{name}.png").stat().st_size > 5_000
    assert html.count("data:image/png;base64,") == 3 * len(sections)
    assert '<td class="num">0.4124</td>' in html and '<td class="num">-0.2731</td>' in html
    assert "radscore = 0.1235 + Σ β·z" in html and "cut-off 0.0988" in html
    assert "synthetic test cohort" in html  # the warning, flagged
    assert "DeLong ER, DeLong DM, Clarke-Pearson DL" in html and "Vickers AJ, Elkin EB" in html
    assert '<section class="level" id="set-validation">' in html
    assert (path.parent / "results.json").stat().st_size > 1000


def test_radiomics_page_says_why_calibration_is_missing(tmp_path):
    """A Hosmer–Lemeshow test that could not run is a note on the page, not a silent gap."""
    from osteoimaging.radiomics.report import write_report

    section = {k: v for k, v in radiomics_sections()["validation"].items() if k[0] != "_"}
    section["models"]["T1"]["hosmer_lemeshow"] = {"error": "only 2 distinct risk groups"}
    html = write_report(tmp_path, {"validation": section}).read_text(encoding="utf-8")
    assert "T1: Hosmer–Lemeshow not computed: only 2 distinct risk groups" in html
    assert_standalone_page(html)


# ---------------------------------------------------------------------------------------------
# matplotlib without global state


PLOT_EVERYTHING = textwrap.dedent(
    """
    import sys
    import matplotlib
    if sys.argv[1] != "default":
        matplotlib.use(sys.argv[1])  # stands in for the backend 3D Slicer has set
    before = matplotlib.rcParams._get("backend")
    from pathlib import Path
    import numpy as np, pandas as pd
    sys.path.insert(0, "Testing")
    from test_report_pages import cohort_table, radiomics_report
    from osteoimaging.stats import plots
    from osteoimaging.stats.association import association_table
    from studies.plots import equal_bmd_png

    out = Path(sys.argv[2])
    df = cohort_table()
    rng = np.random.default_rng(0)
    plots.bland_altman_plot(rng.normal(size=20), rng.normal(size=20), out / "ba.png")
    plots.repeatability_plot(rng.normal(size=(20, 3)), out / "rep.png")
    plots.scatter_plot(df.focal_bmc_loss_mm, df.trabecular_bmd, out / "sc.png")
    plots.box_plot(df, "focal_bmc_loss_mm", "group", out / "box.png")
    y = (df.group == "fracture").astype(int)
    plots.roc_plot(y, {"bmc": df.focal_bmc_loss_mm}, out / "roc.png")
    table = association_table(df, "group", ["focal_bmc_loss_mm"], positive="fracture")
    plots.forest_plot(table, out / "forest.png")
    radiomics_report(out / "radiomics")
    hu = rng.normal(size=(40, 40)); roi = np.zeros((40, 40), bool); roi[10:30, 10:30] = True
    bmc = np.where(roi, rng.random((40, 40)), np.nan)
    values = {"trabecular_bmd": 150.0, "focal_bmc_loss_mm": 0.3}
    equal_bmd_png([{"hu": hu, "bmc": bmc, "roi": roi, "pair": "A", "case": "1",
                    "values": values}], out / "equal.png")
    assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
    assert matplotlib.rcParams._get("backend") == before, "the backend was changed"
    pngs = sorted(p.name for p in out.rglob("*.png"))
    print(len(pngs), matplotlib.get_backend() if sys.argv[1] != "default" else "default")
    """
)


@pytest.mark.parametrize("backend", ["default", "svg"])
def test_plots_leave_matplotlib_state_alone(backend, tmp_path):
    """Regression (issue 12 item 9): figures.plt called matplotlib.use("Agg") and imported
    pyplot, and radiomics.report did so at import, changing matplotlib for a whole Slicer
    process. Every plot of the cohort, radiomics and experiment code now draws through the
    object API: pyplot stays unimported and the backend is what it was."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", PLOT_EVERYTHING, backend, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    count, final = done.stdout.split()[-2:]
    assert int(count) == 6 + 6 + 1  # cohort plots, 3 per radiomics data set, the map panels
    assert final == backend


def test_figure_helpers(tmp_path):
    from osteoimaging.figures import figure_png, new_figure, save_figure

    fig, axes = new_figure((3, 2), 1, 2)
    assert len(axes) == 2 and tuple(fig.get_size_inches()) == (3, 2)
    axes[0].plot([0, 1], [1, 0])
    png = figure_png(fig, dpi=50)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    path = save_figure(fig, tmp_path / "sub" / "f.png", dpi=50)
    assert path.read_bytes()[:8] == png[:8] and not list(path.parent.glob(".*part*"))


def test_frame_rows_and_column_formats(tmp_path):
    """DataFrame cells become plain values (None for NaN/NA/NaT) for the table writer and the
    pages; a column's number format follows its values."""
    from osteoimaging.reports import column_pattern, frame_rows, frame_table
    from osteoimaging.stats.report import write_frame

    df = pd.DataFrame(
        {
            "name": ["a", None],
            "count": pd.array([3, None], dtype="Int64"),
            "n": np.array([160, 12345], dtype=np.int64),
            "x": [0.1 + 0.2, np.nan],
            "whole": [2.0, np.nan],
            "flag": [True, False],
            "when": pd.to_datetime(["2024-01-02", None]),
        }
    )
    rows = frame_rows(df)
    assert rows[1]["name"] is None and rows[1]["count"] is None and rows[1]["x"] is None
    assert rows[1]["when"] is None and type(rows[0]["n"]) is int and rows[0]["x"] == 0.1 + 0.2
    assert [column_pattern([r[k] for r in rows]) for k in ("n", "x", "whole", "flag", "name")] == [
        "{:d}",
        "{:.4g}",
        "{:.0f}",
        None,
        None,
    ]
    table = frame_table(df, "t")
    assert not table.transposed and [c.numeric for c in table.columns][:3] == [False, True, True]
    path = write_frame(df, tmp_path / "t.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1].split(",")[:6] == ["a", "3", "160", repr(0.1 + 0.2), "2.0", "true"]
    assert lines[2].split(",")[:2] == ["", ""] and lines[2].split(",")[3:5] == ["", ""]
    back = pd.read_csv(path)
    assert back.x[0] == 0.1 + 0.2 and back.x.isna()[1] and back.n.tolist() == [160, 12345]
