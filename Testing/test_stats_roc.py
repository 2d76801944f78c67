"""ROC/DeLong against hand computations, an O(n²) structural-components implementation,
scikit-learn and Hanley & McNeil (1982)'s published rating example."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics

from osteoimaging.errors import InputError
from osteoimaging.stats.roc import auc_delong, delong_test, roc_curve, youden_cutoff


def _delong_quadratic(y, scores):
    """DeLong (1988) from the definition: psi(X, Y) = 1, 1/2, 0 over all pairs (O(m·n))."""
    y = np.asarray(y)
    v10, v01, aucs = [], [], []
    for s in scores:
        x, z = s[y == 1], s[y == 0]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        aucs.append(psi.mean())
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    v10, v01 = np.array(v10), np.array(v01)
    cov = np.cov(v10) / v10.shape[1] + np.cov(v01) / v01.shape[1]
    return np.array(aucs), np.atleast_2d(cov)


def _hanley_mcneil():
    """Hanley & McNeil, Radiology 1982;143:29–36, Table 1: CT ratings 1–5 of 58 normal and
    51 abnormal cases; published AUC 0.893 (SE 0.032 by their exponential approximation)."""
    neg = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    pos = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    return np.r_[np.zeros(58, int), np.ones(51, int)], np.r_[neg, pos].astype(float)


def test_hanley_mcneil_published_auc():
    y, s = _hanley_mcneil()
    res = auc_delong(y, s)
    assert res["auc"] == pytest.approx(0.893, abs=5e-4)
    # DeLong's SE is a different estimator from H&M's exponential approximation; both agree
    # to the third decimal on this table.
    assert res["se"] == pytest.approx(0.032, abs=0.002)
    z = stats.norm.ppf(0.975)
    assert res["ci_low"] == pytest.approx(res["auc"] - z * res["se"])
    assert res["ci_high"] == pytest.approx(res["auc"] + z * res["se"])
    _, cov = _delong_quadratic(y, [s])
    assert res["se"] == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-12)


def test_hand_worked_paired_example():
    """5 cases, labels (0,0,1,1,1). Score a separates perfectly (AUC 1, variance 0). Score b:
    positives 0.2, 0.7, 0.9 vs negatives 0.3, 0.6 → V10 = (0, 1, 1), V01 = (2/3, 2/3),
    AUC 4/6; var = Var(V10)/3 + Var(V01)/2 = (1/3)/3 = 1/9; z = (1 − 2/3)/(1/3) = 1,
    p = 2·(1 − Φ(1)) = 0.3173."""
    y = [0, 0, 1, 1, 1]
    a = [0.1, 0.2, 0.6, 0.7, 0.8]
    b = [0.3, 0.6, 0.2, 0.7, 0.9]
    res = delong_test(y, a, b)
    assert res["auc_a"] == 1.0
    assert res["auc_b"] == pytest.approx(2 / 3)
    assert res["z"] == pytest.approx(1.0)
    assert res["p"] == pytest.approx(0.31731, abs=1e-5)
    assert auc_delong(y, b)["se"] == pytest.approx(1 / 3)


def test_against_quadratic_and_sklearn_with_ties():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 120)
    a = np.round(y * 0.8 + rng.normal(size=120), 1)  # rounding makes ties
    b = np.round(0.5 * a + y * 0.3 + rng.normal(size=120), 1)
    aucs, cov = _delong_quadratic(y, [a, b])
    res = delong_test(y, a, b)
    assert res["auc_a"] == pytest.approx(metrics.roc_auc_score(y, a), rel=1e-12)
    assert res["auc_b"] == pytest.approx(aucs[1], rel=1e-12)
    z = (aucs[0] - aucs[1]) / np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert res["z"] == pytest.approx(z, rel=1e-10)
    assert res["p"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert auc_delong(y, b)["se"] == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-10)


def test_roc_curve_matches_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.normal(size=60) + y, 1)
    fpr, tpr, thr = roc_curve(y, s)
    f2, t2, th2 = metrics.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, f2)
    np.testing.assert_allclose(tpr, t2)
    np.testing.assert_allclose(thr[1:], th2[1:])
    assert np.trapezoid(tpr, fpr) == pytest.approx(metrics.roc_auc_score(y, s))


def test_youden_by_hand():
    # Negatives score 1, 2, 4; positives 3, 5, 6. Cut >= 3: sens 3/3, spec 2/3, J = 2/3;
    # cut >= 4: sens 2/3, spec 2/3, J = 1/3; cut >= 5: sens 2/3, spec 3/3, J = 2/3.
    # The tie goes to the higher threshold 5; accuracy there is 5/6.
    y = [0, 0, 0, 1, 1, 1]
    s = [1, 2, 4, 3, 5, 6]
    res = youden_cutoff(y, s)
    assert res["threshold"] == 5
    assert res["sensitivity"] == pytest.approx(2 / 3)
    assert res["specificity"] == 1.0
    assert res["accuracy"] == pytest.approx(5 / 6)
    assert res["youden"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("y", "s", "message"),
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "single class"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "0/1"),
        ([0, 1], [0.1], "length"),
        ([0, 1], [0.1, np.nan], "NaN"),
    ],
)
def test_bad_inputs(y, s, message):
    with pytest.raises(InputError, match=message):
        auc_delong(y, s)
