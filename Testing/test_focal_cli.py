"""``osteo focal`` and ``osteo demo`` through the real command line."""

from __future__ import annotations

import hashlib
import json
import subprocess

import numpy as np
import pytest
from focal_cases import vertebra_scan

from osteoimaging.imageio import write_image
from osteoimaging.tables import read_table


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


def _level(out, name="vertebra"):
    """The results.json record of one level and its row in results.csv."""
    record = json.loads((out / name / "results.json").read_text())
    rows = {r["level"]: r for r in read_table(out / "results.csv")}
    return record, rows[name]


def test_focal_writes_everything(osteo_cmd, inputs, tmp_path):
    out = tmp_path / "out"
    ct, mask = inputs / "ct.nrrd", inputs / "mask.nrrd"
    done = _run(osteo_cmd, "focal", str(ct), "--mask", str(mask), "--slope", "0.8",
                "--intercept", "-5", "--angle-step-deg", "30", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "focal BMC loss" in done.stdout and "trabecular BMD" in done.stdout
    case = json.loads((out / "results.json").read_text())["case"]
    assert case["calibration"]["slope"] == 0.8 and case["calibration"]["source"] == "manual"
    assert case["parameters"]["angle_step_deg"] == 30.0 and case["bmd_units"] == "mg/cm³ HA"
    digests = b"".join(hashlib.sha256(p.read_bytes()).hexdigest().encode() for p in (ct, mask))
    assert case["input_sha256"] == hashlib.sha256(digests).hexdigest()
    values, row = _level(out)
    assert values["n_orientations"] == 6
    assert f"{values['focal_bmc_loss_mm']:.3f} mm" in done.stdout
    assert float(row["focal_bmc_loss_mm"]) == values["focal_bmc_loss_mm"]  # full precision
    assert row["qc"] == "ok" and row["source"] == "mask mask.nrrd"
    for name in ("focal_bmc_loss", "focal_bmd_loss", "intercept_width", "coverage", "bmd"):
        assert (out / "vertebra" / "maps" / f"{name}.nrrd").exists()
    for name in ("roi.nrrd", "body.nrrd", "overlay.png", "subregions_bmd.png"):
        assert (out / "vertebra" / name).exists()
    html = (out / "report.html").read_text()
    assert f"{values['focal_bmc_loss_mm']:.3f}" in html and "Li C" in html
    assert not list(out.rglob("*.part*"))
    # The same body given as label 3 of a label map, without calibration, named L1.
    out2 = tmp_path / "out2"
    done = _run(osteo_cmd, "focal", str(ct), "--mask", str(inputs / "labels.nii.gz"),
                "--label", "3", "--level", "L1", "--angle-step-deg", "30", "--no-align",
                "--out", str(out2))  # fmt: skip
    assert done.returncode == 0, done.stderr
    values2, row2 = _level(out2, "L1")
    assert row2["calibration"] == "none" and row2["bmd_units"] == "HU"
    assert row2["alignment"] == "none" and row2["source"] == "mask labels.nii.gz (label 3)"
    assert values2["roi_voxels"] == values["roi_voxels"]


def test_focal_with_mask_applies_the_alignment_it_is_given(osteo_cmd, inputs, tmp_path):
    """--align reaches a --mask run (it was silently ignored), and bad names exit 2."""
    base = ["focal", str(inputs / "ct.nrrd"), "--mask", str(inputs / "mask.nrrd"),
            "--angle-step-deg", "90"]  # fmt: skip
    done = _run(osteo_cmd, *base, "--align", "pca", "--out", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    assert _level(tmp_path / "a")[1]["alignment"] == "pca"
    done = _run(osteo_cmd, *base, "--align", "banana", "--out", str(tmp_path / "b"))
    assert done.returncode == 2 and "unknown alignment 'banana'" in done.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--slope", "0.8"], "give both --slope and --intercept"),
        (["--slope", "-1", "--intercept", "0"], "slope must be positive"),
        (["--sigma-mm", "-1"], "sigma_mm must not be negative"),
        (["--erosion-mm", "30"], "(mask mask.nrrd): mask too small for a 30 mm erosion"),
        (["--label", "7"], "label 7 is absent"),
        (["--label", "20.7"], "label value '20.7' is not a positive integer"),
        (["--align", "1,2"], "bad point '1,2'"),
        (["--input-units", "mg/cm3"], "needs its calibration material"),
        (
            ["--slope", "1", "--intercept", "0", "--input-units", "mg/cm3", "--material", "HA"],
            "already calibrated",
        ),
    ],
)
def test_focal_bad_input_is_one_line_exit_2(osteo_cmd, inputs, tmp_path, args, message):
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--mask",
                str(inputs / "mask.nrrd"), *args, "--out", str(tmp_path / "o"))  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_focal_missing_mask_and_mismatched_grid(osteo_cmd, inputs, tmp_path):
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "give the vertebral body one way: --mask MASK" in done.stderr
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
    """Label 3 named L1, no alignment: measured, and flagged, because the small phantom's
    10.5 ml body is below an adult L1's plausible volume."""
    out = tmp_path / "out"
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--labels",
                str(inputs / "labels.nii.gz"), "--levels", "L1", "--label-values", "3",
                "--no-align", "--angle-step-deg", "30", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "L1 [flagged: body_volume]" in done.stdout and "focal BMC loss" in done.stdout
    assert "body 10.5 ml is implausibly small for L1 (expected 12–50 ml)" in done.stderr
    assert (out / "results.csv").read_text().startswith("level,source,qc,")
    assert (out / "L1" / "maps" / "focal_bmc_loss.nrrd").exists()
    done = _run(osteo_cmd, "focal", str(inputs / "ct.nrrd"), "--mask", str(inputs / "mask.nrrd"),
                "--labels", str(inputs / "labels.nii.gz"), "--out", str(out))  # fmt: skip
    assert done.returncode == 2 and "(got --mask, --labels)" in done.stderr


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
    cal = json.loads((out / "results.json").read_text())["case"]["calibration"]
    assert cal["source"] == "profile:scanA" and cal["slope"] == pytest.approx(0.8)
    assert _level(out)[1]["bmd_units"] == "mg/cm³ HA"  # the profile's material
    done = _run(osteo_cmd, *base, "--calibration", str(profile), "--material", "K2HPO4",
                "--out", str(tmp_path / "k"))  # fmt: skip
    assert done.returncode == 2 and "is in HA, not K2HPO4" in done.stderr
    done = _run(osteo_cmd, *base, "--calibration", str(profile), "--slope", "1",
                "--intercept", "0", "--out", str(out))  # fmt: skip
    assert done.returncode == 2 and "not both" in done.stderr


@pytest.mark.slow
def test_demo_prints_the_case_values(osteo_cmd, tmp_path):
    done = _run(osteo_cmd, "demo", "--out", str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr
    for text in ("focal BMC loss", "focal BMD loss", "intercept width", "trabecular BMD"):
        assert text in done.stdout
    values = json.loads((tmp_path / "focal" / "L1" / "results.json").read_text())
    assert f"{values['focal_bmc_loss_mm']:.3f} mm" in done.stdout
    assert values["roi_voxels"] > 100_000
    # Measured and phantom truth are compared over the same ROI (they agree within 2%).
    line = next(x for x in done.stdout.splitlines() if "truth in the same ROI" in x)
    truth = float(line.split("BMD ")[1].split()[0])
    assert values["trabecular_bmd"] == pytest.approx(truth, rel=0.02)
    assert (tmp_path / "ct.nrrd").exists() and (tmp_path / "mid_slices.png").exists()
