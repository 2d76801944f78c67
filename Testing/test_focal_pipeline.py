"""measure_focal end to end: agreement with the per-voxel reference, bad inputs, progress and
cancellation, and the written outputs (values, exact map geometry, report)."""

from __future__ import annotations

import numpy as np
import pytest
from focal_cases import box_mask, slab_volume, small_vertebra, vertebra_scan
from focal_reference import reference_values

from osteoimaging.calibration import LinearCalibration
from osteoimaging.errors import CancelledError, InputError
from osteoimaging.focal import FocalParameters, FocalResult, measure_focal
from osteoimaging.focal.filters import smooth
from osteoimaging.phantoms import CTProtocol, simulate_ct
from osteoimaging.volume import Volume

CAL = LinearCalibration.manual(0.8, -5.0)
MAPS = ("intercept_width", "focal_bmd_loss", "focal_bmc_loss")


@pytest.fixture(scope="module")
def scan():
    return vertebra_scan()


@pytest.fixture(scope="module")
def result(scan) -> FocalResult:
    return measure_focal(*scan, CAL)


# -- agreement with the per-voxel reference ------------------------------------------------
def _agreement(result: FocalResult, params: FocalParameters, n: int = 500):
    roi = result.roi.array
    bmd = CAL.apply(smooth(result.hu.array, params.spacing_mm, params.sigma_mm))
    voxels = np.argwhere(roi)
    voxels = voxels[np.random.default_rng(0).choice(len(voxels), n, replace=False)]
    ref = reference_values(bmd, roi, params, voxels)
    out = {}
    for name in MAPS:
        fast = result.maps[name].array[tuple(voxels.T)]
        both = np.isfinite(fast) & np.isfinite(ref[name])
        r = np.corrcoef(fast[both], ref[name][both])[0, 1]
        out[name] = (r, np.nanmean(fast) / np.nanmean(ref[name]) - 1.0)
    fast_cov = result.maps["coverage"].array[tuple(voxels.T)]
    out["coverage"] = (None, fast_cov.mean() / ref["coverage"].mean() - 1.0)
    return out


def test_fast_path_agrees_with_reference_local(result):
    """Default parameters, routine-CT phantom with 20 HU noise (the paper's method)."""
    for name, (r, rel) in _agreement(result, result.parameters).items():
        assert r is None or r >= 0.95, (name, r)
        assert abs(rel) <= 0.02, (name, rel)


def test_fast_path_agrees_with_reference_line(scan):
    """``aggregation="line"`` averages every void of a line, so a voxel's value depends on
    its whole line; sub-0.05 mm line shifts decorrelate it on noisy profiles (reference
    vs itself: r ≈ 0.92), hence the finer lattice (0.075 mm lines, 4 phases) here."""
    params = FocalParameters(aggregation="line", line_spacing_mm=0.075, line_phases=4)
    result = measure_focal(*scan, CAL, params)
    for name, (r, rel) in _agreement(result, params, n=300).items():
        assert r is None or r >= 0.95, (name, r)
        assert abs(rel) <= 0.02, (name, rel)


def test_line_aggregation_gives_every_voxel_on_a_voided_line_a_value(scan, result):
    line = measure_focal(*scan, CAL, FocalParameters(aggregation="line"))
    assert line.values["void_coverage"] > result.values["void_coverage"]
    assert line.values["void_coverage"] > 0.98


# -- case values ---------------------------------------------------------------------------
def test_case_values_are_roi_means_of_the_maps(result):
    v, roi = result.values, result.roi.array
    for key, name in (
        ("focal_bmc_loss_mm", "focal_bmc_loss"),
        ("focal_bmd_loss", "focal_bmd_loss"),
        ("intercept_width_mm", "intercept_width"),
    ):
        assert v[key] == pytest.approx(np.nanmean(result.maps[name].array[roi]), rel=1e-6)
    assert v["trabecular_bmd"] == pytest.approx(
        float(np.mean(CAL.apply(result.hu.array[roi]))), rel=1e-5
    )
    cov = result.maps["coverage"].array
    assert v["void_coverage"] == pytest.approx((cov[roi] > 0).mean())
    assert cov.max() <= v["n_orientations"] == 15
    assert not np.any(cov[~roi])
    assert v["roi_voxels"] == roi.sum()
    assert v["roi_volume_ml"] == pytest.approx(roi.sum() * 0.3**3 / 1000)
    # The focal void (3 mm radius) shows up: BMC loss there is above the ROI mean.
    centre = result.roi.physical_to_index(np.array([2.0, -2.0, 0.0]))[::-1].round().astype(int)
    assert result.maps["focal_bmc_loss"].array[tuple(centre)] > v["focal_bmc_loss_mm"]


def test_roi_is_the_mask_eroded_by_6mm(result):
    """Every ROI voxel is > 6 mm inside the body and the ROI volume matches the eroded
    elliptic cylinder (26 mm × 20 mm × 22 mm → 16 × 10 × 10 mm) within a voxel layer."""
    spec = small_vertebra().spec
    pts = result.roi.index_to_physical(np.argwhere(result.roi.array)[:, ::-1].astype(float))
    a, b, h = spec.width_mm / 2 - 6, spec.depth_mm / 2 - 6, spec.height_mm / 2 - 6
    assert np.all((pts[:, 0] / a) ** 2 + (pts[:, 1] / b) ** 2 <= 1.0 + 0.1)
    assert np.all(np.abs(pts[:, 2]) <= h + 0.35)
    expected_ml = np.pi * a * b * 2 * h / 1000
    assert result.values["roi_volume_ml"] == pytest.approx(expected_ml, rel=0.12)


def test_identity_calibration_is_reported_as_none(scan):
    small = FocalParameters(angle_step_deg=45.0)
    result = measure_focal(*scan, None, small)
    assert result.values["calibration"] == "none"
    assert result.values["bmd_units"].startswith("HU")
    calibrated = measure_focal(*scan, CAL, small)
    assert calibrated.values["calibration"] == CAL.to_dict()


def test_input_hash_depends_on_the_arrays(scan):
    ct, mask = scan
    small = FocalParameters(angle_step_deg=90.0)
    h1 = measure_focal(ct, mask, CAL, small).values["input_sha256"]
    changed = ct.with_array(ct.array.copy())
    changed.array[0, 0, 0] += 1
    h2 = measure_focal(changed, mask, CAL, small).values["input_sha256"]
    assert len(h1) == 64 and h1 != h2


# -- progress and cancellation -------------------------------------------------------------
def test_progress_is_reported_per_orientation_and_cancellation_stops(scan):
    seen = []
    measure_focal(*scan, CAL, progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert sum("star lines" in m for _, m in seen) >= 15

    def stop_in_star_lines(fraction, message):
        return "star lines 3/" not in message

    with pytest.raises(CancelledError):
        measure_focal(*scan, CAL, progress=stop_in_star_lines)


# -- bad input -----------------------------------------------------------------------------
@pytest.fixture
def slab():
    ct = slab_volume((30, 60, 60), axis=2, void_px=8, plate_px=8, void_bmd=300.0)
    return ct, box_mask(ct)


def test_empty_mask(slab):
    ct, mask = slab
    with pytest.raises(InputError, match="mask is empty"):
        measure_focal(ct, mask.with_array(np.zeros(mask.shape, bool)))


def test_mask_too_small_for_the_erosion(slab):
    ct, mask = slab  # 30 slices of 0.3 mm: at most 4.5 mm from the surface
    with pytest.raises(InputError, match="mask too small for a 6 mm erosion"):
        measure_focal(ct, mask)


def test_mask_on_another_grid(slab):
    ct, mask = slab
    shifted = Volume(mask.array, mask.spacing, (0.1, 0.0, 0.0), mask.direction)
    with pytest.raises(InputError, match=r"mask grid .* differs from the CT grid"):
        measure_focal(ct, shifted)
    with pytest.raises(InputError, match="differs"):
        measure_focal(ct, Volume(mask.array[:-1], mask.spacing))


def test_non_finite_ct_and_bad_mask_values(slab):
    ct, mask = slab
    bad = ct.with_array(ct.array.copy())
    bad.array[15, 30, 30] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        measure_focal(bad, mask)
    with pytest.raises(InputError, match="boolean or integer"):
        measure_focal(ct, mask.with_array(np.full(mask.shape, 0.5)))


def test_not_volumes_and_wrong_types(slab):
    ct, mask = slab
    with pytest.raises(InputError, match="Volume"):
        measure_focal(ct.array, mask)
    with pytest.raises(InputError, match="LinearCalibration"):
        measure_focal(ct, mask, calibration=(1.0, 0.0))
    with pytest.raises(InputError, match="FocalParameters"):
        measure_focal(ct, mask, params={"sigma_mm": 0.3})


@pytest.mark.parametrize(
    "bad",
    [
        [[1, 0, 0], [0, 1, 0], [0, 0, 2]],
        [[1, 0.1, 0], [0, 1, 0], [0, 0, 1]],
        [[1, 0], [0, 1]],
        [[np.nan, 0, 0], [0, 1, 0], [0, 0, 1]],
    ],
)
def test_bad_grid_direction(slab, bad):
    with pytest.raises(InputError, match="grid_direction"):
        measure_focal(*slab, grid_direction=np.array(bad, dtype=float))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sigma_mm": -0.1}, "sigma_mm must not be negative"),
        ({"spacing_mm": 0.0}, "spacing_mm must be positive"),
        ({"erosion_mm": float("nan")}, "erosion_mm must be a finite number"),
        ({"angle_step_deg": 120.0}, "angle_step_deg"),
        ({"aggregation": "mean"}, "aggregation must be one of local, line"),
        ({"mode": "4d"}, "mode must be one of"),
        ({"mask_resampling": "cubic"}, "mask_resampling"),
        ({"line_phases": 0}, "line_phases"),
        ({"tissue_bmd": 0.0}, "tissue_bmd must be positive"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(InputError, match=match):
        FocalParameters(**kwargs)


def test_parameters_round_trip():
    p = FocalParameters(sigma_mm=0.5, aggregation="line")
    assert FocalParameters.from_dict(p.to_dict()) == p
    assert FocalParameters().n_angles == 15
    with pytest.raises(InputError, match="unknown focal parameters: colour"):
        FocalParameters.from_dict({"colour": 1})


def test_distance_mask_resampling_from_thick_slices():
    """From 2 mm slices, the distance-map mask is closer to the true eroded volume."""
    phantom = small_vertebra()
    ct = simulate_ct(phantom.scene, CTProtocol(spacing_mm=(0.6, 0.6, 2.0), noise_hu=0.0))
    mask = phantom.body_mask_on(ct)
    spec = phantom.spec
    truth = np.pi * (spec.width_mm / 2 - 6) * (spec.depth_mm / 2 - 6) * (spec.height_mm - 12)
    errors = {}
    for method in ("nearest", "distance"):
        params = FocalParameters(mask_resampling=method, angle_step_deg=90.0)
        v = measure_focal(ct, mask, CAL, params).values["roi_volume_ml"]
        errors[method] = abs(v * 1000 - truth) / truth
    assert errors["distance"] < 0.1
    assert errors["distance"] <= errors["nearest"] + 0.02


# -- filter ----------------------------------------------------------------------------------
def test_gaussian_and_unsharp_mask_known_answers():
    """A unit impulse: the Gaussian (σ = 0.3 mm = 1 voxel) keeps the sum and has the sampled
    Gaussian's centre weight; the unsharp mask I + a(I − G) has centre 1 + a(1 − G(0))."""
    impulse = np.zeros((21, 21, 21), np.float32)
    impulse[10, 10, 10] = 1.0
    g = smooth(impulse, 0.3, 0.3)
    w = np.exp(-0.5 * np.arange(-4, 5) ** 2)
    centre = (1.0 / w.sum()) ** 3
    assert g.sum() == pytest.approx(1.0, rel=1e-5)
    assert g[10, 10, 10] == pytest.approx(centre, rel=1e-4)
    u = smooth(impulse, 0.3, 0.3, unsharp_amount=0.5)
    assert u[10, 10, 10] == pytest.approx(1 + 0.5 * (1 - centre), rel=1e-4)
    assert u.sum() == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_array_equal(smooth(impulse, 0.3, 0.0), impulse)
