"""Issue 14: no wrong scan geometry accepted, no file written where it does not belong.

Each test names the issue item it holds (docs/reliability.md lists them).
"""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from osteoimaging.atomic import atomic_path, write_json, write_text
from osteoimaging.errors import InputError
from osteoimaging.imageio import keep_locale, list_dicom_series, read_image, write_image
from osteoimaging.validation import check_ct_hu, check_mask_geometry, mask_from_label, read_mask
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
# Item 3: broken DICOM series


def _dicom_series(folder: Path, z: list[float], *, uid: str = "1.2.826.0.1.77", **per_slice):
    """A CT series of 8×8 slices at positions (0, 0, z) with optional per-slice overrides:
    ``orientation=[...]``, ``pixel_spacing=[...]``, ``x_shift=[...]``, ``blank_uid=True``."""
    folder.mkdir(parents=True, exist_ok=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k, zk in enumerate(z):
        sl = sitk.GetImageFromArray(np.full((8, 8), -200 + 30 * k, dtype=np.int16))
        pixel_spacing = per_slice.get("pixel_spacing", ["0.5\\0.5"] * len(z))[k]
        sl.SetSpacing([float(v) for v in pixel_spacing.split("\\")])  # GDCM writes this
        shift = per_slice.get("x_shift", [0.0] * len(z))[k]
        tags = {
            "0008|0060": "CT",
            "0020|000e": "" if per_slice.get("blank_uid") else uid,
            "0020|000d": "1.2.3",
            "0008|0018": f"{uid}.{k + 1}",
            "0020|0013": str(k + 1),
            "0020|0032": f"{shift}\\0\\{zk}",
            "0020|0037": per_slice.get("orientation", ["1\\0\\0\\0\\1\\0"] * len(z))[k],
            "0028|0030": pixel_spacing,
            "0018|0050": "2.0",
        }
        for tag, value in tags.items():
            sl.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"{uid}_{k:03d}.dcm"))
        with keep_locale():
            writer.Execute(sl)


@pytest.mark.parametrize(
    ("case", "z", "extra", "message"),
    [
        ("missing slice", [0, 2, 6, 8, 10], {}, "1 slice(s) missing: a gap of 4.000 mm"),
        ("duplicate", [0, 2, 2, 4, 6], {}, "duplicate slice position"),
        ("non-uniform", [0, 2, 4, 7, 9], {}, "non-uniform slice spacing: gaps from 2.000 to 3.000"),
        (
            "orientation",
            [0, 2, 4, 6],
            {"orientation": ["1\\0\\0\\0\\1\\0"] * 3 + ["1\\0\\0\\0\\0.8\\0.6"]},
            "mixed slice orientations",
        ),
        (
            "pixel spacing",
            [0, 2, 4, 6],
            {"pixel_spacing": ["0.5\\0.5"] * 3 + ["0.6\\0.6"]},
            "mixed pixel spacing",
        ),
        ("gantry tilt", [0, 2, 4, 6], {"x_shift": [0.0, 0.5, 1.0, 1.5]}, "shift within their"),
    ],
)
def test_item3_broken_dicom_series_is_refused(osteo_cmd, tmp_path, case, z, extra, message):
    folder = tmp_path / "series"
    _dicom_series(folder, z, **extra)
    with pytest.raises(InputError) as err:
        read_image(folder)
    assert message in str(err.value) and str(folder) in str(err.value)
    assert "\n" not in str(err.value)
    done = _run(osteo_cmd, "info", str(folder))
    _one_error_line(done, message)


def test_item3_position_rounding_within_tolerance_is_accepted(tmp_path):
    """Stored positions jitter by up to 0.5 % of the 2 mm spacing: one regular grid."""
    folder = tmp_path / "series"
    _dicom_series(folder, [0.0, 2.01, 3.995, 6.0, 8.005, 10.0])
    vol = read_image(folder)
    assert vol.size == (8, 8, 6)
    assert vol.spacing[2] == pytest.approx(2.0, abs=0.01)


# ---------------------------------------------------------------------------------------
# Items 4 and 5: spacing and NaN in every format


def _nifti(path: Path, arr: np.ndarray, pixdim=(1.0, 1.0, 1.0), *, slope=0.0, inter=0.0):
    """A minimal NIfTI-1 file (float32, no orientation codes) written byte by byte."""
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, arr.shape[2], arr.shape[1], arr.shape[0], 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, 16, 32)  # datatype float32, bitpix
    struct.pack_into("<8f", hdr, 76, 1.0, *pixdim, 0, 0, 0, 0)
    struct.pack_into("<fff", hdr, 108, 352.0, slope, inter)
    hdr[344:348] = b"n+1\0"
    path.write_bytes(bytes(hdr) + bytes(4) + arr.astype("<f4").tobytes())
    return path


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("pixdim0.nii", lambda p: _nifti(p, np.full((4, 5, 6), -500.0), (0.0, 1.0, 1.0))),
        ("pixdimnan.nii", lambda p: _nifti(p, np.full((4, 5, 6), -500.0), (1.0, np.nan, 1.0))),
        (
            "nan.nrrd",
            lambda p: p.write_bytes(
                b"NRRD0004\ntype: short\ndimension: 3\nsizes: 6 5 4\nencoding: raw\n"
                b"endian: little\nspacings: nan 1 1\n\n" + bytes(240)
            ),
        ),
        (
            "nan.mha",
            lambda p: p.write_bytes(
                b"ObjectType = Image\nNDims = 3\nDimSize = 6 5 4\nElementType = MET_SHORT\n"
                b"ElementSpacing = 1 nan 1\nElementDataFile = LOCAL\n" + bytes(240)
            ),
        ),
    ],
)
def test_item4_zero_or_nan_spacing_is_refused(osteo_cmd, tmp_path, name, content):
    path = tmp_path / name
    content(path)
    with pytest.raises(InputError, match="spacing"):
        read_image(path)
    _one_error_line(_run(osteo_cmd, "info", str(path)), str(path), "spacing")


def test_item4_dicom_zero_pixel_spacing_is_refused(tmp_path):
    folder = tmp_path / "series"
    _dicom_series(folder, [0, 2, 4])
    for f in folder.iterdir():  # ITK refuses to write a zero spacing: patch the tag's value
        data = bytearray(f.read_bytes())
        at = data.index(b"\x28\x00\x30\x00") + 4  # (0028,0030) Pixel Spacing, implicit VR
        length = int.from_bytes(data[at : at + 4], "little")
        assert data[at + 4 : at + 4 + length].strip() == b".5\\.5"
        data[at + 4 : at + 4 + length] = b"0\\0".ljust(length)
        f.write_bytes(bytes(data))
    with pytest.raises(InputError, match="spacing"):
        read_image(folder)


def test_item5_nifti_nan_and_inf_are_kept(tmp_path):
    arr = np.full((4, 5, 6), -600.0, np.float32)
    arr[0, 0, :] = 1200.0
    arr[1, 2, 3] = np.nan
    arr[2, 3, 4] = np.inf
    arr[3, 4, 5] = -np.inf
    path = _nifti(tmp_path / "nan.nii", arr)
    vol = read_image(path)
    assert np.isnan(vol.array[1, 2, 3])
    assert vol.array[2, 3, 4] == np.inf and vol.array[3, 4, 5] == -np.inf
    finite = np.isfinite(arr)
    np.testing.assert_array_equal(vol.array[finite], arr[finite])
    with pytest.raises(InputError, match="NaN"):
        check_ct_hu(vol, path)
    # Compressed and scaled (scl_slope 2, scl_inter 10): NaN stays NaN, others are scaled.
    import gzip

    scaled = _nifti(tmp_path / "s.nii", arr, slope=2.0, inter=10.0)
    gz = tmp_path / "s.nii.gz"
    gz.write_bytes(gzip.compress(scaled.read_bytes()))
    vol = read_image(gz)
    assert np.isnan(vol.array[1, 2, 3]) and vol.array[2, 3, 4] == np.inf
    np.testing.assert_allclose(vol.array[finite], 2.0 * arr[finite] + 10.0)


# ---------------------------------------------------------------------------------------
# Item 9: headers declaring more data than present; the size limit


def _peak_rss_mb_of_read(path: Path) -> tuple[int, str, float]:
    """Read ``path`` in a fresh interpreter: (exit code, error text, peak RSS in MB).

    The peak is the process's own VmHWM (getrusage's ru_maxrss would include the RSS of
    the forking test process)."""
    code = (
        "from osteoimaging.imageio import read_image\n"
        "from osteoimaging.errors import InputError\n"
        "try:\n"
        f"    read_image({str(path)!r}); rc, msg = 0, ''\n"
        "except InputError as exc:\n"
        "    rc, msg = 2, str(exc)\n"
        "except BaseException as exc:\n"
        "    rc, msg = 1, repr(exc)\n"
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0]\n"
        "print(rc, int(hwm.split()[1]) / 1024, msg)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    rc, rss, msg = done.stdout.split(" ", 2)
    return int(rc), msg.strip(), float(rss)


@pytest.mark.parametrize("kind", ["nrrd", "nhdr", "mha", "mhd", "nrrd-gzip"])
def test_item9_header_declaring_more_data_than_present(tmp_path, kind):
    """400³ int16 voxels (128 MB) declared, 1 KB present: refused before allocating."""
    dims = "400 400 400"
    nrrd = f"NRRD0004\ntype: short\ndimension: 3\nsizes: {dims}\nendian: little\n"
    meta = f"ObjectType = Image\nNDims = 3\nDimSize = {dims}\nElementType = MET_SHORT\n"
    data = bytes(1024)
    if kind == "nrrd":
        path = tmp_path / "a.nrrd"
        path.write_bytes((nrrd + "encoding: raw\n\n").encode() + data)
    elif kind == "nrrd-gzip":
        import gzip

        path = tmp_path / "a.nrrd"
        path.write_bytes((nrrd + "encoding: gzip\n\n").encode() + gzip.compress(data))
    elif kind == "nhdr":
        path = tmp_path / "a.nhdr"
        (tmp_path / "a.raw").write_bytes(data)
        path.write_text(nrrd + "encoding: raw\ndata file: a.raw\n")
    elif kind == "mha":
        path = tmp_path / "a.mha"
        path.write_bytes((meta + "ElementDataFile = LOCAL\n").encode() + data)
    else:
        path = tmp_path / "a.mhd"
        (tmp_path / "a.raw").write_bytes(data)
        path.write_text(meta + "ElementDataFile = a.raw\n")
    with pytest.raises(InputError, match="declares 128000000 bytes of voxel data") as err:
        read_image(path)
    assert str(path) in str(err.value)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_item9_size_limit_before_allocating(tmp_path, monkeypatch):
    """A 1 KB NRRD declaring 1600³ voxels (7.6 GB): exit 2 without allocating them."""
    path = tmp_path / "huge.nrrd"
    path.write_bytes(
        b"NRRD0004\ntype: short\ndimension: 3\nsizes: 1600 1600 1600\nencoding: raw\n"
        b"endian: little\n\n" + bytes(1000)
    )
    monkeypatch.setenv("OSTEO_MAX_IMAGE_GB", "4")
    rc, msg, rss_mb = _peak_rss_mb_of_read(path)
    assert rc == 2 and "more than the limit of 4 GB" in msg, msg
    assert rss_mb < 1000  # ITK alone allocated 8.3 GB here before the check
    monkeypatch.setenv("OSTEO_MAX_IMAGE_GB", "0.001")  # 1 MB: a 200×200×20 short image is 1.6
    small = write_image(Volume(np.zeros((20, 200, 200), np.int16)), tmp_path / "s.nrrd")
    with pytest.raises(InputError, match="OSTEO_MAX_IMAGE_GB"):
        read_image(small)


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


def _read_only(folder: Path) -> tuple[list[str], list[str]]:
    """Commands that make ``folder`` read-only and writable again, also for root (who
    writes into 0555 folders): the immutable attribute of ext4 and similar file systems."""
    if os.geteuid() != 0:
        return ["chmod", "555", str(folder)], ["chmod", "755", str(folder)]
    return ["chattr", "+i", str(folder)], ["chattr", "-i", str(folder)]


def test_item12_read_only_folder_exits_2(osteo_cmd, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    lock, unlock = _read_only(folder)
    if subprocess.run(lock, capture_output=True).returncode != 0:
        pytest.skip(f"cannot make a folder read-only here ({' '.join(lock[:2])} failed)")
    try:
        done = _run(osteo_cmd, "calibrate", "--phantom", "qrm_bdc_3", "--hu", "50,250,700",
                    "--out", str(folder / "p.json"))  # fmt: skip
        _one_error_line(done, "permission")
    finally:
        subprocess.run(unlock, capture_output=True)


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
# Item 13: label lists and calibration profiles that cannot be used are bad input


def test_item13_insert_labels_must_be_integers(osteo_cmd, tmp_path):
    from test_calibration import _insert_phantom

    from osteoimaging.validation import parse_label_values

    vol, _ = _insert_phantom()
    ct = write_image(vol, tmp_path / "phantom.nrrd")
    labels = write_image(vol.with_array(np.zeros(vol.shape, np.uint8)), tmp_path / "ins.nrrd")
    for bad in ("1,2,nan", "1,2,20.7"):
        done = _run(osteo_cmd, "calibrate", "--phantom", "qrm_bdc_3", "--ct", str(ct),
                    "--inserts", str(labels), "--insert-labels", bad,
                    "--out", str(tmp_path / "p.json"))  # fmt: skip
        _one_error_line(done, "--insert-labels", "is not an integer label value")
    assert parse_label_values("1, 2,20") == [1, 2, 20]
    with pytest.raises(InputError, match=r"'20\.7' is not an integer"):
        parse_label_values("20.7")


def test_item13_profile_with_a_list_as_fit(osteo_cmd, small_case, tmp_path):
    from osteoimaging.calibration.profile import PROFILE_FORMAT, load_profile

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": PROFILE_FORMAT, "name": "x", "fit": [0.8, -5]}))
    with pytest.raises(InputError, match="'fit' must be an object"):
        load_profile(bad)
    done = _run(osteo_cmd, "focal", str(small_case / "ct.nrrd"), "--mask",
                str(small_case / "mask.nrrd"), "--calibration", str(bad),
                "--out", str(tmp_path / "o"))  # fmt: skip
    _one_error_line(done, str(bad), "'fit'")


def test_item13_memory_error_is_bad_input(monkeypatch, capsys, tmp_path):
    """A request the machine cannot honour (numpy's MemoryError) is exit 2, one line."""
    import osteoimaging.cli.info as info
    from osteoimaging.cli.main import main

    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 106. GiB for an array with shape (3000, 3000)")

    monkeypatch.setattr(info, "image_info", too_big)
    assert main(["info", str(tmp_path / "x.nrrd")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not enough memory" in err[0] and "106. GiB" in err[0]


# ---------------------------------------------------------------------------------------
# Item 15: messages that say what differs and name the file; quiet ITK


def test_item15_grid_mismatch_in_direction_only_prints_directions(tmp_path):
    ct = _ct_like()
    flipped = np.diag([1.0, -1.0, 1.0])
    mask = Volume(np.ones(ct.shape, np.uint8), ct.spacing, ct.origin, flipped)
    with pytest.raises(InputError) as err:
        check_mask_geometry(mask, ct, tmp_path / "m.nrrd")
    text = str(err.value)
    assert "direction 1 0 0; 0 -1 0; 0 0 1" in text and "direction 1 0 0; 0 1 0; 0 0 1" in text
    assert str(tmp_path / "m.nrrd") in text


def test_item15_calibrate_insert_errors_name_the_label_map(osteo_cmd, tmp_path):
    from test_calibration import _insert_phantom

    vol, _ = _insert_phantom()
    ct = write_image(vol, tmp_path / "phantom.nrrd")
    labels = np.zeros(vol.shape, np.uint8)
    labels[5:8, 5:8, 5:8] = 1  # inserts 2 and 3 are missing
    ins = write_image(vol.with_array(labels), tmp_path / "inserts.nrrd")
    done = _run(osteo_cmd, "calibrate", "--phantom", "qrm_bdc_3", "--ct", str(ct),
                "--inserts", str(ins), "--out", str(tmp_path / "p.json"))  # fmt: skip
    _one_error_line(done, str(ins), "insert label 2")


def test_item15_itk_warnings_stay_off_stderr(osteo_cmd, tmp_path):
    """Positions within the 1 % tolerance make ITK print a multi-line warning; not here."""
    folder = tmp_path / "series"
    _dicom_series(folder, [0.0, 2.01, 3.995, 6.0, 8.005, 10.0])
    done = _run(osteo_cmd, "info", str(folder))
    assert done.returncode == 0, done.stderr
    assert "WARNING: In" not in done.stderr and ".hxx" not in done.stderr, done.stderr


def test_item15_series_without_uid_is_listed_usably(tmp_path):
    folder = tmp_path / "mixed"
    _dicom_series(folder, [0, 2, 4], uid="1.2.826.0.1.8")
    _dicom_series(tmp_path / "b", [0, 2, 4], uid="1.2.826.0.1.9", blank_uid=True)
    for f in (tmp_path / "b").iterdir():
        f.rename(folder / f"b_{f.name}")
    assert {s["uid"] for s in list_dicom_series(folder)} == {"", "1.2.826.0.1.8"}
    with pytest.raises(InputError) as err:
        read_image(folder)
    text = str(err.value)
    assert "choose one with --series" in text
    assert ":  (" not in text and "; (" not in text  # no entry starts with a blank UID
    assert "no Series Instance UID; choose it with --series ''" in text
    assert read_image(folder, series_uid="").size == (8, 8, 3)


def test_item15_dicom_file_without_suffix_is_recognised(osteo_cmd, tmp_path):
    folder = tmp_path / "series"
    _dicom_series(folder, [0, 2, 4])
    one = folder / "CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016573"
    next(folder.glob("*.dcm")).rename(one)
    done = _run(osteo_cmd, "info", str(one))
    _one_error_line(done, "a single DICOM file; give the folder holding the series", str(folder))


# ---------------------------------------------------------------------------------------
# Item 16: what is not a mask is refused


def test_item16_the_ct_itself_is_not_a_mask(osteo_cmd, small_case, tmp_path):
    ct = small_case / "ct.nrrd"
    done = _run(osteo_cmd, "focal", str(ct), "--mask", str(ct), "--out", str(tmp_path / "o"))
    _one_error_line(done, str(ct), "negative values")
    assert not (tmp_path / "o").exists()
    positive = _ct_like(shape=(20, 40, 40))  # a CT stored without negative values
    positive = positive.with_array((positive.array.astype(np.int32) + 1024).astype(np.uint16))
    with pytest.raises(InputError, match="distinct values"):
        mask_from_label(positive, None, "ct.nrrd")


def test_item16_all_ones_and_non_integer_masks(tmp_path):
    ct = _ct_like()
    ones = write_image(ct.with_array(np.ones(ct.shape, np.uint8)), tmp_path / "ones.nrrd")
    with pytest.raises(InputError, match="covers every voxel") as err:
        read_mask(ones, ct)
    assert str(ones) in str(err.value)
    labels = np.zeros(ct.shape, np.float32)
    labels[1:3, 1:3, 1:3] = 20.7
    path = write_image(ct.with_array(labels), tmp_path / "float.nrrd")
    with pytest.raises(InputError, match=r"non-integer values \(e\.g\. 20\.7\)"):
        read_mask(path, ct, label=20)
    labels[0, 0, 0] = np.nan
    path = write_image(ct.with_array(labels), tmp_path / "nan.nrrd")
    with pytest.raises(InputError, match="NaN"):
        read_mask(path, ct)


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


# ---------------------------------------------------------------------------------------
# Item 7: side files never replace a file the command did not write


def test_item7_segment_side_file_is_named_from_the_output_file(osteo_cmd, tmp_path):
    from osteoimaging.phantoms import CTProtocol, VertebraSpec, vertebra_ct

    ct, _, _ = vertebra_ct(
        VertebraSpec(hires_mm=0.2, scene_mm=0.4, seed=5), CTProtocol(spacing_mm=(0.5, 0.5, 1.0))
    )
    ct_path = write_image(ct, tmp_path / "ct.nrrd")
    study = tmp_path / "study.json"
    study.write_text('{"mine": true}\n')
    out = tmp_path / "study.nii.d" / "L1.nrrd"
    done = _run(osteo_cmd, "segment", str(ct_path), "--seed=-2,3,1", "--level", "L1",
                "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert study.read_text() == '{"mine": true}\n'
    side = json.loads((tmp_path / "study.nii.d" / "L1.json").read_text())
    assert side["level"] == "L1" and side["mask"] == "L1.nrrd"
    # Again: its own side file is replaced; an unrelated file of that name is not.
    again = _run(osteo_cmd, "segment", str(ct_path), "--seed=-2,3,1", "--out", str(out))
    assert again.returncode == 0, again.stderr
    other = tmp_path / "body.json"
    other.write_text("{}\n")
    refused = _run(osteo_cmd, "segment", str(ct_path), "--seed=-2,3,1",
                   "--out", str(tmp_path / "body.nii.gz"))  # fmt: skip
    _one_error_line(refused, str(other), "not written by osteo segment")
    assert other.read_text() == "{}\n" and not (tmp_path / "body.nii.gz").exists()
