"""The source CT series of the DICOM outputs: its headers in the Volume's slice order.

:func:`read_dicom_source` reads the series with :func:`osteoimaging.imageio.read_image`
(the Volume every measurement uses) and the headers of the same files with pydicom, in
the order ITK stacked them, and checks that every header's plane position, orientation
and pixel spacing equal the Volume's geometry (so a mask on the Volume's grid is a mask
on these DICOM frames, voxel for voxel).

Headers are read without pixel data. Missing SOP Class/Instance UIDs are taken from the
file meta information (PS3.10 requires them equal); a missing Study, Series or Frame of
Reference UID (invalid DICOM, seen in anonymised test data) is derived deterministically
from the instance UIDs, so repeated runs reference the same values, and is listed in
``repairs``. Nothing here logs a patient attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import generate_uid

from osteoimaging.errors import InputError
from osteoimaging.imageio import keep_locale, read_image
from osteoimaging.log import logger
from osteoimaging.volume import Volume

POSITION_TOL_MM = 1e-4  # DICOM DS strings hold ~16 significant digits
COSINE_TOL = 1e-5


@dataclass
class DicomSource:
    """A single-frame DICOM CT series: the Volume and the headers of its slices.

    ``datasets[k]`` is the header of the slice ``volume.array[k]``.
    """

    folder: Path
    volume: Volume
    datasets: list[Dataset]
    files: list[Path]
    repairs: list[str] = field(default_factory=list)

    @property
    def study_uid(self) -> str:
        return str(self.datasets[0].StudyInstanceUID)

    @property
    def series_uid(self) -> str:
        return str(self.datasets[0].SeriesInstanceUID)

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.datasets[0].FrameOfReferenceUID)

    @property
    def sop_instance_uids(self) -> list[str]:
        return [str(ds.SOPInstanceUID) for ds in self.datasets]


def _series_files(folder: Path, series_uid: str) -> list[Path]:
    with keep_locale():
        files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series_uid)
    return [Path(f) for f in files]


def _read_header(path: Path) -> Dataset:
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise InputError(f"cannot read DICOM header ({type(exc).__name__})", path) from exc


def _fill_from_file_meta(ds: Dataset, path: Path, repairs: set[str]) -> None:
    meta = getattr(ds, "file_meta", None)
    for keyword, meta_keyword in (
        ("SOPClassUID", "MediaStorageSOPClassUID"),
        ("SOPInstanceUID", "MediaStorageSOPInstanceUID"),
    ):
        if not str(ds.get(keyword, "") or ""):
            value = str(getattr(meta, meta_keyword, "") or "") if meta is not None else ""
            if not value:
                raise InputError(f"no {keyword} in the header or file meta", path)
            setattr(ds, keyword, value)
            repairs.add(f"{keyword} taken from the file meta information ({meta_keyword})")


def _derive_missing_uids(datasets: list[Dataset], repairs: set[str]) -> None:
    instance_uids = sorted(str(ds.SOPInstanceUID) for ds in datasets)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        values = {str(ds.get(keyword, "") or "") for ds in datasets}
        if values == {""}:
            uid = generate_uid(prefix=None, entropy_srcs=["osteoimaging", keyword, *instance_uids])
            for ds in datasets:
                setattr(ds, keyword, uid)
            repairs.add(f"{keyword} missing in the series: derived {uid} from its instance UIDs")


def _check_consistent(datasets: list[Dataset], files: list[Path], volume: Volume) -> None:
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        values = {str(ds.get(keyword, "") or "") for ds in datasets}
        if len(values) != 1 or "" in values:
            raise InputError(f"the slices disagree on {keyword} (or some lack it)", files[0].parent)
    nx, ny, _ = volume.size
    for ds, path in zip(datasets, files, strict=True):
        if int(ds.get("NumberOfFrames", 1) or 1) != 1:
            raise InputError("multi-frame images are not supported as a source series", path)
        if (int(ds.Rows), int(ds.Columns)) != (ny, nx):
            raise InputError(f"slice has {ds.Columns}×{ds.Rows} pixels, the volume {nx}×{ny}", path)


def geometry_deviation(datasets: list[Dataset], volume: Volume) -> tuple[float, float, float]:
    """Largest |difference| between the headers and the Volume: plane positions (mm),
    orientation cosines, pixel spacings (mm)."""
    d = volume.direction
    orientation = np.concatenate([d[:, 0], d[:, 1]])
    spacing = np.asarray([volume.spacing[1], volume.spacing[0]])  # row, column spacing
    pos = ori = spc = 0.0
    for k, ds in enumerate(datasets):
        expected = volume.index_to_physical(np.asarray([0.0, 0.0, float(k)]))
        pos = max(pos, float(np.abs(np.asarray(ds.ImagePositionPatient, float) - expected).max()))
        ori = max(
            ori, float(np.abs(np.asarray(ds.ImageOrientationPatient, float) - orientation).max())
        )
        spc = max(spc, float(np.abs(np.asarray(ds.PixelSpacing, float) - spacing).max()))
    return pos, ori, spc


def read_dicom_source(
    folder: str | Path, *, series_uid: str | None = None, volume: Volume | None = None
) -> DicomSource:
    """Read a DICOM CT series folder into a :class:`DicomSource`.

    ``volume`` (optional) is the series already read by ``read_image(folder)``; it is
    read here otherwise. Raises InputError naming the folder or file when the series is
    unreadable, multi-frame, inconsistent, or when its headers' geometry differs from the
    Volume's by more than 1e-4 mm (positions, spacing) or 1e-5 (direction cosines).
    """
    folder = Path(folder)
    if volume is None:
        volume = read_image(folder, series_uid=series_uid)
    if volume.metadata.get("format") != "dicom" or "series_uid" not in volume.metadata:
        raise InputError("the volume was not read from a DICOM series folder", folder)
    files = _series_files(folder, str(volume.metadata["series_uid"]))
    if len(files) != volume.shape[0]:
        raise InputError(
            f"{len(files)} files in the series but the volume has {volume.shape[0]} slices",
            folder,
        )
    repairs: set[str] = set()
    datasets = [_read_header(path) for path in files]
    for ds, path in zip(datasets, files, strict=True):
        _fill_from_file_meta(ds, path, repairs)
        for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
            if keyword not in ds:
                raise InputError(f"no {keyword} in the header", path)
    _derive_missing_uids(datasets, repairs)
    _check_consistent(datasets, files, volume)
    pos, ori, spc = geometry_deviation(datasets, volume)
    if pos > POSITION_TOL_MM or spc > POSITION_TOL_MM or ori > COSINE_TOL:
        raise InputError(
            "the DICOM headers' geometry differs from the volume read from them "
            f"(positions {pos:.2g} mm, orientation {ori:.2g}, spacing {spc:.2g} mm); "
            "is the series irregular (gaps, tilt, varying spacing)?",
            folder,
        )
    if str(datasets[0].get("Modality", "")) != "CT":
        logger.warning("DICOM source modality is %r, not CT", str(datasets[0].get("Modality")))
    for text in sorted(repairs):
        logger.warning("DICOM source: %s", text)
    logger.info("DICOM source: %d slices, geometry within %.1g mm", len(datasets), pos)
    return DicomSource(folder, volume, datasets, files, sorted(repairs))
