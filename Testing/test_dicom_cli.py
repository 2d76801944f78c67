"""``osteo focal <DICOM series> --seed … --level T12 --dicom-out D`` and the batch's ``dicom``
parameter: the SEG, Parametric Maps and SR of a measured case round-trip against the case's
own files (issue 15, "Done when")."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

pytest.importorskip("highdicom", reason="the 'dicom' extra is not installed")

SERIES = "ct/totalseg-dicom/series"
#: The T12 click of issue 13 (RAS mm).
T12_CLICK = "10.5,122.1,-790.6"


def _check_round_trip(series, case_dir, dicom_dir, level="T12"):
    from osteoimaging.dicom import (
        read_dicom_source,
        read_measurement_report,
        read_parametric_map,
        read_segmentation,
    )
    from osteoimaging.imageio import read_image

    source = read_dicom_source(series)
    segments = read_segmentation(dicom_dir / "seg.dcm", source)
    body = read_image(case_dir / level / "body.nrrd")
    assert np.array_equal(segments[f"{level} vertebral body"].array, body.array > 0)
    for key in ("focal_bmc_loss", "focal_bmd_loss", "intercept_width", "bmd"):
        pm = read_parametric_map(dicom_dir / f"pm_{level}_{key}.dcm")
        nrrd = read_image(case_dir / level / "maps" / f"{key}.nrrd")
        assert pm.same_geometry(nrrd, tol=1e-6), key
        np.testing.assert_array_equal(pm.array, nrrd.array)  # float-exact, NaN included
    [row] = json.loads((case_dir / "results.json").read_text())["vertebrae"]
    sr = read_measurement_report(dicom_dir / "sr.dcm")
    group = (
        sr[f"{level} vertebral body region of interest"] if len(sr) > 1 else next(iter(sr.values()))
    )
    values = group["measurements"]
    assert values["focal_bmc_loss"][0] == pytest.approx(row["focal_bmc_loss_mm"], rel=1e-6)
    assert values["intercept_width"][0] == pytest.approx(row["intercept_width_mm"], rel=1e-6)
    assert values["trabecular_bmd"][0] == pytest.approx(row["trabecular_bmd"], rel=1e-6)
    flags = " ".join(group["flags"])
    for code in filter(None, row["qc_flags"].split("; ")):
        assert code in flags, code
    return row


@pytest.mark.slow
@pytest.mark.shared_data
def test_focal_dicom_out_from_one_click(osteo_cmd, shared_data, tmp_path):
    series = shared_data(SERIES)
    out, dicom = tmp_path / "out", tmp_path / "dicom"
    done = subprocess.run(
        [*osteo_cmd, "focal", str(series), f"--seed={T12_CLICK}", "--level", "T12",
         "--angle-step-deg", "30", "--out", str(out), "--dicom-out", str(dicom)],
        capture_output=True, text=True, encoding="utf-8",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in dicom.iterdir()) == [
        "pm_T12_bmd.dcm",
        "pm_T12_focal_bmc_loss.dcm",
        "pm_T12_focal_bmd_loss.dcm",
        "pm_T12_intercept_width.dcm",
        "seg.dcm",
        "sr.dcm",
    ]
    row = _check_round_trip(series, out, dicom)
    # The click of issue 13 that grew 8.7 ml and measured a 0.04 ml ROI with exit 0 and no
    # word: never an unflagged result now.
    assert row["qc"] == "flagged" and row["qc_flags"]


@pytest.mark.slow
@pytest.mark.shared_data
def test_batch_writes_the_same_dicom_objects(shared_data, tmp_path):
    from osteoimaging.cohort import read_manifest, run_batch

    series = shared_data(SERIES)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f'case_id,ct,seed,level\nc1,{series},"{T12_CLICK}",T12\n')
    params = {"focal": {"angle_step_deg": 30.0}, "dicom": {"deidentify": True}}
    summary = run_batch(read_manifest(manifest), tmp_path / "b", params=params, workers=1)
    assert summary.failed == 0, summary.errors
    case_dir = tmp_path / "b" / "cases" / "c1"
    _check_round_trip(series, case_dir, case_dir / "dicom")


def test_dicom_out_refuses_a_non_dicom_input_before_measuring(osteo_cmd, tmp_path):
    from focal_cases import vertebra_scan

    from osteoimaging.imageio import write_image

    ct, mask = vertebra_scan()
    write_image(ct, tmp_path / "ct.nrrd")
    write_image(mask.with_array(mask.array.astype(np.uint8)), tmp_path / "m.nrrd")
    done = subprocess.run(
        [*osteo_cmd, "focal", str(tmp_path / "ct.nrrd"), "--mask", str(tmp_path / "m.nrrd"),
         "--out", str(tmp_path / "o"), "--dicom-out", str(tmp_path / "d")],
        capture_output=True, text=True, encoding="utf-8",
    )  # fmt: skip
    assert done.returncode == 2 and "needs the CT as a DICOM series folder" in done.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "d").exists()
