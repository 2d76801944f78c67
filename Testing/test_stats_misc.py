"""Correlation, group tests and descriptive tables against hand values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from osteoimaging.errors import InputError
from osteoimaging.stats.correlation import fisher_ci, linear_fit, pearson, spearman
from osteoimaging.stats.descriptive import descriptive_table, mean_sd_text
from osteoimaging.stats.group_tests import anova, compare_groups, mann_whitney, t_test

RNG = np.random.default_rng(3)
X = RNG.normal(size=30)
Y = 0.6 * X + RNG.normal(scale=0.8, size=30)


def test_pearson_with_fisher_ci():
    out = pearson(X, Y)
    ref = sps.pearsonr(X, Y)
    assert out["r"] == pytest.approx(ref.statistic)
    assert out["p"] == pytest.approx(ref.pvalue)
    z, half = math.atanh(out["r"]), 1.959963984540054 / math.sqrt(27)
    assert out["ci_low"] == pytest.approx(math.tanh(z - half))
    assert out["ci_high"] == pytest.approx(math.tanh(z + half))


def test_spearman_is_one_for_monotone_and_drops_nan():
    x = np.array([1, 2, 3, 4, 5, np.nan, 7.0])
    out = spearman(x, np.exp(np.nan_to_num(x)))
    assert out["rho"] == pytest.approx(1.0)
    assert out["n"] == 6
    with pytest.raises(InputError, match="constant"):
        pearson([1, 1, 1, 1, 1], [1, 2, 3, 4, 5])


def test_fisher_ci_hand_value_and_fit():
    lo, hi = fisher_ci(0.5, 28)
    assert lo == pytest.approx(math.tanh(math.atanh(0.5) - 1.959963984540054 / 5))
    assert hi == pytest.approx(math.tanh(math.atanh(0.5) + 1.959963984540054 / 5))
    assert linear_fit([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx((2.0, 1.0))


def test_t_tests_against_scipy_and_hand_ci():
    a, b = X, Y + 0.5
    for equal_var in (True, False):
        out = t_test(a, b, equal_var=equal_var)
        ref = sps.ttest_ind(a, b, equal_var=equal_var)
        assert out["statistic"] == pytest.approx(ref.statistic)
        assert out["p"] == pytest.approx(ref.pvalue)
    # Student CI by hand on tiny groups: [1,2,3] vs [4,5,6]: diff −3, pooled var 1, SE √(2/3).
    out = t_test([1, 2, 3], [4, 5, 6], equal_var=True)
    half = sps.t.ppf(0.975, 4) * math.sqrt(2 / 3)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((-3 - half, -3 + half))


def test_anova_and_mann_whitney_hand_values():
    # SSB = 2·3·1.5² = 13.5 (df 1), SSW = 2 + 2 = 4 (df 4): F = 13.5.
    assert anova([1, 2, 3], [4, 5, 6])["statistic"] == pytest.approx(13.5)
    out = mann_whitney([1, 2, 3], [4, 5, 6])
    assert out["statistic"] == 0.0
    assert out["p"] == pytest.approx(0.1)  # exact: 2 of the 20 orderings are as extreme


def test_compare_groups_picks_tests_by_group_count():
    df = pd.DataFrame({"v": [1, 2, 3, 4, 5, 6, 7, 8, 9], "g": list("aaabbbccc")})
    three = compare_groups(df, "v", "g")
    assert list(three["test"]) == ["one-way ANOVA", "Kruskal–Wallis H"]
    two = compare_groups(df[df.g != "c"], "v", "g")
    assert list(two["test"]) == ["Student t", "Welch t", "Mann–Whitney U"]
    with pytest.raises(InputError, match="at least 2"):
        compare_groups(df[df.g == "a"], "v", "g")


def test_descriptive_by_group_and_sex():
    df = pd.DataFrame(
        {"v": [1.0, 3.0, 10.0, 20.0], "group": ["x", "x", "y", "y"], "sex": list("FMFM")}
    )
    t = descriptive_table(df, ["v"])
    row = t[(t.by == "group") & (t.group == "x")].iloc[0]
    assert (row.n, row["mean"], row.sd) == (2, 2.0, pytest.approx(math.sqrt(2)))
    female = t[(t.by == "sex") & (t.group == "F")].iloc[0]
    assert female["mean"] == 5.5
    assert t.iloc[0]["mean_sd"] == mean_sd_text(8.5, float(np.std([1, 3, 10, 20], ddof=1)))


def _results_table(path) -> pd.DataFrame:
    """A results.csv as osteo batch writes it: 40 subjects scanned twice, two levels."""
    rng = np.random.default_rng(5)
    rows = []
    for s in range(40):
        sex, age = "FM"[s % 2], 55 + s % 25
        fracture = s % 3 == 0
        truth = rng.normal(0.30 + 0.08 * fracture, 0.05)
        for level in ("L1", "L2"):
            for scan in range(2):
                bmc = truth + rng.normal(0, 0.01)
                rows.append(
                    {
                        "case_id": f"c{s}_{level}_{scan}",
                        "level": level,
                        "focal_bmc_loss_mm": bmc,
                        "trabecular_bmd": 180 - 200 * truth + rng.normal(0, 5),
                        "group": "fracture" if fracture else "control",
                        "sex": sex,
                        "age": age,
                        "rescan_id": f"s{s}",
                        "match_id": s // 3,
                    }
                )
    df = pd.DataFrame(rows)
    df.to_csv(path, index=False)
    return df


def test_stats_cli_tables_and_report(tmp_path, osteo_cmd, capsys):
    import subprocess
    from types import SimpleNamespace

    from osteoimaging.cli.main import main

    table = tmp_path / "results.csv"
    df = _results_table(table)

    def run(*args: str) -> SimpleNamespace:  # in-process: fast; the report runs as a command
        code = main(["stats", *args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    def table_of(analysis: str, *extra: str) -> pd.DataFrame:
        out = tmp_path / f"{analysis}.csv"
        res = run(analysis, str(table), *extra, "--out", str(out))
        assert res.returncode == 0, res.stderr
        return pd.read_csv(out)

    corr = table_of("correlate", "--x", "trabecular_bmd", "--measure", "focal_bmc_loss_mm")
    assert corr.pearson_r[0] == pytest.approx(
        sps.pearsonr(df.trabecular_bmd, df.focal_bmc_loss_mm).statistic
    )
    groups = table_of("groups")
    welch = groups[(groups.measure == "focal_bmc_loss_mm") & (groups.test == "Welch t")]
    ref = sps.ttest_ind(
        df.focal_bmc_loss_mm[df.group == "control"],
        df.focal_bmc_loss_mm[df.group == "fracture"],
        equal_var=False,
    )
    assert welch.p.iloc[0] == pytest.approx(ref.pvalue)
    assoc = table_of("associate", "--outcome", "group", "--positive", "fracture")
    assert {"base", "full", "conditional"} <= set(assoc.model)
    described = table_of("describe", "--select", "level=L2")
    assert described.n[0] == (df.level == "L2").sum()
    assert described["mean"][0] == pytest.approx(df.focal_bmc_loss_mm[df.level == "L2"].mean())
    res = run("associate", str(table), "--outcome", "nope")
    assert res.returncode == 2 and "column(s) nope not in the table" in res.stderr
    res = subprocess.run(
        [
            *osteo_cmd,
            "stats",
            "report",
            str(table),
            "--outcome",
            "group",
            "--positive",
            "fracture",
            "--out",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "report" / "report.html").read_text()
    for heading in (
        "Cohort",
        "Comparison by group",
        "Scan–rescan reproducibility",
        "Correlations",
        "Association with group",
    ):
        assert f"<h2>{heading}" in html
    assert html.count("data:image/png;base64,") >= 6  # box, Bland–Altman, scatter, forest
    assert "c0_L1_0" not in html  # case ids never appear in the report
    saved = pd.read_csv(tmp_path / "report" / "tables" / "association.csv")
    assert saved.or_per_sd.notna().any()


def test_report_and_associate_on_a_cohort_too_small_for_any_model(tmp_path, capsys):
    """Regression (issue 13): on a 2-case cohort no association model can be fitted and
    ``osteo stats report --outcome …`` crashed with ``KeyError: ['or_per_sd']`` (exit 1 on
    main at 4df79ae). It must report what it could compute and say why the rest is missing."""
    from osteoimaging.cli.main import main

    table = tmp_path / "two.csv"
    pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "level": ["L1", "L1"],
            "focal_bmc_loss_mm": [0.3, 0.2],
            "trabecular_bmd": [120.0, 150.0],
            "group": ["fracture", "control"],
            "sex": ["F", "M"],
            "age": [60, 65],
        }
    ).to_csv(table, index=False)
    out = tmp_path / "report"
    args = ["stats", "report", str(table), "--outcome", "group", "--positive", "fracture"]
    assert main([*args, "--out", str(out)]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Cohort" in html and "<h2>Association with group" in html
    assert "No odds ratio could be estimated" in html and "is constant in the analysed" in html
    assert "group comparison not computed: group = control has 1 value(s) of focal_bmc" in html
    saved = pd.read_csv(out / "tables" / "association.csv")
    assert {"or_per_sd", "ci_low", "ci_high", "p", "note"} <= set(saved.columns)
    assert saved.or_per_sd.isna().all() and saved.note.notna().all()
    assert not (out / "figures" / "forest.png").exists()
    capsys.readouterr()
    assoc = ["stats", "associate", str(table), "--outcome", "group", "--positive", "fracture"]
    assert main([*assoc, "--plots", str(tmp_path / "plots")]) == 0
    assert "or_per_sd" in capsys.readouterr().out
