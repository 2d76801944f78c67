"""The ``osteo`` command line through a subprocess: help, version, info, phantom, demo, errors."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from osteoimaging import __version__
from osteoimaging.imageio import read_image, write_image
from osteoimaging.volume import Volume


def run(cmd: list[str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, encoding="utf-8", timeout=timeout
    )


def test_help_and_version(osteo_cmd):
    out = run(osteo_cmd, "--help")
    assert out.returncode == 0
    for command in ("info", "phantom", "demo"):
        assert command in out.stdout
    out = run(osteo_cmd, "--version")
    assert out.returncode == 0 and __version__ in out.stdout


def test_no_command_prints_help_and_exits_2(osteo_cmd):
    out = run(osteo_cmd)
    assert out.returncode == 2 and "usage" in out.stdout


@pytest.mark.shared_data
def test_info_on_real_dicom_series(osteo_cmd, shared_data):
    out = run(osteo_cmd, "info", str(shared_data("ct/totalseg-dicom/series")))
    assert out.returncode == 0, out.stderr
    assert "512×512×20" in out.stdout
    assert "0.977×0.977×2.0 mm" in out.stdout
    assert "CT" in out.stdout


def test_info_json(osteo_cmd, tmp_path):
    vol = Volume(np.arange(60, dtype=np.int16).reshape(3, 4, 5) - 100, spacing=(0.5, 0.6, 2.0))
    path = write_image(vol, tmp_path / "v.nrrd")
    out = run(osteo_cmd, "info", str(path), "--json")
    info = json.loads(out.stdout)
    assert info["size"] == [5, 4, 3]
    assert info["spacing_mm"] == pytest.approx([0.5, 0.6, 2.0])
    assert info["min"] == -100 and info["max"] == -41


@pytest.mark.parametrize("case", ["missing", "garbage", "not3d", "spacing"])
def test_bad_input_exits_2_with_one_line(osteo_cmd, tmp_path, case):
    path = (
        tmp_path
        / {"missing": "none.nrrd", "garbage": "g.nii.gz", "not3d": "s.nrrd", "spacing": "s.mhd"}[
            case
        ]
    )
    args = ["info", str(path)]
    if case == "garbage":
        path.write_bytes(b"not an image at all" * 50)
    elif case == "not3d":
        import SimpleITK as sitk

        sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 4), np.int16)), str(path))
    elif case == "spacing":
        (tmp_path / "s.raw").write_bytes(bytes(128))
        path.write_text(
            "ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\n"
            "ElementType = MET_UCHAR\nElementSpacing = 0 1 1\n"
            "ElementDataFile = s.raw\n"
        )
    out = run(osteo_cmd, *args)
    assert out.returncode == 2, out
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("osteo:")]
    assert len(lines) == 1 and str(path) in lines[0]
    assert "Traceback" not in out.stderr


def test_debug_flag_shows_traceback(osteo_cmd, tmp_path):
    out = run(osteo_cmd, "--debug", "info", str(tmp_path / "none.nrrd"))
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_phantom_command_writes_ct_mask_truth(osteo_cmd, tmp_path):
    out = run(
        osteo_cmd,
        "phantom",
        "--out-ct",
        str(tmp_path / "ct.nii.gz"),
        "--out-mask",
        str(tmp_path / "mask.nrrd"),
        "--size-mm",
        "20,16,12",
        "--bvtv",
        "0.2",
        "--defect",
        "0,0,0,3",
        "--seed",
        "4",
    )
    assert out.returncode == 0, out.stderr
    ct = read_image(tmp_path / "ct.nii.gz")
    mask = read_image(tmp_path / "mask.nrrd")
    assert mask.same_geometry(ct)
    truth = json.loads((tmp_path / "phantom_truth.json").read_text())
    assert truth["bvtv_outside_defects"] == pytest.approx(0.2, abs=0.01)
    assert not list(tmp_path.glob("*.part*"))


def test_demo_writes_outputs(osteo_cmd, tmp_path):
    out = run(osteo_cmd, "demo", "--out", str(tmp_path / "demo"), timeout=600)
    assert out.returncode == 0, out.stderr
    for name in ("ct.nrrd", "mask.nrrd", "mid_slices.png", "phantom_truth.json"):
        assert (tmp_path / "demo" / name).stat().st_size > 0
    assert "BV/TV" in out.stdout
