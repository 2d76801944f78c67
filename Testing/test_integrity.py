"""Issue 14: no wrong scan geometry accepted, no file written where it does not belong.

Each test names the issue item it holds (docs/reliability.md lists them).
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from osteoimaging.atomic import atomic_path, write_json, write_text
from osteoimaging.errors import InputError
from osteoimaging.imageio import write_image
from osteoimaging.volume import Volume


def _run(cmd: list[str], *args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, encoding="utf-8", timeout=timeout, **kw
    )


def _one_error_line(done: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, exactly one ``osteo:`` line on stderr containing every needle, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("osteo:")]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _ct_like(shape=(6, 7, 8), seed: int = 0) -> Volume:
    rng = np.random.default_rng(seed)
    arr = rng.integers(-1000, 1500, size=shape).astype(np.int16)
    return Volume(arr, spacing=(0.7, 0.7, 1.5), origin=(3.0, -4.0, 10.0))


# ---------------------------------------------------------------------------------------
# Item 12: output paths that cannot be written are bad input (exit 2), in every command


@pytest.fixture(scope="module")
def small_case(tmp_path_factory) -> Path:
    """A small phantom CT with its body mask, and an MRI-like image with a label cube."""
    from focal_cases import vertebra_scan

    folder = tmp_path_factory.mktemp("outputs")
    ct, mask = vertebra_scan()
    write_image(ct, folder / "ct.nrrd")
    write_image(mask.with_array(mask.array.astype(np.uint8)), folder / "mask.nrrd")
    rng = np.random.default_rng(1)
    mri = Volume(rng.normal(300, 50, (20, 20, 20)).astype(np.float32))
    labels = np.zeros((20, 20, 20), np.uint8)
    labels[5:15, 5:15, 5:15] = 1
    write_image(mri, folder / "t1.nrrd")
    write_image(mri.with_array(labels), folder / "labels.nrrd")
    (folder / "m.csv").write_text("case_id,ct,mask,level\na,ct.nrrd,mask.nrrd,L1\n")
    (folder / "a_file").write_text("not a folder\n")
    (folder / "a_folder.json").mkdir()
    (folder / "a_folder.nrrd").mkdir()
    (folder / "a_folder.csv").mkdir()
    return folder


@pytest.mark.parametrize(
    "command",
    [
        "focal --out FILE",
        "segment --out FOLDER",
        "radiomics --out FOLDER",
        "calibrate --out PROC",
        "calibrate --out UNDER_FILE",
        "batch --out FILE",
    ],
)
def test_item12_unwritable_output_exits_2(osteo_cmd, small_case, command):
    f = small_case
    name, _, where = command.split()
    target = {
        "FILE": str(f / "a_file"),
        "UNDER_FILE": str(f / "a_file" / "p.json"),
        "PROC": "/proc/osteo-test/p.json",
        "FOLDER": str(f / ("a_folder.nrrd" if name == "segment" else "a_folder.csv")),
    }[where]
    args = {
        "focal": ["focal", str(f / "ct.nrrd"), "--mask", str(f / "mask.nrrd"),
                  "--angle-step-deg", "60"],
        "segment": ["segment", str(f / "ct.nrrd"), "--seed", "0,0,0"],
        "radiomics": ["radiomics", "extract", "--t1", str(f / "t1.nrrd"), "--mask",
                      str(f / "labels.nrrd"), "--labels", "1", "--roi", "mask"],
        "calibrate": ["calibrate", "--phantom", "qrm_bdc_3", "--hu", "50,250,700"],
        "batch": ["batch", str(f / "m.csv"), "--job", "mask-stats", "--workers", "1"],
    }[name]  # fmt: skip
    done = _run(osteo_cmd, *args, "--out", target)
    line = _one_error_line(done)
    assert target in line or str(Path(target).parent) in line, line
    assert Path(f / "a_file").read_text() == "not a folder\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_item12_read_only_folder_exits_2(osteo_cmd, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        done = _run(osteo_cmd, "calibrate", "--phantom", "qrm_bdc_3", "--hu", "50,250,700",
                    "--out", str(folder / "p.json"))  # fmt: skip
        _one_error_line(done, "permission")
    finally:
        folder.chmod(0o755)


def test_item12_atomic_write_errors_name_the_path(tmp_path):
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(InputError, match="is a folder") as err:
        write_json(tmp_path / "dir.json", {})
    assert str(tmp_path / "dir.json") in str(err.value)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="a file is in the way"):
        write_text(tmp_path / "file" / "sub" / "a.txt", "x")
    with pytest.raises(InputError, match="cannot"):
        write_text("/proc/osteo-test/a.txt", "x")


# ---------------------------------------------------------------------------------------
# Item 17: permissions follow the umask; overwriting keeps the mode; durable writes


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_item17_outputs_follow_the_umask_and_keep_an_existing_mode(tmp_path, umask_022):
    json_path = write_json(tmp_path / "a" / "r.json", {"x": 1})
    assert _mode(json_path) == 0o644 and _mode(tmp_path / "a") == 0o755
    image = write_image(_ct_like(), tmp_path / "ct.nrrd")
    assert _mode(image) == 0o644
    image.chmod(0o640)
    write_image(_ct_like(seed=1), image)
    assert _mode(image) == 0o640
    os.umask(0o077)
    assert _mode(write_text(tmp_path / "private.txt", "x")) == 0o600


def test_item17_durable_writes_fsync_file_and_folder(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    write_json(tmp_path / "plain.json", {})
    assert synced == []
    write_json(tmp_path / "done.json", {}, durable=True)
    assert any(".done.json." in s for s in synced)  # the file before its rename
    assert synced[-1] == str(tmp_path)  # the folder after it
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "x.bin", durable=True) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert not (tmp_path / "x.bin").exists()
    assert not list(tmp_path.glob("*.part*"))
