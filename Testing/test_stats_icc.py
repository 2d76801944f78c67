"""Shrout & Fleiss (1979) ICC forms against the paper's worked example (Table 2 and p. 425)."""

from __future__ import annotations

import numpy as np
import pytest

from osteoimaging.errors import InputError
from osteoimaging.stats.icc import icc, icc_all, mean_squares

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
