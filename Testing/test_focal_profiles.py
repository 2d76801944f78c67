"""Step 7 on 1D profiles with hand-computed answers, for both implementations:
the readable rules (``profiles.find_voids``) and the numba kernel of the fast path."""

from __future__ import annotations

import numpy as np
import pytest

from osteoimaging.errors import InputError
from osteoimaging.focal import profiles
from osteoimaging.focal.parameters import HALF_LEVEL_CODES
from osteoimaging.focal.starlines import profile_voids


def _fast(p, min_depth=0.0, half_level="each_side"):
    p = np.asarray(p, dtype=float)
    left, right, mid = np.empty(len(p)), np.empty(len(p)), np.empty(len(p))
    n = profile_voids(p, float(min_depth), HALF_LEVEL_CODES[half_level], left, right, mid)
    return [(left[i], right[i]) for i in range(n)]


def _rules(p, min_depth=0.0, half_level="each_side"):
    found = profiles.find_voids(np.asarray(p, float), min_depth, half_level)
    return [(v.left, v.right) for v in found]


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


# -- readings of the half level (half_level) and of the width (width) -----------------------
def _numpy(p, min_depth=0.0, half_level="each_side"):
    from osteoimaging.focal.starlines_numpy import voids_of_profiles

    (found,) = voids_of_profiles([p], min_depth, HALF_LEVEL_CODES[half_level])
    return [(a, b) for a, b, _ in found]


READINGS = pytest.mark.parametrize(
    "voids", [_rules, _fast, _numpy], ids=["rules", "numba", "numpy"]
)
# Ridges 10 (sample 1) and 20 (sample 5), minimum 0 at sample 3.
ASYMMETRIC = [0, 10, 4, 0, 6, 20, 0]
# Ridges 10, 4, 30 (samples 1, 5, 7); minima 0 (sample 3) and 2 (sample 6).
LOW_MIDDLE_RIDGE = [0, 10, 2, 0, 2, 4, 2, 30, 0]


@READINGS
@pytest.mark.parametrize(
    "half_level, want",
    [
        ("each_side", (1 + 5 / 6, 5 - 10 / 14)),  # hL = 5, hR = 10
        ("lower_ridge", (1 + 5 / 6, 4 - 1 / 6)),  # h = 5 both sides
        ("higher_ridge", (1.0, 5 - 10 / 14)),  # h = 10: reached exactly at the left ridge
        ("profile_extrema", (1.0, 5 - 10 / 14)),  # ½(20 + 0) = 10 as well
    ],
)
def test_half_level_readings_on_an_asymmetric_valley(voids, half_level, want):
    ((left, right),) = voids(ASYMMETRIC, 0.0, half_level)
    assert (left, right) == pytest.approx(want, abs=1e-12)


@READINGS
@pytest.mark.parametrize(
    "half_level, want",
    [
        ("each_side", [(1.625, 4.0), (5.5, 6.5)]),  # levels 5, 2 | 3, 16
        ("lower_ridge", [(2.0, 4.0), (5.5, 7 - 27 / 28)]),  # levels 2 and 3
        # level 5 above the middle ridge (4): the first void ends at that ridge (sample 5);
        # level 16 for the second: it starts there.
        ("higher_ridge", [(1.625, 5.0), (5.0, 6.5)]),
        # one level ½(30 + 0) = 15: the left ridge (10) and the middle one are below it
        ("profile_extrema", [(1.0, 5.0), (5.0, 7 - 15 / 28)]),
    ],
)
def test_levels_above_a_ridge_stop_at_the_ridge(voids, half_level, want):
    got = voids(LOW_MIDDLE_RIDGE, 0.0, half_level)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w, abs=1e-12)


@READINGS
def test_profile_level_drops_valleys_above_it(voids):
    p = [0, 20, 0, 20, 15, 20, 0]  # level ½(20 + 0) = 10; the second valley's minimum is 15
    assert voids(p, 0.0, "profile_extrema") == [pytest.approx((1.5, 2.5))]
    assert len(voids(p, 0.0, "each_side")) == 2


@READINGS
def test_symmetric_valleys_are_the_same_in_every_reading(voids):
    p = [600, 1200, 800, 200, 800, 1200, 600]
    for half_level in HALF_LEVEL_CODES:
        assert voids(p, 0.0, half_level) == [pytest.approx((2 + 1 / 6, 4 - 1 / 6))]


def test_half_width_on_each_side_of_the_minimum():
    """The discussion's "half-width distance between local maximum and minimum"."""
    (void,) = profiles.find_voids(np.asarray(ASYMMETRIC, float))
    left, right = 1 + 5 / 6, 5 - 10 / 14
    assert void.minimum == 3.0
    assert void.half_width(0.3, 2.0) == pytest.approx((3 - left) * 0.3)
    assert void.half_width(0.3, 4.0) == pytest.approx((right - 3) * 0.3)
    assert void.half_width(0.3, 3.0) == pytest.approx((right - left) * 0.3 / 2)
    assert void.width_at(0.3, 2.0, "full") == pytest.approx((right - left) * 0.3)
    with pytest.raises(InputError, match="width must be one of full, half"):
        void.width_at(0.3, 2.0, "quarter")
    with pytest.raises(InputError, match="half_level must be one of each_side"):
        profiles.find_voids(np.asarray(ASYMMETRIC, float), 0.0, "global")


@pytest.mark.parametrize("line_mode", [False, True])
@pytest.mark.parametrize("half_level", list(HALF_LEVEL_CODES))
def test_fast_paths_write_each_samples_void(half_level, line_mode):
    """Per sample of a run, ``_analyse_run`` (numba) and ``_chunk_entries`` (numpy) store
    the void of the readable rules: crossings, minimum (for half widths, which each voxel
    takes on its own side when it reads the sample), width; "line": the mean over voids."""
    from osteoimaging.focal import FocalParameters, starlines, starlines_numpy

    p = np.array([*LOW_MIDDLE_RIDGE, 5, 1, 1, 1, 9, 3], float)
    voids = profiles.find_voids(p, 0.0, half_level)
    want = np.full((4, len(p)), np.nan)
    for v in voids:  # later voids win a shared sample
        for i in range(int(np.ceil(v.left)), int(np.floor(v.right)) + 1):
            want[:, i] = (v.left + 7, v.right + 7, v.minimum + 7, v.width(0.3))
    for width in ("full", "half"):
        params = FocalParameters(half_level=half_level, width=width)
        out = [np.full(len(p), np.nan) for _ in range(6)]  # l, r, m, w, loss, bmc
        starlines._analyse_run(
            p, 7, 0.3, 1200.0, 0.0, HALF_LEVEL_CODES[half_level], width == "half", line_mode,
            *out, np.empty((7, len(p))),
        )  # fmt: skip
        entry, table = starlines_numpy._chunk_entries(
            p, np.zeros(len(p), np.int64), np.zeros(1, np.int64), np.full(1, 7), params,
            line_mode,
        )  # fmt: skip
        has = entry >= 0
        np.testing.assert_array_equal(has, np.isfinite(out[3]))
        for col in (0, 1, 3, 4, 5):  # left, right, width, loss, BMC loss
            np.testing.assert_array_equal(table[col][entry[has]], out[col][has])
        if line_mode:
            scale = 0.5 if width == "half" else 1.0
            mean = np.mean([v.width(0.3) for v in voids]) * scale
            assert out[3] == pytest.approx(np.full(len(p), mean))
            continue
        np.testing.assert_allclose(out[3], want[3], rtol=1e-12)
        np.testing.assert_array_equal(out[0], want[0])
        np.testing.assert_array_equal(out[1], want[1])
        np.testing.assert_array_equal(table[2][entry[has]], want[2][has])
        if width == "half":
            np.testing.assert_array_equal(out[2], want[2])


def test_readings_agree_on_random_profiles():
    from osteoimaging.focal.starlines_numpy import voids_of_profiles

    rng = np.random.default_rng(1)
    batch = [np.round(rng.normal(size=rng.integers(0, 40)) * 3) for _ in range(300)]
    for half_level, code in HALF_LEVEL_CODES.items():
        for depth in (0.0, 2.5):
            fast_np = voids_of_profiles(batch, depth, code)
            for p, got_np in zip(batch, fast_np, strict=True):
                want = profiles.find_voids(p, depth, half_level)
                left, right, mid = np.empty(len(p)), np.empty(len(p)), np.empty(len(p))
                n = profile_voids(np.asarray(p, float), depth, code, left, right, mid)
                got = [(left[i], right[i], mid[i]) for i in range(n)]
                assert got == got_np  # numba and numpy: the same numbers
                assert got == [(v.left, v.right, v.minimum) for v in want]
