"""One-click GrowCut segmentation: Dice on phantoms with posterior elements, landmarks,
errors naming the file, robustness to where the click lands (grids of clicks on the real
CTs), the numpy peak finder, the default path's imports, label maps and levels, real-data
Dice, and the ``osteo segment`` CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from osteoimaging.errors import InputError
from osteoimaging.geometry import ras_to_lps
from osteoimaging.imageio import read_image, write_image
from osteoimaging.phantoms import CTProtocol, FocalDefect, VertebraSpec, vertebra_ct
from osteoimaging.segmentation import (
    LABEL_SCHEMES,
    SegmentationParameters,
    body_mask_from_labels,
    check_level,
    dice,
    label_for_level,
    parse_levels,
    segment_vertebral_body,
)
from osteoimaging.segmentation.crop import offsets_mm
from osteoimaging.segmentation.peaks import find_peaks
from osteoimaging.segmentation.refine import RefineParameters, confirm_discs
from osteoimaging.segmentation.seeds import find_canal
from osteoimaging.volume import Volume

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
    assert dice(result.mask.array, truth_mask.array) >= 0.97
    assert posterior_voxels(result.mask, SPEC) == 0
    # The landmarks are where the phantom puts them (disc centres ±16.5 mm, canal behind
    # the posterior wall at y = 15 mm, its centre at 24.8 mm), relative to the refined
    # centre, which is the body's centre (0, 0, 0).
    assert np.linalg.norm(result.refined_seed_lps) < 1.5
    assert result.seeds.disc_above_mm == pytest.approx(16.5, abs=1.5)
    assert result.seeds.disc_below_mm == pytest.approx(-16.5, abs=1.5)
    assert 15.0 < result.seeds.canal_mm < 26.0
    assert result.flags == []
    report = result.to_dict()
    assert report["volume_ml"] == pytest.approx(result.volume_ml)
    assert report["attempts"] and report["attempts"][0]["point_lps"] == [0.0, 0.0, 0.0]


def test_phantom_same_body_wherever_the_click_lands(phantom):
    """Clicks all over the body (centre, near the end plates, the walls, the defect's
    rim) converge to the same centre and give the same mask."""
    ct, truth_mask, _ = phantom
    clicks = [(0, 0, 0), (-12, 4, -9), (12, -8, 9), (0, 10, 0), (10, 0, -10), (-4, -12, 8)]
    results = [segment_vertebral_body(ct, c) for c in clicks]
    volumes = np.array([r.volume_ml for r in results])
    assert np.ptp(volumes) < 0.02 * volumes.mean()
    for r in results:
        assert dice(r.mask.array, truth_mask.array) >= 0.97
        assert dice(r.mask.array, results[0].mask.array) >= 0.99


def test_tilted_scan_off_centre_click():
    ct, truth_mask, _ = vertebra_ct(
        SPEC, CTProtocol(spacing_mm=(0.5, 0.5, 1.0), rotation_deg=(15.0, 0.0, 0.0))
    )
    result = segment_vertebral_body(ct, (-6.0, 4.0, -3.0))
    assert dice(result.mask.array, truth_mask.array) >= 0.95
    assert posterior_voxels(result.mask, SPEC) == 0


def test_seed_errors_name_the_file(phantom):
    ct, _, _ = phantom
    with pytest.raises(InputError, match="outside the image") as err:
        segment_vertebral_body(ct, (0.0, 0.0, 500.0), path="scan.nrrd")
    assert str(err.value).startswith("scan.nrrd: ")
    with pytest.raises(InputError, match="fat or soft tissue") as err:
        segment_vertebral_body(ct, (30.0, 60.0, 0.0), path="scan.nrrd")  # fat behind the spine
    assert err.value.path == "scan.nrrd"
    air = ct.with_array(ct.array.copy())
    air.array[:, :, :30] = -1000
    with pytest.raises(InputError, match="in air") as err:
        segment_vertebral_body(air, air.index_to_physical((10.0, 100.0, 20.0)), path="a.nii")
    assert err.value.path == "a.nii"


def test_nan_near_the_seed_is_named(phantom):
    """Issue 14 item 15: NaN plus a seed said "nothing grew beyond the seed sphere"."""
    ct, _, _ = phantom
    holes = ct.with_array(ct.array.astype(np.float32))
    holes.array[20:25, 60:70, 60:70] = np.nan
    with pytest.raises(InputError, match="the CT has NaN values near the seed") as err:
        segment_vertebral_body(holes, (0.0, 0.0, 0.0), path="nan_ct.nrrd")
    assert err.value.path == "nan_ct.nrrd"


def test_mask_too_small_is_an_error():
    """A click in a bone fragment smaller than the foreground seed grows nothing more."""
    arr = np.full((40, 60, 60), 20.0, np.float32)
    k, j, i = np.indices(arr.shape)
    arr[(k - 20) ** 2 + (j - 30) ** 2 + (i - 30) ** 2 <= 3**2] = 600.0
    ct = Volume(arr, spacing=(1.0, 1.0, 1.0))
    with pytest.raises(InputError, match="too small") as err:
        segment_vertebral_body(ct, (30.0, 30.0, 20.0), path="fragment.nrrd")
    assert err.value.path == "fragment.nrrd"


def test_flags_partial_vertebra_and_implausible_volume(phantom):
    """A scan that ends inside the body: the body touches the scan's edge; a tiny volume
    range makes the volume implausible. Both are reported, not raised."""
    ct, _, _ = phantom
    k0 = int(np.rint(ct.physical_to_index(np.array([0.0, 0.0, 6.0]))[2]))
    cut = Volume(np.ascontiguousarray(ct.array[:k0]), ct.spacing, ct.origin, ct.direction)
    params = SegmentationParameters(volume_range_ml=(1.0, 5.0))
    result = segment_vertebral_body(cut, (0.0, 0.0, -4.0), params=params)
    flags = " | ".join(result.flags)
    assert "touches the scan's top edge: partial vertebra" in flags
    assert "outside the plausible range 1–5 ml" in flags
    assert "no upper end plate found" in flags


def test_ras_lps():
    np.testing.assert_array_equal(ras_to_lps((10.0, -20.0, 30.0)), (-10.0, 20.0, 30.0))
    np.testing.assert_array_equal(ras_to_lps(ras_to_lps((1.0, 2.0, 3.0))), (1.0, 2.0, 3.0))


def test_numpy_peak_finder_matches_scipy():
    """The peak finder that replaced scipy.signal: identical peaks and prominences on
    random, plateau-rich and real core profiles."""
    from scipy.signal import find_peaks as scipy_find_peaks

    rng = np.random.default_rng(0)
    profiles = []
    for n in range(600):
        size = int(rng.integers(1, 120))
        if n % 3 == 0:
            profiles.append(np.round(rng.normal(size=size) * 3))  # plateaus
        elif n % 3 == 1:
            profiles.append(np.cumsum(rng.normal(size=size)))
        else:
            profiles.append(rng.integers(0, 4, size).astype(float))
    ct, _, _ = vertebra_ct(SPEC, CTProtocol(spacing_mm=(0.5, 0.5, 1.0)))
    line = ct.array[:, 98, 64].astype(float)  # a cranio-caudal line through the body
    profiles += [line, -line, np.round(line, -1)]
    for p in profiles:
        for prominence in (0.0, 1.0, 20.0):
            ours, prom = find_peaks(p, prominence)
            ref, props = scipy_find_peaks(p, prominence=prominence)
            assert np.array_equal(ours, ref)
            assert np.allclose(prom, props["prominences"])


def test_profile_landmarks():
    positions = np.arange(-30.0, 30.5, 1.0)
    # Trabecular 100 (darker centre), end plates 250 at ±12, discs 70 at ±17.
    p = np.full(positions.shape, 100.0)
    p[np.abs(positions) < 4] = 85.0
    p[np.abs(np.abs(positions) - 12) <= 1] = 250.0
    p[np.abs(np.abs(positions) - 17) <= 2] = 70.0
    p[np.abs(positions) >= 22] = 250.0
    above, below = confirm_discs(positions, p, 12.0, -12.0, RefineParameters())
    assert above == pytest.approx(17.0, abs=1.0) and below == pytest.approx(-17.0, abs=1.0)
    # No darker valley beyond a boundary: not confirmed.
    flat = np.where(positions > 0, 100.0, p)
    assert confirm_discs(positions, flat, 12.0, -12.0, RefineParameters())[0] is None
    # Canal: first run below 40 HU of at least 6 mm; its centre.
    steps = np.arange(0.0, 40.0, 0.5)
    q = np.full(steps.shape, 200.0)
    q[(steps >= 20) & (steps <= 34)] = 10.0
    q[(steps >= 5) & (steps <= 7)] = 0.0  # 2 mm void: too short for the canal
    assert find_canal(q, steps, 40.0, 6.0, 8.0) == pytest.approx(27.0)
    assert find_canal(q, steps, 40.0, 6.0, 4.0) == pytest.approx(24.0)  # capped: front + 4


def test_default_path_imports_neither_itk_nor_scipy_signal(tmp_path):
    """One click with the default backend loads no ITK and no scipy.signal (cold start)."""
    code = (
        "import sys\n"
        "from osteoimaging.phantoms import CTProtocol, VertebraSpec, vertebra_ct\n"
        "from osteoimaging.segmentation import segment_vertebral_body\n"
        "ct, _, _ = vertebra_ct(VertebraSpec(hires_mm=0.4, scene_mm=0.8), "
        "CTProtocol(spacing_mm=(1.0, 1.0, 1.0)))\n"
        "segment_vertebral_body(ct, (0.0, 0.0, 0.0))\n"
        "bad = [m for m in ('itk', 'scipy.signal') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


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


def _real_cases(shared_data):
    """The two real CTs (TotalSegmentator test files, Apache-2.0) with the reference body:
    T12 of the DICOM series (label 32, body part anterior to the canal as in
    bench/segmentation_dice.py) and L1 of the example CT (label 20 ∩ body label 1)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from segmentation_dice import body_part_anterior_to_canal

    from osteoimaging.validation import read_ct, resample_mask_to

    dicom = shared_data("ct/totalseg-dicom")
    ct2 = read_ct(dicom / "series")
    seg = read_image(dicom / "example_seg_dicom.nii.gz")
    t12 = resample_mask_to(seg.with_array((seg.array == 32).astype(np.uint8)), ct2)
    t12_body = body_part_anterior_to_canal(t12.with_array(t12.array > 0))
    folder = shared_data("ct/totalseg-example")
    ct = read_ct(folder / "example_ct.nii.gz")
    labels = read_image(folder / "totalseg_vertebrae_pp_refined.nii.gz").array
    body = read_image(folder / "totalseg_vertebrae_body.nii.gz").array == 1
    return {"T12": (ct2, t12_body), "L1": (ct, (labels == 20) & body)}


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize(("level", "step", "n"), [("T12", (4, 4, 1), 24), ("L1", (1, 1, 1), 40)])
def test_grid_of_clicks_gives_consistent_volumes(shared_data, level, step, n):
    """Issue 13: a click anywhere in the body (eroded 3 mm) gives nearly the same body:
    ≥ 90% of the clicks within 20% of the median volume."""
    ct, body = _real_cases(shared_data)[level]  # puts bench/ on sys.path
    from segmentation_dice import clicks_inside

    results = [segment_vertebral_body(ct, p) for p in clicks_inside(ct, body, 3.0, step, n)]
    volumes = np.array([r.volume_ml for r in results])
    median = float(np.median(volumes))
    within = np.abs(volumes - median) <= 0.2 * median
    assert within.mean() >= 0.9, (median, volumes.round(1).tolist())
    for r in results:
        assert r.attempts and r.seeds.n_foreground > 0
        if not np.abs(r.volume_ml - median) <= 0.2 * median:
            assert r.flags, "an outlying volume must come with a flag"


@pytest.mark.shared_data
def test_issue_13_t12_clicks_agree(shared_data):
    """The two T12 clicks of issue 13 (8.7 ml and 44.6 ml before, 2.2 mm apart) now grow
    the same body, refined to the same centre, flagged as a partial vertebra (the scan
    ends in T11 and at T12's lower end plate)."""
    ct, _ = _real_cases(shared_data)["T12"]
    a, b = (
        segment_vertebral_body(ct, ras_to_lps(p), level="T12", path="series")
        for p in ((10.5, 122.1, -790.6), (10.57, 119.91, -790.70))
    )
    assert abs(a.volume_ml - b.volume_ml) <= 0.05 * max(a.volume_ml, b.volume_ml)
    assert a.volume_ml > 30.0 and dice(a.mask.array, b.mask.array) >= 0.9
    assert np.linalg.norm(np.subtract(a.refined_seed_lps, b.refined_seed_lps)) < 3.0
    for r in (a, b):
        assert any("partial vertebra" in f for f in r.flags)
        assert any("no upper end plate found" in f for f in r.flags)


@pytest.mark.shared_data
def test_real_ct_dice(shared_data):
    """Dice against the body part of TotalSegmentator's references (docs/validation.md)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from segmentation_dice import run_case

    cases = _real_cases(shared_data)
    assert run_case(*cases["L1"], "L1") >= 0.85
    # A coarse reference (see docs/validation.md) on a partial vertebra whose upper end
    # plate the growing does not find (flagged): the bar only guards against regressions.
    assert run_case(*cases["T12"], "T12") >= 0.5
