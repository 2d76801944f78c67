"""The readings of the paper's half level and intercept width (``half_level``, ``width``;
Li et al., JOR Spine 2022;5(1):e1195, section 2.3.3 and the discussion) on whole images:
known answers on a phantom of unequal plates, agreement of the fast path with the per-voxel
reference, and the command-line options. 1D known answers: ``test_focal_profiles.py``;
numba = numpy bit for bit: ``test_starlines_numpy.py``."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from focal_cases import box_mask, vertebra_scan
from focal_reference import reference_values

from osteoimaging.calibration import LinearCalibration
from osteoimaging.cli.focal import add_parameter_arguments, parameters_from_args
from osteoimaging.errors import InputError
from osteoimaging.focal import FocalParameters, measure_focal
from osteoimaging.focal.filters import smooth
from osteoimaging.focal.parameters import HALF_LEVELS, WIDTHS
from osteoimaging.volume import Volume

# One period along x (samples of 0.3 mm): plate 1200 (0–3), void V1 (4–10, minimum 0 at 7),
# plate 500 (11–14), void V2 (15–17, minimum at 16). Each void lies between a 1200 and a
# 500 ridge, so the readings differ; the level 600 of the last two readings is above the
# 500 ridge, so there the voids stop at that plate.
PERIOD = np.array([1200.0] * 4 + [100, 100, 100, 0, 100, 100, 100] + [500.0] * 4 + [100, 0, 100])
N = len(PERIOD)
LEVELS = {  # (V1 left, V1 right, V2 left, V2 right): ½(ridge + 0) by each reading
    "each_side": (600, 250, 250, 600),
    "lower_ridge": (250, 250, 250, 250),
    "higher_ridge": (600, 600, 600, 600),
    "profile_extrema": (600, 600, 600, 600),  # ½(1200 + 0)
}


def _unequal_plates() -> Volume:
    line = np.tile(PERIOD, 7)[:120].astype(np.float32)
    return Volume(np.broadcast_to(line, (5, 40, 120)).copy(), (0.3,) * 3, (0.0, 0.0, 0.0))


def _expected(half_level: str, width: str) -> dict[int, tuple[float, float]]:
    """{sample in the period: (intercept width mm, BMD loss)} of the θ = 0° profile.

    A ramp from a ridge P to the void's edge value 100 crosses level h (P − h)/(P − 100)
    of a sample away from the ridge; a level above the 500 ridge ends the void on it."""
    h1l, h1r, h2l, h2r = LEVELS[half_level]
    v1 = (3 + (1200 - h1l) / 1100, 11 - (500 - h1r) / 400 if h1r <= 500 else 11.0, 7)
    v2 = (14 + (500 - h2l) / 400 if h2l <= 500 else 14.0, 18 - (1200 - h2r) / 1100, 16)
    out = {}
    for left, right, mid in (v1, v2):
        samples = range(int(np.ceil(left)), int(np.floor(right)) + 1)
        loss = np.mean([(1200 - PERIOD[s % N]) / 1200 for s in samples])
        for s in samples:
            half = mid - left if s < mid else right - mid if s > mid else (right - left) / 2
            w = right - left if width == "full" else half
            out[s % N] = (w * 0.3, loss)
    return out


@pytest.mark.parametrize("half_level", HALF_LEVELS)
@pytest.mark.parametrize("width", WIDTHS)
def test_unequal_plates_give_each_readings_known_widths(half_level, width):
    ct = _unequal_plates()
    params = FocalParameters(
        sigma_mm=0.0,
        erosion_mm=0.6,
        angle_step_deg=90.0,  # θ = 0° across the plates, 90° along them (flat: no void)
        min_valley_depth=1.0,  # resampling leaves ~1e-12 ripples on the plateaus
        half_level=half_level,
        width=width,
    )
    result = measure_focal(ct, box_mask(ct), params=params)
    roi = result.roi.array
    idx = np.argwhere(roi)
    x = np.rint(result.roi.index_to_physical(idx[:, ::-1].astype(float))[:, 0] / 0.3)
    got_w = result.maps["intercept_width"].array[roi]
    got_loss = result.maps["focal_bmd_loss"].array[roi]
    got_bmc = result.maps["focal_bmc_loss"].array[roi]
    want = _expected(half_level, width)
    has = np.isfinite(got_w)
    assert has.mean() > 0.45  # 10–12 of 18 samples, the ends of the runs excepted
    for xi, w, loss, bmc in zip(x[has], got_w[has], got_loss[has], got_bmc[has], strict=True):
        want_w, want_loss = want[int(xi) % N]
        assert w == pytest.approx(want_w, rel=1e-6)
        assert loss == pytest.approx(want_loss, rel=1e-6)
        assert bmc == pytest.approx(want_w * want_loss, rel=1e-6)
    # every void sample of a complete void has a value (the ends of the run excepted)
    inner = (x > x.min() + N) & (x < x.max() - N)
    assert set(np.asarray(x[inner & has], int) % N) == set(want)


@pytest.fixture(scope="module")
def scan():
    return vertebra_scan()


@pytest.mark.parametrize(
    "kwargs, min_r",
    [
        ({"half_level": "lower_ridge", "width": "half", "line_phases": 4}, 0.95),
        ({"half_level": "profile_extrema", "line_spacing_mm": 0.075, "line_phases": 4}, 0.9),
    ],
    ids=["lower-half", "profile"],
)
def test_fast_path_agrees_with_the_reference_for_other_readings(scan, kwargs, min_r):
    """As the default reading's test in ``test_focal_pipeline.py`` (routine-CT phantom,
    random ROI voxels, ROI means within 2%), on finer lattices: the lower ridge makes
    narrow voids hugging the minimum on the steep side, where the sample phase matters
    (2 phases: widths +2.5%, 4 phases: +1.5%); the profile's level depends on the whole
    line, like the "line" aggregation: the reference against itself with its lines moved
    by 0.05 mm gives r = 0.93 for the width map (each side: 0.95), hence r ≥ 0.9 there."""
    cal = LinearCalibration.manual(0.8, -5.0)
    params = FocalParameters(**kwargs)
    result = measure_focal(*scan, cal, params)
    roi = result.roi.array
    bmd = cal.apply(smooth(result.hu.array, params.spacing_mm, params.sigma_mm))
    voxels = np.argwhere(roi)
    voxels = voxels[np.random.default_rng(1).choice(len(voxels), 300, replace=False)]
    ref = reference_values(bmd, roi, params, voxels)
    for name in ("intercept_width", "focal_bmd_loss", "focal_bmc_loss"):
        fast = result.maps[name].array[tuple(voxels.T)]
        both = np.isfinite(fast) & np.isfinite(ref[name])
        assert both.sum() > 150
        assert np.corrcoef(fast[both], ref[name][both])[0, 1] >= min_r, name
        assert np.nanmean(fast) == pytest.approx(np.nanmean(ref[name]), rel=0.02), name


def test_readings_differ_on_the_phantom(scan):
    """On real-looking profiles the readings are not the same measure: the lower ridge
    narrows voids, the higher ridge widens them; the half width on the voxel's side is
    more than half the full width on average (more voxels lie on the wider side: the mean
    over a void is (hL² + hR²)/(hL + hR) ≥ (hL + hR)/2)."""
    cal = LinearCalibration.manual(0.8, -5.0)
    width = {}
    for half_level in HALF_LEVELS:
        params = FocalParameters(half_level=half_level, angle_step_deg=30.0)
        width[half_level] = measure_focal(*scan, cal, params).values["intercept_width_mm"]
    assert width["lower_ridge"] < width["each_side"] < width["higher_ridge"]
    half = measure_focal(*scan, cal, FocalParameters(width="half", angle_step_deg=30.0))
    ratio = half.values["intercept_width_mm"] / width["each_side"]
    assert 0.5 < ratio < 0.65


def test_command_line_options_and_bad_values():
    parser = argparse.ArgumentParser()
    add_parameter_arguments(parser)
    params = parameters_from_args(
        parser.parse_args(["--half-level", "profile_extrema", "--width", "half"])
    )
    assert (params.half_level, params.width) == ("profile_extrema", "half")
    defaults = parameters_from_args(parser.parse_args([]))
    assert (defaults.half_level, defaults.width) == ("each_side", "full")
    with pytest.raises(SystemExit):
        parser.parse_args(["--half-level", "global"])
    with pytest.raises(InputError, match="half_level must be one of each_side, lower_ridge"):
        FocalParameters(half_level="global")
    with pytest.raises(InputError, match="width must be one of full, half"):
        FocalParameters(width="quarter")
    assert FocalParameters.from_dict(params.to_dict()) == params
