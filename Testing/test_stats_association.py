"""Odds ratios per SD against statsmodels fits and closed forms on synthetic cohorts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.discrete.conditional_models import ConditionalLogit

from osteoimaging.errors import InputError
from osteoimaging.stats.association import (
    association_table,
    conditional_logistic_or,
    logistic_or,
    outcome_vector,
    roc_table,
)

TRUE_LOG_OR_PER_SD = 0.8


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """Fracture depends on the biomarker (log-OR 0.8 per SD), age, sex and BMD."""
    rng = np.random.default_rng(11)
    n = 4000
    age = rng.normal(65, 8, n)
    sex = rng.choice(["F", "M"], n)
    bmd = rng.normal(150, 30, n)
    marker = rng.normal(2.0, 0.5, n)
    lin = (
        -1.0
        + TRUE_LOG_OR_PER_SD * (marker - 2.0) / 0.5
        + 0.03 * (age - 65)
        - 0.01 * (bmd - 150)
        + 0.3 * (sex == "M")
    )
    fracture = rng.random(n) < 1 / (1 + np.exp(-lin))
    return pd.DataFrame(
        {
            "marker": marker,
            "age": age,
            "sex": sex,
            "bmd": bmd,
            "group": np.where(fracture, "fracture", "control"),
            "match_id": np.arange(n) // 4,
        }
    )


def _z(x: pd.Series) -> pd.Series:
    return (x - x.mean()) / x.std(ddof=1)


def test_base_and_full_models_equal_statsmodels_formula_fits(cohort):
    df = cohort.assign(y=(cohort.group == "fracture").astype(int), z=_z(cohort.marker))
    for covariates, formula in (
        ((), "y ~ z"),
        (("age", "sex", "bmd"), "y ~ z + age + C(sex) + bmd"),
    ):
        ours = logistic_or(cohort, "group", "marker", covariates, positive="fracture")
        ref = smf.logit(formula, df).fit(disp=0)
        assert ours["or_per_sd"] == pytest.approx(math.exp(ref.params["z"]), rel=1e-6)
        lo, hi = np.exp(ref.conf_int().loc["z"])
        assert (ours["ci_low"], ours["ci_high"]) == pytest.approx((lo, hi), rel=1e-6)
        assert ours["p"] == pytest.approx(ref.pvalues["z"], rel=1e-6)
    # The full model recovers the simulated effect.
    assert ours["ci_low"] < math.exp(TRUE_LOG_OR_PER_SD) < ours["ci_high"]


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ModelWarning")
def test_conditional_model_equals_statsmodels(cohort):
    ours = conditional_logistic_or(
        cohort, "group", "marker", "match_id", ("age", "bmd"), positive="fracture"
    )
    df = cohort.assign(z=_z(cohort.marker))
    y = (df.group == "fracture").astype(float).to_numpy()
    ref = ConditionalLogit(y, df[["z", "age", "bmd"]], groups=df.match_id.to_numpy()).fit(disp=0)
    assert ours["or_per_sd"] == pytest.approx(math.exp(ref.params["z"]), rel=1e-5)
    assert ours["ci_low"] < math.exp(TRUE_LOG_OR_PER_SD) < ours["ci_high"]
    assert 0 < ours["matched_sets"] < cohort.match_id.nunique()


def test_two_by_two_table_gives_the_cross_product_ratio():
    # Exposure 0/1, outcome 0/1: a = 30 exposed cases, b = 20 exposed controls,
    # c = 10 unexposed cases, d = 40 unexposed controls: OR = ad/bc = 6.
    cells = [(1, 1, 30), (1, 0, 20), (0, 1, 10), (0, 0, 40)]
    df = pd.DataFrame([{"x": x, "y": y} for x, y, k in cells for _ in range(k)])
    out = logistic_or(df, "y", "x")
    assert out["or_per_sd"] ** (1 / out["sd"]) == pytest.approx(6.0, rel=1e-6)


def test_matched_pairs_give_the_discordant_pair_ratio():
    # 1:1 matched pairs, binary exposure: the conditional MLE of the OR is n10 / n01
    # (Breslow & Day 1980, §7.2): 24 pairs with only the case exposed, 8 with only the
    # control exposed, plus concordant pairs that carry no information.
    pairs = [(1, 0)] * 24 + [(0, 1)] * 8 + [(1, 1)] * 15 + [(0, 0)] * 20
    rows = []
    for i, (case_x, control_x) in enumerate(pairs):
        rows += [{"m": i, "y": 1, "x": case_x}, {"m": i, "y": 0, "x": control_x}]
    out = conditional_logistic_or(pd.DataFrame(rows), "y", "x", "m")
    assert out["or_per_sd"] ** (1 / out["sd"]) == pytest.approx(3.0, rel=1e-6)
    # Its standard error is √(1/n10 + 1/n01) on the log scale.
    se = math.log(out["ci_high"] / out["ci_low"]) / (2 * 1.959963984540054) / out["sd"]
    assert se == pytest.approx(math.sqrt(1 / 24 + 1 / 8), rel=1e-5)


def test_by_sex_subgroups_and_unfittable_models(cohort):
    table = association_table(cohort, "group", ["marker", "bmd"], positive="fracture", bmd="bmd")
    assert set(table.subgroup) == {"all", "F", "M"}
    assert set(table.model) == {"base", "full"}
    small = association_table(
        cohort.head(400), "group", ["marker"], positive="fracture", match="match_id", by_sex=False
    )
    assert list(small.model) == ["base", "full", "conditional", "conditional full"]
    assert small.or_per_sd.notna().all()
    women = cohort[cohort.sex == "F"]
    ref = logistic_or(women, "group", "marker", ("age", "bmd"), positive="fracture")
    row = table[(table.subgroup == "F") & (table.biomarker == "marker") & (table.model == "full")]
    assert row.or_per_sd.iloc[0] == pytest.approx(ref["or_per_sd"])
    assert row.covariates.iloc[0] == "age, bmd"  # sex is constant within a sex subgroup
    bmd_full = table[
        (table.subgroup == "all") & (table.biomarker == "bmd") & (table.model == "full")
    ]
    assert bmd_full.covariates.iloc[0] == "age, sex"  # BMD is not adjusted for itself
    # One class only: a note, not a crash.
    single = association_table(
        cohort[cohort.group == "control"], "group", ["marker"], positive="fracture", by_sex=False
    )
    assert single.note.str.contains("single class").all()


def test_outcome_coding_errors(cohort):
    with pytest.raises(InputError, match="not coded 0/1"):
        outcome_vector(cohort, "group")
    assert outcome_vector(cohort, "group", "fracture").isin([0.0, 1.0]).all()


def test_roc_table_uses_the_shared_delong_auc(cohort):
    from sklearn.metrics import roc_auc_score

    table = roc_table(cohort, "group", ["marker", "bmd"], positive="fracture")
    y = (cohort.group == "fracture").to_numpy(int)
    marker, bmd = (
        table.set_index("biomarker").loc["marker"],
        table.set_index("biomarker").loc["bmd"],
    )
    assert marker.auc == pytest.approx(roc_auc_score(y, cohort.marker))
    assert marker.direction == "higher"
    # Low BMD goes with fracture: reported as AUC > 0.5 in the "lower" direction.
    assert bmd.direction == "lower"
    assert bmd.auc == pytest.approx(roc_auc_score(y, -cohort.bmd))
    assert marker.ci_low < marker.auc < marker.ci_high
