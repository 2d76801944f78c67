"""``osteo focal`` and ``osteo demo`` through the real command line."""

from __future__ import annotations

import hashlib
import json
import subprocess

import numpy as np
import pytest
from focal_cases import vertebra_scan

from osteoimaging.imageio import write_image


def _run(cmd, *args, timeout=300):
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, encoding="utf-8", timeout=timeout
    )


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("focal-cli")
    ct, mask = vertebra_scan()
    labels = np.where(mask.array, 3, 0).astype(np.uint8)
    labels[:2] = 5  # another structure in the label map
    write_image(ct, folder / "ct.nrrd")
    write_image(mask.with_array(mask.array.astype(np.uint8)), folder / "mask.nrrd")
    write_image(mask.with_array(labels), folder / "labels.nii.gz")
    return folder


def test_focal_writes_everything(osteo_cmd, inputs, tmp_path):
    out = tmp_path / "out"
    ct, mask = inputs / "ct.nrrd", inputs / "mask.nrrd"
    done = _run(osteo_cmd, "focal", str(ct), "--mask", str(mask), "--slope", "0.8",
                "--intercept", "-5", "--angle-step-deg", "30", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "focal BMC loss" in done.stdout and "trabecular BMD" in done.stdout
    values = json.loads((out / "results.json").read_text())
    assert values["calibration"]["slope"] == 0.8 and values["calibration"]["source"] == "manual"
    assert values["parameters"]["angle_step_deg"] == 30.0 and values["n_orientations"] == 6
    assert f"{values['focal_bmc_loss_mm']:.3f} mm" in done.stdout
    expected = hashlib.sha256(ct.read_bytes() + mask.read_bytes()).hexdigest()
    assert values["input_sha256"] == expected
    for name in ("focal_bmc_loss", "focal_bmd_loss", "intercept_width", "coverage", "bmd"):
        assert (out / "maps" / f"{name}.nrrd").exists()
    for name in ("roi.nrrd", "overlay.png", "report.html"):
        assert (out / name).exists()
    # The same body given as label 3 of a label map, without calibration.
    out2 = tmp_path / "out2"
    done = _run(osteo_cmd, "focal", str(ct), "--mask", str(inputs / "labels.nii.gz"),
                "--label", "3", "--angle-step-deg", "30", "--out", str(out2))  # fmt: skip
    assert done.returncode == 0, done.stderr
    values2 = json.loads((out2 / "results.json").read_text())
    assert values2["calibration"] == "none"
    assert values2["roi_voxels"] == values["roi_voxels"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--slope", "0.8"], "give both --slope and --intercept"),
        (["--slope", "-1", "--intercept", "0"], "slope must be positive"),
        (["--sigma-mm", "-1"], "sigma_mm must not be negative"),
        (["--erosion-mm", "30"], "mask.nrrd: mask too small for a 30 mm erosion"),
        (["--label", "7"], "label 7 is absent"),
    ],
)
def test_focal_bad_input_is_one_line_exit_2(osteo_cmd, inputs, tmp_path, args, message):
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--mask",
                str(inputs / "mask.nrrd"), *args, "--out", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "results.json").exists()


def test_focal_missing_mask_and_mismatched_grid(osteo_cmd, inputs, tmp_path):
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "give the vertebral body: --mask MASK" in done.stderr
    other = tmp_path / "other.nrrd"
    _, mask = vertebra_scan(spacing_mm=(0.5, 0.5, 1.0))
    write_image(mask.with_array(mask.array.astype(np.uint8)), other)
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--mask", str(other),
                "--out", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 2 and "differs from the image grid" in done.stderr
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--mask", str(inputs / "nope.nrrd"),
                "--out", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 2 and "file not found" in done.stderr


def test_focal_with_a_label_map_and_levels(osteo_cmd, inputs, tmp_path):
    """Issue 4's selection through ``osteo focal``: label 3 named L1, no alignment."""
    out = tmp_path / "out"
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--labels",
                str(inputs / "labels.nii.gz"), "--levels", "L1", "--label-values", "3",
                "--no-align", "--angle-step-deg", "30", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "L1:" in done.stdout and "focal BMC loss" in done.stdout
    assert (out / "results.csv").read_text().startswith("level,")
    assert (out / "L1" / "maps" / "focal_bmc_loss.nrrd").exists()
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--mask", str(inputs / "mask.nrrd"),
                "--labels", str(inputs / "labels.nii.gz"), "--out", str(out))  # fmt: skip
    assert done.returncode == 2 and "not both" in done.stderr


def test_focal_with_a_calibration_profile(osteo_cmd, inputs, tmp_path):
    from osteoimaging.calibration.presets import load_preset
    from osteoimaging.calibration.profile import profile_from_preset, save_profile

    preset = load_preset("qrm_bdc_6")
    hu = (np.array(preset.densities) + 5.0) / 0.8  # BMD = 0.8 HU − 5, the phantom's own
    profile = save_profile(profile_from_preset("scanA", preset, [hu]), tmp_path / "scanA.json")
    out = tmp_path / "out"
    base = ["focal", str(inputs / "ct.nrrd"), "--mask", str(inputs / "mask.nrrd")]
    done = _run(osteo_cmd, *base, "--calibration", str(profile), "--angle-step-deg", "90",
                "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    cal = json.loads((out / "results.json").read_text())["calibration"]
    assert cal["source"] == "profile:scanA" and cal["slope"] == pytest.approx(0.8)
    done = _run(osteo_cmd, *base, "--calibration", str(profile), "--slope", "1",
                "--intercept", "0", "--out", str(out))  # fmt: skip
    assert done.returncode == 2 and "not both" in done.stderr


@pytest.mark.slow
def test_demo_prints_the_case_values(osteo_cmd, tmp_path):
    done = _run(osteo_cmd, "demo", "--out", str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr
    for text in ("focal BMC loss", "focal BMD loss", "intercept width", "trabecular BMD"):
        assert text in done.stdout
    values = json.loads((tmp_path / "focal" / "results.json").read_text())
    assert f"{values['focal_bmc_loss_mm']:.3f} mm" in done.stdout
    assert values["roi_voxels"] > 100_000
    assert (tmp_path / "ct.nrrd").exists() and (tmp_path / "mid_slices.png").exists()
