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
