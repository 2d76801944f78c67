"""The paper's association analysis (Li et al., JOR Spine 2022;5(1):e1195, Table 4) on the
simulated cohort of ``studies/association_example.py``, through ``osteo stats associate``
(part 2 of the script; its batch part runs only by hand, see docs/cohort.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from osteoimaging.cli.validate import load_studies

load_studies()  # studies/ of this checkout on sys.path

from studies.association_example import main, synthetic_cohort, true_or_per_sd  # noqa: E402


def test_synthetic_cohort_has_the_papers_design():
    cohort = synthetic_cohort(0)
    counts = cohort.groupby(["group", "sex"]).size().to_dict()
    assert counts == {("fracture", "F"): 55, ("fracture", "M"): 36,
                      ("control", "F"): 71, ("control", "M"): 43}  # fmt: skip
    # frequency matching: every control's sex and age band also holds a case
    bands = set(cohort[cohort["group"] == "fracture"]["match_id"])
    assert set(cohort[cohort["group"] == "control"]["match_id"]) <= bands
    r = np.corrcoef(cohort["focal_bmc_loss_mm"], cohort["trabecular_bmd"])[0, 1]
    assert -0.6 < r < 0  # a poor negative correlation, as in the paper (|r| = 0.37)


def test_associate_recovers_the_true_odds_ratio(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--cases", "0"]) == 0
    printed = capsys.readouterr().out
    assert "osteo stats associate cohort.csv --outcome group --positive fracture" in printed
    table = pd.read_csv(tmp_path / "association.csv")
    assert set(table["model"]) == {"base", "full", "conditional", "conditional full"}
    assert set(table["subgroup"]) == {"all", "F", "M"}
    assert table["note"].isna().all()  # every model fitted
    full = table[(table["subgroup"] == "all") & (table["model"] == "full")
                 & (table["biomarker"] == "focal_bmc_loss_mm")].iloc[0]  # fmt: skip
    truth = true_or_per_sd(pd.read_csv(tmp_path / "cohort.csv"))
    assert full["ci_low"] < truth < full["ci_high"]
    assert full["covariates"] == "age, sex, trabecular_bmd"
    bmd = table[(table["subgroup"] == "all") & (table["model"] == "base")
                & (table["biomarker"] == "trabecular_bmd")].iloc[0]  # fmt: skip
    assert bmd["ci_high"] < 1  # lower BMD, more fractures
    assert (tmp_path / "figures" / "forest.png").stat().st_size > 1000
