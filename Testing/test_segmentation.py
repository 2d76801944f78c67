"""One-click GrowCut segmentation: Dice on phantoms with posterior elements, landmarks,
errors, label maps and levels, real-data Dice, and the ``osteo segment`` CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from osteoimaging.errors import InputError
from osteoimaging.imageio import read_image, write_image
from osteoimaging.phantoms import CTProtocol, FocalDefect, VertebraSpec, vertebra_ct
from osteoimaging.segmentation import (
    LABEL_SCHEMES,
    body_mask_from_labels,
    check_level,
    dice,
    label_for_level,
    parse_levels,
    ras_to_lps,
    segment_vertebral_body,
)
from osteoimaging.segmentation.crop import offsets_mm
from osteoimaging.segmentation.seeds import find_canal, find_valley

pytest.importorskip("itk")

SPEC = VertebraSpec(
    hires_mm=0.2, scene_mm=0.4, defects=[FocalDefect((3.0, -4.0, 2.0), (5.0, 5.0, 5.0))]
)


@pytest.fixture(scope="module")
def phantom():
    return vertebra_ct(SPEC, CTProtocol(spacing_mm=(0.5, 0.5, 1.0)))


def posterior_voxels(mask, spec: VertebraSpec) -> int:
    """Mask voxels in the posterior elements' territory: behind the body's posterior wall,
    or beside it (pedicle roots) more than 1 mm outside the body's elliptic outline."""
    d = offsets_mm(mask, (0.0, 0.0, 0.0))
    a, b = spec.width_mm / 2, spec.depth_mm / 2
    outside = np.sqrt((d[..., 0] / (a + 1.0)) ** 2 + (d[..., 1] / (b + 1.0)) ** 2) > 1.0
    territory = (d[..., 1] > b + 1.0) | (outside & (d[..., 1] > 0.6 * b))
    return int((mask.array & territory).sum())


def test_phantom_dice_and_posterior_elements_excluded(phantom):
    ct, truth_mask, _ = phantom
    result = segment_vertebral_body(ct, (0.0, 0.0, 0.0), level="L1")
    assert result.level == "L1" and result.mask.metadata["level"] == "L1"
    assert dice(result.mask.array, truth_mask.array) >= 0.95
    assert posterior_voxels(result.mask, SPEC) == 0
    # The landmarks are where the phantom puts them (disc centres ±16.5 mm, canal behind
    # the posterior wall at y = 15 mm, its centre at 24.8 mm).
    assert result.seeds.disc_above_mm == pytest.approx(16.5, abs=1.5)
    assert result.seeds.disc_below_mm == pytest.approx(-16.5, abs=1.5)
    assert 15.0 < result.seeds.canal_mm < 26.0


def test_tilted_scan_off_centre_click():
    ct, truth_mask, _ = vertebra_ct(
        SPEC, CTProtocol(spacing_mm=(0.5, 0.5, 1.0), rotation_deg=(15.0, 0.0, 0.0))
    )
    result = segment_vertebral_body(ct, (-6.0, 4.0, -3.0))
    assert dice(result.mask.array, truth_mask.array) >= 0.90
    assert posterior_voxels(result.mask, SPEC) == 0


def test_seed_errors(phantom):
    ct, _, _ = phantom
    with pytest.raises(InputError, match="outside the image"):
        segment_vertebral_body(ct, (0.0, 0.0, 500.0))
    with pytest.raises(InputError, match="fat or soft tissue"):
        segment_vertebral_body(ct, (30.0, 60.0, 0.0))  # fat behind the spine
    air = ct.with_array(ct.array.copy())
    air.array[:, :, :30] = -1000
    with pytest.raises(InputError, match="in air"):
        segment_vertebral_body(air, air.index_to_physical((10.0, 100.0, 20.0)))


def test_ras_lps():
    assert ras_to_lps((10.0, -20.0, 30.0)) == (-10.0, 20.0, 30.0)
    assert ras_to_lps(ras_to_lps((1.0, 2.0, 3.0))) == (1.0, 2.0, 3.0)


def test_profile_landmarks():
    steps = np.arange(0.0, 40.0, 0.5)
    # Trabecular 200, end plate 600 at 12 mm, disc 90 from 14 to 20 mm, next plate at 22 mm.
    p = np.full(steps.shape, 200.0)
    p[(steps > 11) & (steps < 13)] = 600.0
    p[(steps >= 13) & (steps <= 21)] = 90.0
    p[(steps > 21) & (steps < 23)] = 600.0
    p[10:12] = 170.0  # a small trabecular dip: not a disc (no bright plate before it)
    # A flat valley counts at its centre: the disc centre, 17 mm.
    assert find_valley(p, steps, below=200.0, min_drop=50.0) == pytest.approx(17.0, abs=0.6)
    assert find_valley(np.full(steps.shape, 200.0), steps, below=200.0) is None
    # Canal: first run below 40 HU of at least 6 mm; its centre.
    q = np.full(steps.shape, 200.0)
    q[(steps >= 20) & (steps <= 34)] = 10.0
    q[(steps >= 5) & (steps <= 7)] = 0.0  # 2 mm void: too short for the canal
    assert find_canal(q, steps, 40.0, 6.0, 8.0) == pytest.approx(27.0)
    assert find_canal(q, steps, 40.0, 6.0, 4.0) == pytest.approx(24.0)  # capped: front + 4


def test_levels_and_label_maps(phantom):
    assert check_level("l1") == "L1"
    assert parse_levels("T12,L1, L2") == ["T12", "L1", "L2"]
    for bad in ("L7", "X1", "T13"):
        with pytest.raises(InputError, match="not a vertebra level"):
            check_level(bad)
    with pytest.raises(InputError, match="repeated"):
        parse_levels("L1,L1")
    assert label_for_level("L1", "verse") == 20 and label_for_level("T12", "verse") == 19
    assert label_for_level("T12", "totalseg_v2") == 32
    assert (
        label_for_level("T11", "totalseg_v2") == 33 and label_for_level("L5", "totalseg_v2") == 27
    )
    assert len(set(LABEL_SCHEMES["totalseg_v2"].values())) == len(LABEL_SCHEMES["totalseg_v2"])
    _, mask, _ = phantom
    labels = mask.with_array(mask.array.astype(np.uint8) * 20)
    assert body_mask_from_labels(labels, 20).array.sum() == mask.array.sum()
    with pytest.raises(InputError, match=r"label 21 is absent .*20"):
        body_mask_from_labels(labels, 21, path="labels.nii.gz")
    body = labels.with_array(np.zeros(mask.shape, np.uint8))
    with pytest.raises(InputError, match="no voxel in the body part"):
        body_mask_from_labels(labels, 20, body_labels=body)


def test_segment_cli(tmp_path, phantom, osteo_cmd):
    ct, truth_mask, _ = phantom
    ct_path = write_image(ct, tmp_path / "ct.nrrd")
    out = tmp_path / "mask.nrrd"
    ok = subprocess.run(
        [
            *osteo_cmd,
            "segment",
            str(ct_path),
            "--seed",
            "0,0,0",
            "--level",
            "L2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "L2" in ok.stdout
    assert dice(read_image(out).array > 0, truth_mask.array) >= 0.95
    # RAS (−30, −60, 0) is LPS (30, 60, 0): fat behind the spine.
    bad = subprocess.run(
        [
            *osteo_cmd,
            "segment",
            str(ct_path),
            "--seed=-30,-60,0",
            "--out",
            str(tmp_path / "b.nrrd"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "not inside a vertebral body" in bad.stderr


@pytest.mark.shared_data
def test_real_ct_dice(shared_data):
    """Dice against the body part of TotalSegmentator's references (docs/validation.md)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from segmentation_dice import body_part_anterior_to_canal, run_case

    from osteoimaging.validation import read_ct, resample_mask_to

    folder = shared_data("ct/totalseg-example")
    ct = read_ct(folder / "example_ct.nii.gz")
    labels = read_image(folder / "totalseg_vertebrae_pp_refined.nii.gz").array
    body = read_image(folder / "totalseg_vertebrae_body.nii.gz").array == 1
    assert run_case(ct, (labels == 20) & body, "L1") >= 0.85
    dicom = shared_data("ct/totalseg-dicom")
    ct2 = read_ct(dicom / "series")
    seg = read_image(dicom / "example_seg_dicom.nii.gz")
    t12 = resample_mask_to(seg.with_array((seg.array == 32).astype(np.uint8)), ct2)
    # A coarse reference (see docs/validation.md): the bar only guards against regressions.
    assert run_case(ct2, body_part_anterior_to_canal(t12.with_array(t12.array > 0)), "T12") >= 0.6
