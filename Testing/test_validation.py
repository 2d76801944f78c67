"""Each bad input gives a clear one-line InputError naming the file."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import SimpleITK as sitk

from osteoimaging.errors import InputError
from osteoimaging.imageio import read_image, write_image
from osteoimaging.validation import check_ct_hu, mask_from_label, read_ct, read_mask
from osteoimaging.volume import Volume


def _ct(shape=(6, 8, 10)) -> Volume:
    rng = np.random.default_rng(0)
    arr = rng.integers(-1000, 1500, size=shape).astype(np.int16)
    return Volume(arr, spacing=(0.5, 0.5, 1.0), origin=(1.0, 2.0, 3.0))


def _one_line_naming(err: pytest.ExceptionInfo, path) -> None:
    msg = str(err.value)
    assert str(path) in msg, msg
    assert "\n" not in msg, msg


def test_missing_file(tmp_path):
    path = tmp_path / "nope.nrrd"
    with pytest.raises(InputError, match="file not found") as err:
        read_image(path)
    _one_line_naming(err, path)


def test_unreadable_file(tmp_path):
    path = tmp_path / "garbage.nrrd"
    path.write_bytes(b"\x00\x01 this is not an image" * 10)
    with pytest.raises(InputError, match="cannot read") as err:
        read_image(path)
    _one_line_naming(err, path)


def test_truncated_nifti(tmp_path):
    good = write_image(_ct((20, 30, 40)), tmp_path / "good.nii.gz")
    raw = good.read_bytes()
    path = tmp_path / "truncated.nii.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError) as err:
        read_image(path)
    _one_line_naming(err, path)


def test_truncated_raw_data(tmp_path):
    path = tmp_path / "short.nii"
    write_image(_ct((20, 30, 40)), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 5000])
    with pytest.raises(InputError) as err:
        read_image(path)
    _one_line_naming(err, path)


def test_corrupted_gzip_stream(tmp_path):
    path = tmp_path / "corrupt.nii.gz"
    raw = bytearray(gzip.compress(b"\x5c\x01" + bytes(5000)))
    raw[30:60] = b"\xff" * 30
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError) as err:
        read_image(path)
    _one_line_naming(err, path)


def test_not_3d_2d_image(tmp_path):
    path = tmp_path / "slice.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((5, 5), np.int16)), str(path))
    with pytest.raises(InputError, match="2D") as err:
        read_image(path)
    _one_line_naming(err, path)


def test_not_3d_4d_image(tmp_path):
    path = tmp_path / "series4d.nii.gz"
    frames = [sitk.GetImageFromArray(np.zeros((3, 4, 5), np.int16)) for _ in range(2)]
    sitk.WriteImage(sitk.JoinSeries(frames), str(path))
    with pytest.raises(InputError, match="4D") as err:
        read_image(path)
    _one_line_naming(err, path)


def test_single_slice_volume(tmp_path):
    path = tmp_path / "one.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((1, 5, 5), np.int16)), str(path))
    with pytest.raises(InputError, match="single slice"):
        read_image(path)


def test_vector_image(tmp_path):
    path = tmp_path / "rgb.nrrd"
    img = sitk.GetImageFromArray(np.zeros((4, 5, 6, 3), np.uint8), isVector=True)
    sitk.WriteImage(img, str(path))
    with pytest.raises(InputError, match="components") as err:
        read_image(path)
    _one_line_naming(err, path)


@pytest.mark.parametrize("spacing", ["0 0.5 1", "-0.5 0.5 1", "nan 0.5 1"])
def test_bad_spacing_mhd(tmp_path, spacing):
    raw = tmp_path / "img.raw"
    raw.write_bytes(np.zeros((4, 4, 4), np.int16).tobytes())
    path = tmp_path / "img.mhd"
    path.write_text(
        "ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementType = MET_SHORT\n"
        f"ElementSpacing = {spacing}\nElementDataFile = img.raw\n"
    )
    with pytest.raises(InputError) as err:
        read_image(path)
    _one_line_naming(err, path)


def test_unsupported_suffix_and_single_dicom_file(tmp_path):
    for name, pattern in (("x.png", "unsupported"), ("x.dcm", "folder")):
        path = tmp_path / name
        path.write_bytes(b"x")
        with pytest.raises(InputError, match=pattern):
            read_image(path)


def test_mri_passed_as_ct(tmp_path):
    rng = np.random.default_rng(1)
    mri = Volume(rng.integers(0, 900, (10, 10, 10)).astype(np.uint16))
    path = write_image(mri, tmp_path / "t1.nrrd")
    with pytest.raises(InputError, match="not a CT in HU") as err:
        read_ct(path)
    _one_line_naming(err, path)
    assert read_ct(path, check_hu=False).shape == (10, 10, 10)


def test_mask_passed_as_ct():
    with pytest.raises(InputError, match="mask"):
        check_ct_hu(Volume(np.zeros((5, 5, 5), np.uint8)))


def test_out_of_range_values():
    with pytest.raises(InputError, match="outside any CT range"):
        check_ct_hu(Volume(np.full((4, 4, 4), -5000, np.int16)))


def test_plausible_ct_passes():
    check_ct_hu(_ct())


def test_mask_geometry_mismatch_and_resampling(tmp_path):
    ct = _ct()
    arr = np.ones((4, 5, 6), np.uint8)
    arr[:, :, 0] = 0  # a mask covering the whole CT is refused (not a segmentation)
    mask = Volume(arr, spacing=(1.0, 1.0, 2.0), origin=ct.origin)
    path = write_image(mask, tmp_path / "mask.nrrd")
    with pytest.raises(InputError, match="differs from the image grid") as err:
        read_mask(path, ct)
    _one_line_naming(err, path)
    resampled = read_mask(path, ct, resample=True)
    assert resampled.same_geometry(ct)
    assert resampled.array.dtype == bool
    assert not resampled.array[:, :, 0].any() and resampled.array[:, :, 3:].all()


def test_empty_mask_and_absent_label(tmp_path):
    ct = _ct()
    path = write_image(ct.with_array(np.zeros(ct.shape, np.uint8)), tmp_path / "empty.nrrd")
    with pytest.raises(InputError, match="empty") as err:
        read_mask(path, ct)
    _one_line_naming(err, path)
    labels = np.zeros(ct.shape, np.uint8)
    labels[2:4, 2:4, 2:4] = 20
    path = write_image(ct.with_array(labels), tmp_path / "labels.nrrd")
    with pytest.raises(InputError, match=r"label 21 is absent \(labels present: 20\)"):
        read_mask(path, ct, label=21)
    assert read_mask(path, ct, label=20).array.sum() == 8


def test_non_integer_label_map():
    with pytest.raises(InputError, match="non-integer"):
        mask_from_label(Volume(np.full((3, 3, 3), 0.5, np.float32)), 1)
