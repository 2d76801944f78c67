"""Step 7 on 1D profiles with hand-computed answers, for both implementations:
the readable rules (``profiles.find_voids``) and the numba kernel of the fast path."""

from __future__ import annotations

import numpy as np
import pytest

from osteoimaging.focal import profiles
from osteoimaging.focal.starlines import profile_voids


def _fast(p, min_depth=0.0):
    p = np.asarray(p, dtype=float)
    left, right = np.empty(len(p)), np.empty(len(p))
    n = profile_voids(p, float(min_depth), left, right)
    return [(left[i], right[i]) for i in range(n)]


def _rules(p, min_depth=0.0):
    return [(v.left, v.right) for v in profiles.find_voids(np.asarray(p, float), min_depth)]


IMPLEMENTATIONS = pytest.mark.parametrize("voids", [_rules, _fast], ids=["rules", "numba"])


@IMPLEMENTATIONS
def test_symmetric_valley_exact_crossings(voids):
    # ridges 1200, valley 200: half level 700, crossing 1/6 of a sample from the 800s.
    p = [600, 1200, 800, 200, 800, 1200, 600]
    (left, right), *rest = voids(p)
    assert not rest
    assert left == pytest.approx(2 + 100 / 600)
    assert right == pytest.approx(4 - 100 / 600)
    assert (right - left) * 0.3 == pytest.approx(0.5)


@IMPLEMENTATIONS
def test_cosine_valley_fwhm_is_half_the_period(voids):
    # cos has its half maximum (0) at a quarter period either side of the minimum.
    period, step = 2.0, 0.01
    x = np.arange(-0.2 * period, 1.2 * period + step / 2, step)
    ((left, right),) = voids(np.cos(2 * np.pi * x / period))
    assert (right - left) * step == pytest.approx(period / 2, rel=1e-4)


@IMPLEMENTATIONS
def test_asymmetric_ridges_use_their_own_half_levels(voids):
    p = [0, 10, 4, 0, 6, 20, 0]  # hL = 5, hR = 10
    ((left, right),) = voids(p)
    assert left == pytest.approx(1 + 5 / 6)
    assert right == pytest.approx(5 - 10 / 14)


@IMPLEMENTATIONS
def test_plateaus_count_once_at_their_centre(voids):
    # ridge plateau 1–3 and 5–6, valley sample 4; valley plateau 2–4 in the second case.
    ((left, right),) = voids([0, 5, 5, 5, 1, 5, 5, 0])
    assert (left, right) == pytest.approx((3.5, 4.5))
    ((left, right),) = voids([0, 10, 2, 2, 2, 10, 0])
    assert (left, right) == pytest.approx((1.5, 4.5))
    minimum = profiles.find_voids(np.array([0, 10, 2, 2, 2, 10, 0.0]))[0].minimum
    assert minimum == 3.0


@pytest.mark.parametrize(
    "p",
    [
        [1, 2, 3, 4, 5],  # monotone
        [0, 5, 0],  # a ridge only
        [3, 3, 3, 3],  # flat
        [10, 2, 10],  # valley between the end samples (never ridges)
        [0, 5, 10, 5, 8],  # valley whose right ridge would be the end sample
        [3, 3, 3, 5, 1, 5],  # ridge plateau at the start touches the end
        [8],
        [],
    ],
)
@IMPLEMENTATIONS
def test_no_void_without_two_ridges(voids, p):
    assert voids(p) == []


@IMPLEMENTATIONS
def test_two_valleys_and_void_lookup(voids):
    p = [0, 10, 0, 10, 4, 10, 0]
    assert voids(p) == [pytest.approx((1.5, 2.5)), pytest.approx((3.5, 4.5))]
    found = profiles.find_voids(np.asarray(p, float))
    assert profiles.void_at(found, 2.0) is found[0]
    assert profiles.void_at(found, 4.5) is found[1]  # the crossing itself is inside
    assert profiles.void_at(found, 3.0) is None  # on the ridge between them


@IMPLEMENTATIONS
def test_min_valley_depth_merges_ripples(voids):
    p = [0, 10, 1, 2, 1, 10, 0]
    assert voids(p) == [pytest.approx((1.5, 2.5)), pytest.approx((3.5, 4.5))]
    assert voids(p, 2.0) == [pytest.approx((1.5, 4.5))]  # the ripple 1-2-1 is gone
    assert voids(p, 9.5) == []  # the valley itself is shallower than 9.5 on both sides


def test_width_and_bmd_loss_of_a_void():
    p = np.array([0, 1200, 200, 200, 200, 1200, 0.0])
    (void,) = profiles.find_voids(p)
    assert void.width(0.3) == pytest.approx(3 * 0.3)
    assert void.bmd_loss(p, 1200.0) == pytest.approx(1000 / 1200)


def test_both_implementations_agree_on_random_profiles():
    rng = np.random.default_rng(0)
    for trial in range(500):
        p = np.round(rng.normal(size=rng.integers(0, 40)) * 3)  # many ties and plateaus
        depth = [0.0, 1.5, 4.0][trial % 3]
        got, want = _fast(p, depth), _rules(p, depth)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g == pytest.approx(w, abs=1e-12)
