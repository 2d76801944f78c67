"""Image I/O: round trips with exact geometry, real DICOM/NIfTI, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from osteoimaging.errors import InputError
from osteoimaging.imageio import keep_locale, list_dicom_series, read_image, write_image
from osteoimaging.validation import read_mask
from osteoimaging.volume import Volume, format_triplet


def _rotation(ax: float, ay: float, az: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = (
        np.cos(ax),
        np.sin(ax),
        np.cos(ay),
        np.sin(ay),
        np.cos(az),
        np.sin(az),
    )
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


@pytest.fixture
def oblique() -> Volume:
    rng = np.random.default_rng(3)
    arr = rng.integers(-1000, 2000, size=(7, 9, 11)).astype(np.int16)
    return Volume(
        arr,
        spacing=(0.3, 0.45, 1.25),
        origin=(-12.5, 30.25, 101.0),
        direction=_rotation(0.2, -0.35, 0.6),
    )


@pytest.mark.parametrize("suffix", [".nrrd", ".nii.gz", ".nii", ".mha"])
def test_round_trip_keeps_voxels_and_oblique_geometry(tmp_path, oblique, suffix):
    path = write_image(oblique, tmp_path / f"img{suffix}")
    back = read_image(path)
    np.testing.assert_array_equal(back.array, oblique.array)
    np.testing.assert_allclose(back.spacing, oblique.spacing, atol=1e-6)
    np.testing.assert_allclose(back.origin, oblique.origin, atol=1e-5)
    np.testing.assert_allclose(back.direction, oblique.direction, atol=1e-6)
    # The same voxel maps to the same physical point.
    ijk = np.array([3.0, 5.0, 2.0])
    np.testing.assert_allclose(
        back.index_to_physical(ijk), oblique.index_to_physical(ijk), atol=1e-4
    )


def test_index_physical_round_trip(oblique):
    pts = np.array([[0, 0, 0], [10, 8, 6], [2.5, 1.25, 3.75]])
    np.testing.assert_allclose(
        oblique.physical_to_index(oblique.index_to_physical(pts)), pts, atol=1e-9
    )
    # Agrees with SimpleITK's own transform.
    img = oblique.to_sitk()
    np.testing.assert_allclose(
        oblique.index_to_physical(pts[1]),
        img.TransformContinuousIndexToPhysicalPoint(pts[1].tolist()),
    )


def test_atomic_write_leaves_no_file_on_failure(tmp_path, oblique, monkeypatch):
    target = tmp_path / "out.nrrd"

    def failing_write(image, path, compress):
        Path(path).write_bytes(b"NRRD0004\npartial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(sitk, "WriteImage", failing_write)
    with pytest.raises(RuntimeError):
        write_image(oblique, target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_unsupported_output_suffix(tmp_path, oblique):
    with pytest.raises(InputError, match=r"out\.png"):
        write_image(oblique, tmp_path / "out.png")


@pytest.mark.shared_data
def test_real_dicom_series_geometry(shared_data):
    folder = shared_data("ct/totalseg-dicom/series")
    vol = read_image(folder)
    assert vol.size == (512, 512, 20)
    assert format_triplet(vol.spacing) == "0.977×0.977×2.0"
    assert vol.metadata["modality"] == "CT"
    assert vol.array.min() == -1024
    # No patient field is carried as metadata.
    assert not any(k.lower().startswith("patient") for k in vol.metadata)


@pytest.mark.shared_data
def test_real_dicom_matches_its_nifti_segmentation_grid(shared_data):
    """The TotalSegmentator NIfTI of the series covers the same voxels with a flipped y axis."""
    ct = read_image(shared_data("ct/totalseg-dicom/series"))
    seg_path = shared_data("ct/totalseg-dicom/example_seg_dicom.nii.gz")
    seg = read_image(seg_path)
    assert not seg.same_geometry(ct)
    # Physical corners agree: index (i, j, k) in the CT is (i, 511 - j, k) in the NIfTI.
    np.testing.assert_allclose(
        ct.index_to_physical([10, 20, 5]), seg.index_to_physical([10, 511 - 20, 5]), atol=1e-3
    )
    with pytest.raises(InputError, match="--resample-mask"):
        read_mask(seg_path, ct, label=32)
    mask = read_mask(seg_path, ct, label=32, resample=True)
    np.testing.assert_array_equal(mask.array, seg.array[:, ::-1, :] == 32)


@pytest.mark.shared_data
def test_real_nifti_geometry(shared_data):
    path = shared_data("ct/totalseg-example/example_ct.nii.gz")
    vol = read_image(path)
    ref = sitk.ReadImage(str(path))
    assert vol.size == ref.GetSize() == (122, 101, 112)
    np.testing.assert_allclose(vol.direction.ravel(), ref.GetDirection())
    np.testing.assert_allclose(vol.origin, ref.GetOrigin())


@pytest.mark.shared_data
def test_real_metaimage(shared_data):
    vol = read_image(shared_data("microct/mil-gst/Trabecular-Bone-Test.mhd"))
    assert vol.shape == (100, 100, 100)
    assert vol.array.dtype == np.uint16


def _write_dicom_series(folder: Path, uid: str, modality: str, n: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(n):
        sl = sitk.GetImageFromArray(np.full((8, 8), 100 * k, dtype=np.int16))
        sl.SetSpacing((0.5, 0.5))
        for tag, value in {
            "0008|0060": modality,
            "0020|000e": uid,
            "0020|000d": "1.2.3",
            "0008|0018": f"{uid}.{k + 1}",
            "0020|0013": str(k + 1),
            "0020|0032": f"0\\0\\{2.0 * k}",
            "0020|0037": "1\\0\\0\\0\\1\\0",
            "0028|0030": "0.5\\0.5",
            "0018|0050": "2.0",
            "0010|0010": "Doe^Jane",
        }.items():
            sl.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"{uid}_{k}.dcm"))
        with keep_locale():
            writer.Execute(sl)


def test_dicom_folder_with_several_series(tmp_path):
    folder = tmp_path / "dicom"
    _write_dicom_series(folder, "1.2.826.0.1.1", "CT")
    _write_dicom_series(folder, "1.2.826.0.1.2", "CT")
    series = list_dicom_series(folder)
    assert {s["uid"] for s in series} == {"1.2.826.0.1.1", "1.2.826.0.1.2"}
    with pytest.raises(InputError, match="choose one with --series") as err:
        read_image(folder)
    assert "1.2.826.0.1.1" in str(err.value) and "\n" not in str(err.value)
    vol = read_image(folder, series_uid="1.2.826.0.1.2")
    assert vol.size == (8, 8, 3)
    np.testing.assert_allclose(vol.spacing, (0.5, 0.5, 2.0))
    assert "Doe" not in repr(vol.metadata)
    with pytest.raises(InputError, match="not found"):
        read_image(folder, series_uid="9.9")


def test_dicom_io_keeps_the_locale(tmp_path):
    import locale

    before = locale.getpreferredencoding(False)
    _write_dicom_series(tmp_path / "d", "1.2.826.0.1.3", "CT")
    read_image(tmp_path / "d")
    assert locale.getpreferredencoding(False) == before


def test_dicom_folder_picks_the_ct_among_other_modalities(tmp_path):
    folder = tmp_path / "dicom"
    _write_dicom_series(folder, "1.2.826.0.1.1", "CT")
    _write_dicom_series(folder, "1.2.826.0.1.2", "MR")
    assert read_image(folder).metadata["series_uid"] == "1.2.826.0.1.1"
