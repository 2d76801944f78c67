"""ICC forms (Shrout & Fleiss 1979; McGraw & Wong 1996) against S&F's worked example (Table 2,
p. 425), its published confidence intervals, and the coverage of those intervals."""

from __future__ import annotations

import numpy as np
import pytest

from osteoimaging.errors import InputError
from osteoimaging.stats.icc import icc, icc_all, icc_forms, icc_with_ci, mean_squares

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SF_TABLE = np.array(
    [
        [9, 2, 5, 8],
        [6, 1, 3, 2],
        [8, 4, 6, 8],
        [7, 1, 2, 6],
        [10, 5, 6, 9],
        [6, 2, 4, 7],
    ]
)


def test_mean_squares_of_worked_example():
    # S&F Table 2 (ANOVA): BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02.
    ms = mean_squares(SF_TABLE)
    assert ms["BMS"] == pytest.approx(11.24, abs=0.005)
    assert ms["WMS"] == pytest.approx(6.26, abs=0.005)
    assert ms["JMS"] == pytest.approx(32.49, abs=0.005)
    assert ms["EMS"] == pytest.approx(1.02, abs=0.005)


def test_published_icc_values():
    # S&F p. 425: ICC(1,1)=.17, ICC(2,1)=.29, ICC(3,1)=.71; ICC(1,4)=.44, ICC(2,4)=.62,
    # ICC(3,4)=.91.
    got = icc_all(SF_TABLE)
    expected = {"1,1": 0.17, "2,1": 0.29, "3,1": 0.71, "1,k": 0.44, "2,k": 0.62, "3,k": 0.91}
    for form, value in expected.items():
        assert got[form] == pytest.approx(value, abs=0.005), form
    assert icc(SF_TABLE) == got["2,1"]
    assert icc(SF_TABLE, "3,1") == got["3,1"]


def test_perfect_agreement_and_rater_offset():
    base = np.array([[1.0], [2.0], [4.0], [7.0]])
    same = np.hstack([base, base])
    shifted = np.hstack([base, base + 3.0])
    assert icc(same, "1,1") == pytest.approx(1.0)
    # A constant offset between raters is removed by consistency (3,1) but not by agreement.
    assert icc(shifted, "3,1") == pytest.approx(1.0)
    assert icc(shifted, "2,1") < 0.8


def test_bad_inputs():
    with pytest.raises(InputError, match="form"):
        icc(SF_TABLE, "4,1")
    with pytest.raises(InputError, match="at least 2"):
        icc(SF_TABLE[:, :1])
    assert np.isnan(icc(np.ones((3, 2))))


# The intervals of S&F's example as printed by R's psych::ICC (Revelle, psych package, help
# page of ICC, example on the Shrout & Fleiss data): lower, upper, F, df2 and p of each form.
# pingouin 0.7.0's intraclass_corr gives the same intervals to its two printed decimals.
PSYCH_SF = {
    "1,1": (-0.133, 0.72, 1.79, 18, 0.165),
    "2,1": (0.019, 0.76, 11.03, 15, 0.00013),
    "3,1": (0.342, 0.95, 11.03, 15, 0.00013),
    "1,k": (-0.884, 0.91, 1.79, 18, 0.165),
    "2,k": (0.071, 0.93, 11.03, 15, 0.00013),
    "3,k": (0.676, 0.99, 11.03, 15, 0.00013),
}


def test_confidence_intervals_and_f_tests_of_worked_example():
    got = icc_forms(SF_TABLE)
    for form, (low, high, f, df2, p) in PSYCH_SF.items():
        r = got[form]
        assert r.ci_low == pytest.approx(low, abs=0.0006), form
        assert r.ci_high == pytest.approx(high, abs=0.006), form
        assert r.f == pytest.approx(f, abs=0.006) and r.df1 == 5 and r.df2 == df2, form
        assert r.p == pytest.approx(p, rel=0.05), form
        assert r.ci_low < r.value < r.ci_high
        assert (r.n, r.k, r.confidence) == (6, 4, 0.95)
    assert got["2,1"].mcgraw_wong == "ICC(A,1)" and got["3,k"].mcgraw_wong == "ICC(C,k)"
    assert got["1,1"].model == "one-way random"
    # McGraw & Wong's names select the same forms.
    assert icc_with_ci(SF_TABLE, "A,1") == got["2,1"]
    assert icc(SF_TABLE, "C,k") == got["3,k"].value
    # A narrower confidence gives a narrower interval around the same estimate.
    r90 = icc_with_ci(SF_TABLE, "3,1", confidence=0.90)
    assert got["3,1"].ci_low < r90.ci_low < r90.value < r90.ci_high < got["3,1"].ci_high


@pytest.mark.parametrize("design", ["one-way", "two-way"])
def test_interval_coverage_in_simulated_tables(design):
    """95% intervals cover the true ICC in about 95% of tables simulated from the model:
    n = 15 subjects (SD 2), k = 4 raters (SD 0.5; in the one-way design every subject has
    its own raters), error SD 1. Exact F pivots for one-way and consistency forms;
    Satterthwaite's approximation for agreement, which is close at these settings (with
    k = 3 and a rater SD of 1 its coverage falls to about 92%)."""
    rng = np.random.default_rng(7)
    n, k, var_s, var_r, var_e = 15, 4, 4.0, 0.25, 1.0
    if design == "one-way":
        truth = {"1,1": var_s / (var_s + var_r + var_e)}
        truth["1,k"] = k * truth["1,1"] / (1 + (k - 1) * truth["1,1"])
    else:
        truth = {
            "2,1": var_s / (var_s + var_r + var_e),
            "3,1": var_s / (var_s + var_e),
            "2,k": var_s / (var_s + (var_r + var_e) / k),
            "3,k": var_s / (var_s + var_e / k),
        }
    trials = 700
    covered = dict.fromkeys(truth, 0)
    for _ in range(trials):
        shape = (n, k) if design == "one-way" else (1, k)
        raters = rng.normal(0, np.sqrt(var_r), shape)
        table = rng.normal(0, np.sqrt(var_s), (n, 1)) + raters + rng.normal(0, 1.0, (n, k))
        got = icc_forms(table)
        for form, rho in truth.items():
            covered[form] += got[form].ci_low <= rho <= got[form].ci_high
    for form, count in covered.items():
        assert 0.93 < count / trials < 0.97, (form, count / trials)


def test_perfect_agreement_has_a_degenerate_interval():
    same = np.repeat(np.array([[1.0], [2.0], [4.0]]), 3, axis=1)
    r = icc_with_ci(same, "2,1")
    assert (r.value, r.ci_low, r.ci_high) == (1.0, 1.0, 1.0)
    assert icc_with_ci(same, "1,1").ci_low == 1.0
