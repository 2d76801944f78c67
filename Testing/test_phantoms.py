"""The synthetic vertebra: requested microarchitecture, geometry and CT view."""

from __future__ import annotations

import math

import numpy as np
import pytest

from osteoimaging.phantoms import (
    CTProtocol,
    FocalDefect,
    VertebraSpec,
    make_vertebra,
    plate_model,
    trabecular_bone,
    vertebra_ct,
)
from osteoimaging.phantoms.trabecular import gaussian_shell_field

SMALL = dict(width_mm=20.0, depth_mm=16.0, height_mm=12.0, discs_mm=4.0)


@pytest.mark.parametrize("bvtv", [0.08, 0.15, 0.30])
def test_trabecular_bvtv_as_requested(bvtv):
    bone = trabecular_bone((60, 60, 60), 0.1, bvtv, tb_th_mm=0.15, seed=2)
    assert bone.mean() == pytest.approx(bvtv, abs=0.01)


def test_trabecular_scale_follows_plate_model():
    """Mean intercept count along lines ≈ Tb.N of the plate model (Rice's crossing rate)."""
    bone = trabecular_bone((80, 80, 80), 0.1, 0.15, tb_th_mm=0.15, seed=5)
    model = plate_model(0.15, tb_th_mm=0.15)
    # Bone/marrow transitions per mm along x, halved (two edges per plate).
    transitions = np.abs(np.diff(bone.astype(np.int8), axis=2)).sum()
    lines_length_mm = bone.shape[0] * bone.shape[1] * (bone.shape[2] - 1) * 0.1
    tb_n = transitions / 2 / lines_length_mm
    assert tb_n == pytest.approx(model["tb_n_per_mm"], rel=0.25)


def test_plate_model_relations():
    m = plate_model(0.2, tb_th_mm=0.1)
    assert m["tb_n_per_mm"] == pytest.approx(2.0)
    assert m["tb_sp_mm"] == pytest.approx(0.4)
    m2 = plate_model(0.2, tb_sp_mm=0.4)
    assert m2["tb_th_mm"] == pytest.approx(0.1)
    with pytest.raises(ValueError):
        plate_model(1.2, tb_th_mm=0.1)
    with pytest.raises(ValueError):
        plate_model(0.2)


def test_field_is_seedable_and_normalised():
    a = gaussian_shell_field((32, 32, 32), 0.1, 6.0, seed=4)
    b = gaussian_shell_field((32, 32, 32), 0.1, 6.0, seed=4)
    c = gaussian_shell_field((32, 32, 32), 0.1, 6.0, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert abs(float(a.mean())) < 1e-4 and float(a.std()) == pytest.approx(1.0, abs=1e-3)


@pytest.fixture(scope="module")
def small_case():
    spec = VertebraSpec(**SMALL, bvtv=0.2, defects=[FocalDefect((0, 0, 0), (3, 3, 3))], seed=3)
    return spec, vertebra_ct(spec, CTProtocol(noise_hu=0.0))


def test_truth_bvtv_and_defect(small_case):
    spec, (_, _, truth) = small_case
    assert truth["bvtv_outside_defects"] == pytest.approx(0.2, abs=0.01)
    assert truth["bvtv_trabecular"] < truth["bvtv_outside_defects"]
    assert truth["defect_volume_ml"] == pytest.approx(4 / 3 * math.pi * 27 / 1000, rel=0.05)
    assert truth["trabecular_bmd_mg_cm3"] == pytest.approx(
        truth["bvtv_trabecular"] * spec.tissue_bmd, rel=1e-3
    )


def test_mask_volume_matches_elliptic_cylinder(small_case):
    spec, (ct, mask, truth) = small_case
    area_mm2 = math.pi * spec.width_mm / 2 * spec.depth_mm / 2
    expected_ml = area_mm2 * spec.height_mm / 1000
    assert truth["body_volume_ml"] == pytest.approx(expected_ml, rel=0.02)
    # On the CT grid: the ellipse area in each slice whose centre lies within the body.
    z_centres = ct.index_to_physical(
        np.c_[np.zeros(ct.shape[0]), np.zeros(ct.shape[0]), np.arange(ct.shape[0])]
    )[:, 2]
    n_slices = int((np.abs(z_centres) <= spec.height_mm / 2).sum())
    per_slice = mask.array.sum(axis=(1, 2))
    assert (per_slice > 0).sum() == n_slices
    np.testing.assert_allclose(per_slice[per_slice > 0] * 0.4 * 0.4, area_mm2, rtol=0.02)
    assert mask.same_geometry(ct)


def test_ct_values_follow_calibration(small_case):
    spec, (ct, mask, _) = small_case
    hu = ct.array[mask.array].astype(float)
    # Mean HU inside the body ≈ HU of the mean BMD (linear calibration, cortex included).
    assert ct.spacing == pytest.approx((0.4, 0.4, 0.7))
    assert ct.array.dtype == np.int16
    bmd = spec.calibration_slope * hu + spec.calibration_intercept
    assert 150 < bmd.mean() < 450
    outside = ct.array[~mask.array]
    assert outside.min() < -50  # fat present: a plausible CT


def test_defect_is_dark_in_ct(small_case):
    _, (ct, mask, _) = small_case
    centre = np.round(ct.physical_to_index(np.zeros(3))).astype(int)
    i, j, k = centre
    core = ct.array[k - 2 : k + 3, j - 3 : j + 4, i - 3 : i + 4].mean()
    ring = ct.array[mask.array].mean()
    assert core < ring - 40


def test_noise_and_rotation(small_case):
    spec, _ = small_case
    ct1, _, _ = vertebra_ct(spec, CTProtocol(noise_hu=20.0, seed=1))
    ct2, _, _ = vertebra_ct(spec, CTProtocol(noise_hu=20.0, seed=2))
    diff = ct1.array.astype(float) - ct2.array.astype(float)
    assert diff.std() == pytest.approx(20.0 * math.sqrt(2), rel=0.1)
    ct3, mask3, _ = vertebra_ct(spec, CTProtocol(noise_hu=0.0, rotation_deg=(0.0, 0.0, 10.0)))
    assert not np.allclose(ct3.direction, np.eye(3))
    np.testing.assert_allclose(ct3.direction.T @ ct3.direction, np.eye(3), atol=1e-9)
    # The rotated scan sees the same body volume.
    vol3 = mask3.array.sum() * ct3.voxel_volume_mm3 / 1000
    assert vol3 == pytest.approx(small_case[1][2]["mask_volume_ml"], rel=0.03)


def test_scene_requires_integer_factor():
    with pytest.raises(ValueError):
        make_vertebra(VertebraSpec(**SMALL, hires_mm=0.1, scene_mm=0.25))
