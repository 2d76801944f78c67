"""Hosmer–Lemeshow (hand example and statsmodels' binning test), net benefit by hand, split."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from osteoimaging.errors import InputError
from osteoimaging.stats.hosmer_lemeshow import hosmer_lemeshow
from osteoimaging.stats.net_benefit import decision_curve, net_benefit, net_benefit_treat_all
from osteoimaging.stats.splits import stratified_split


def test_hosmer_lemeshow_by_hand():
    # Three groups of three: E = 0.6, 1.5, 2.4; O = 1, 2, 2; each term (O−E)²/(E(1−E/n))
    # = 0.16/0.48, 0.25/0.75, 0.16/0.48 = 1/3 → C = 1, df = 1, p = 0.3173.
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 1, 0, 1, 1, 1, 1, 0])
    res = hosmer_lemeshow(y, p, groups=3)
    assert res["statistic"] == pytest.approx(1.0)
    assert res["df"] == 1
    assert res["p"] == pytest.approx(stats.chi2.sf(1.0, 1))
    np.testing.assert_allclose(res["expected"], [0.6, 1.5, 2.4])
    np.testing.assert_allclose(res["observed"], [1, 2, 2])


def test_hosmer_lemeshow_matches_statsmodels_binning():
    diagnostic_gen = pytest.importorskip("statsmodels.stats.diagnostic_gen")
    rng = np.random.default_rng(11)
    p = rng.uniform(0.05, 0.95, 203)
    y = (rng.uniform(size=203) < np.clip(p * 1.1, 0, 1)).astype(int)
    ours = hosmer_lemeshow(y, p, groups=10)
    ref = diagnostic_gen.test_chisquare_binning(
        np.column_stack([y, 1 - y]),
        np.column_stack([p, 1 - p]),
        sort_var=p,
        bins=10,
        sort_method="mergesort",
    )
    assert ours["statistic"] == pytest.approx(ref.statistic, rel=1e-10)
    assert ours["df"] == ref.df
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-8)


def test_net_benefit_by_hand():
    # 10 cases, 3 events. At p_t = 0.25: called positive p ≥ 0.25 → .9, .6, .7, .3, .4, .5;
    # TP 3 (.9, .6, .3), FP 3 → NB = 3/10 − 3/10 · (1/3) = 0.2. At p_t = 0.5: .9, .6, .7, .5 →
    # TP 2, FP 2 → NB = 0.2 − 0.2 · 1 = 0. Treat all at 0.25: 0.3 − 0.7/3.
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.7, 0.2, 0.3, 0.1, 0.4, 0.05, 0.15, 0.5])
    np.testing.assert_allclose(net_benefit(y, p, [0.25, 0.5]), [0.2, 0.0], atol=1e-12)
    np.testing.assert_allclose(net_benefit_treat_all(y, [0.25]), [0.3 - 0.7 / 3])
    curve = decision_curve(y, p)
    assert len(curve["threshold"]) == 99
    assert np.all(curve["treat_none"] == 0)
    with pytest.raises(InputError, match="strictly between"):
        net_benefit(y, p, [1.0])


def test_stratified_split_keeps_ratio_and_is_reproducible():
    y = np.r_[np.ones(40, int), np.zeros(60, int)]
    train, test = stratified_split(y, 0.3, seed=5)
    assert len(test) == 30 and len(train) == 70
    assert y[test].sum() == 12 and y[train].sum() == 28
    assert not set(train) & set(test)
    again = stratified_split(y, 0.3, seed=5)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(stratified_split(y, 0.3, seed=6)[1], test)
    with pytest.raises(InputError, match="single class"):
        stratified_split(np.ones(10), 0.3)
