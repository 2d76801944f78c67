"""Precision statistics on hand-computed tables (ISCD RMSSD/LSC, Glüer RMS-CV, Bland–Altman)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from osteoimaging.errors import InputError
from osteoimaging.stats.reproducibility import (
    bland_altman,
    lsc,
    repeat_table,
    reproducibility_summary,
    reproducibility_table,
    rms_cv_percent,
    rmssd,
)

# Four subjects scanned twice. Differences (rescan − scan): 2, −1, 3, 0.
PAIRS = np.array([[10.0, 12.0], [20.0, 19.0], [30.0, 33.0], [40.0, 40.0]])


def test_rmssd_and_lsc_by_hand():
    # Per-subject variance of a pair = d²/2: 2, 0.5, 4.5, 0 → mean 1.75.
    assert rmssd(PAIRS) == pytest.approx(math.sqrt(1.75), rel=1e-12)
    assert lsc(rmssd(PAIRS)) == pytest.approx(2.77 * math.sqrt(1.75), rel=1e-12)


def test_rmssd_uses_n_minus_1_with_three_repeats():
    # Variances (n − 1): 1 and 0 → RMSSD = √0.5.
    assert rmssd([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]]) == pytest.approx(math.sqrt(0.5))


def test_rms_cv_by_hand():
    # CV² = SD²/mean² per subject: 2/11², 0.5/19.5², 4.5/31.5², 0.
    expected = 100 * math.sqrt((2 / 121 + 0.5 / 19.5**2 + 4.5 / 31.5**2 + 0) / 4)
    assert rms_cv_percent(PAIRS) == pytest.approx(expected, rel=1e-12)


def test_bland_altman_by_hand():
    ba = bland_altman(PAIRS[:, 0], PAIRS[:, 1])
    sd = math.sqrt(10 / 3)  # deviations of d from its mean 1: 1, −2, 2, −1
    assert ba["bias"] == pytest.approx(1.0)
    assert ba["sd_diff"] == pytest.approx(sd)
    assert ba["loa_low"] == pytest.approx(1 - 1.96 * sd)
    assert ba["loa_high"] == pytest.approx(1 + 1.96 * sd)
    half = 3.182446305284263 * sd / 2  # t(0.975, 3) · SD / √4
    assert ba["bias_ci_low"] == pytest.approx(1 - half, rel=1e-9)


def test_missing_values_and_too_few_subjects():
    with_nan = np.vstack([PAIRS, [[np.nan, 5.0]]])
    assert rmssd(with_nan) == pytest.approx(rmssd(PAIRS))
    with pytest.raises(InputError, match="at least 2 subjects"):
        rmssd([[1.0, 2.0]])
    with pytest.raises(InputError, match="repeats"):
        rmssd([1.0, 2.0, 3.0])


def test_long_table_pairs_by_subject_and_level():
    rows = []
    for subject, (a, b) in enumerate(PAIRS):
        for level, offset in (("L1", 0.0), ("L2", 100.0)):
            rows += [
                {"rescan_id": f"s{subject}", "level": level, "v": a + offset},
                {"rescan_id": f"s{subject}", "level": level, "v": b + offset},
            ]
    rows.append({"rescan_id": None, "level": "L1", "v": 999.0})  # no pair: ignored
    df = pd.DataFrame(rows)
    table = reproducibility_table(df, ["v"])
    assert list(table["level"]) == ["all", "L1", "L2"]
    # The per-level offset does not change any SD: every row has the hand-computed RMSSD.
    np.testing.assert_allclose(table["rmssd"], math.sqrt(1.75))
    assert list(table["n_subjects"]) == [8, 4, 4]
    np.testing.assert_array_equal(repeat_table(df[df.level == "L1"], "v"), PAIRS)


def test_summary_reports_the_shared_icc_forms():
    from osteoimaging.stats import icc as icc_module

    # Shrout & Fleiss (1979) Table 2: 6 targets × 4 judges.
    sf = np.array(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
        dtype=float,
    )
    out = reproducibility_summary(sf)
    assert out["icc_1_1"] == pytest.approx(0.17, abs=0.005)
    assert out["icc_2_1"] == pytest.approx(0.29, abs=0.005)
    assert out["icc_3_1"] == pytest.approx(0.71, abs=0.005)
    assert out["icc_2_1"] == icc_module.icc(sf, form="2,1")
    assert out["lsc"] == pytest.approx(2.77 * rmssd(sf))


SF = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)
#: Shrout & Fleiss (1979), p. 425: ICC(1,1), (2,1), (3,1) and their k = 4 forms.
SF_PUBLISHED = {"1_1": 0.17, "2_1": 0.29, "3_1": 0.71, "1_k": 0.44, "2_k": 0.62, "3_k": 0.91}


def _long(table: np.ndarray) -> pd.DataFrame:
    """Subjects × repeats → one row per measurement, repeats in table order."""
    return pd.DataFrame(
        [
            {"rescan_id": f"s{i}", "judge": j + 1, "score": v}
            for i, row in enumerate(table)
            for j, v in enumerate(row)
        ]
    )


def test_cli_reproducibility_uses_all_k_repeats(tmp_path, capsys):
    """Regression (issue 13): ``osteo stats reproducibility`` kept only the first two repeats,
    so on Shrout & Fleiss's 6 × 4 table it reported the ICCs of judges 1–2 (−0.50, 0.13,
    0.75 on main at 4df79ae). All four judges must give the published values."""
    from osteoimaging.cli.main import main

    path = tmp_path / "sf.csv"
    _long(SF).to_csv(path, index=False)
    out = tmp_path / "repro.csv"
    assert (
        main(["stats", "reproducibility", str(path), "--measure", "score", "--out", str(out)]) == 0
    )
    row = pd.read_csv(out).iloc[0]
    assert row["n_subjects"] == 6 and row["n_repeats"] == 4
    for form, value in SF_PUBLISHED.items():
        assert row[f"icc_{form}"] == pytest.approx(value, abs=0.005), form
        assert row[f"icc_{form}_ci_low"] < row[f"icc_{form}"] < row[f"icc_{form}_ci_high"]
    assert "0.7148" in capsys.readouterr().out  # ICC(3,1) printed too


def test_summary_with_more_than_two_repeats():
    out = reproducibility_summary(SF)
    assert out["n_repeats"] == 4
    # RMSSD over all four repeats (Glüer 1995): √(mean of the per-subject variances).
    assert out["rmssd"] == pytest.approx(np.sqrt(np.mean(SF.var(axis=1, ddof=1))))
    # Bland–Altman for k > 2: repeatability limits 0 ± 1.96·√2·s_w (= ± LSC), no bias.
    assert out["ba_method"].startswith("repeatability")
    assert np.isnan(out["bias"]) and np.isnan(out["bias_ci_low"])
    assert out["loa_high"] == pytest.approx(1.96 * np.sqrt(2) * out["rmssd"])
    assert out["loa_low"] == pytest.approx(-out["loa_high"])
    assert out["loa_high"] == pytest.approx(out["lsc"], rel=1e-3)
    # s_w is the one-way within-subject mean square's root (Bland & Altman 1996).
    from osteoimaging.stats.icc import mean_squares

    assert out["rmssd"] == pytest.approx(np.sqrt(mean_squares(SF)["WMS"]))
    pairs = reproducibility_summary(PAIRS)
    assert pairs["ba_method"].startswith("paired") and pairs["bias"] == pytest.approx(1.0)


def test_unbalanced_repeats_use_the_common_number(caplog):
    df = _long(SF)
    extra = pd.DataFrame([{"rescan_id": "s0", "judge": 5, "score": 100.0}])
    short = df[~((df.rescan_id == "s1") & (df.judge > 2))]  # s1 has only 2 repeats
    table = repeat_table(pd.concat([short, extra]), "score")
    # Most subjects have 4: s1 is left out, s0 uses its first 4 (not the extra 100).
    np.testing.assert_array_equal(table, np.delete(SF, 1, axis=0))
    assert "1 subject(s) with fewer left out, 1 with more" in caplog.text
    pairs = repeat_table(df, "score", repeats=2)
    np.testing.assert_array_equal(pairs, SF[:, :2])
    with pytest.raises(InputError, match="at least 2"):
        repeat_table(df, "score", repeats=1)
