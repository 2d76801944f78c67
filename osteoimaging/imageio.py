"""Read and write 3D images with exact geometry: DICOM series, NRRD, NIfTI, MetaImage.

Every failure raises :class:`~osteoimaging.errors.InputError` with a one-line message
naming the file. Writers go through a temporary file and a rename (no half files).
No DICOM patient field (name, ID, birth date) is read into metadata or logged.
"""

from __future__ import annotations

import contextlib
import gzip
import locale
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from osteoimaging.atomic import atomic_path
from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.volume import Volume

READ_SUFFIXES = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd")
WRITE_SUFFIXES = (".nrrd", ".nii", ".nii.gz", ".mha")

# Non-identifying DICOM tags kept as metadata (never patient name/ID/birth date).
_DICOM_TAGS = {
    "0008|0060": "modality",
    "0008|0070": "manufacturer",
    "0018|0060": "kvp",
    "0018|1210": "kernel",
    "0018|0050": "slice_thickness_mm",
    "0008|103e": "series_description",
}


@contextlib.contextmanager
def keep_locale():
    """Restore the C library locale after GDCM, which switches it to "C" while writing DICOM.

    Left changed, Python's default text encoding turns ASCII for the rest of the process.
    """
    saved = locale.setlocale(locale.LC_ALL)
    try:
        yield
    finally:
        locale.setlocale(locale.LC_ALL, saved)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _first_line(exc: BaseException) -> str:
    """The informative part of an ITK exception (ITK messages span many lines)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    # ITK's MetaImage reader reports a short data file as errno "No such file or directory".
    lines = [ln for ln in lines if "No such file or directory" not in ln] or ["unreadable"]
    for ln in lines:
        low = ln.lower()
        if "description:" in low:
            return ln.split(":", 1)[1].strip() or ln
    return lines[-1] if lines else type(exc).__name__


def _nifti_expected_bytes(header: bytes) -> int | None:
    """Header size + voxel data size from a NIfTI-1/2 header, or None if not NIfTI."""
    for endian in "<>":
        if len(header) >= 348 and struct.unpack(endian + "i", header[:4])[0] == 348:
            dims = struct.unpack(endian + "8h", header[40:56])
            bitpix = struct.unpack(endian + "h", header[72:74])[0]
            offset = int(struct.unpack(endian + "f", header[108:112])[0])
            break
        if len(header) >= 540 and struct.unpack(endian + "i", header[:4])[0] == 540:
            dims = struct.unpack(endian + "8q", header[16:80])
            bitpix = struct.unpack(endian + "h", header[14:16])[0]
            offset = struct.unpack(endian + "q", header[168:176])[0]
            break
    else:
        return None
    ndim = max(1, min(int(dims[0]), 7))
    n = math.prod(max(1, int(d)) for d in dims[1 : ndim + 1])
    return max(offset, 348) + n * max(bitpix, 8) // 8


def _check_nifti_complete(path: Path) -> None:
    """ITK reads a truncated NIfTI without complaint; compare the data size with the header."""
    try:
        if _suffix(path) == ".nii.gz":
            size, header = 0, b""
            with gzip.open(path, "rb") as fh:
                while chunk := fh.read(1 << 22):
                    if len(header) < 540:
                        header += chunk[:540]
                    size += len(chunk)
        else:
            size = path.stat().st_size
            with path.open("rb") as fh:
                header = fh.read(540)
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(f"file truncated or corrupted ({exc})", path) from exc
    expected = _nifti_expected_bytes(header)
    if expected is not None and size < expected:
        raise InputError(f"file truncated: {size} bytes of data, the header needs {expected}", path)


def list_dicom_series(folder: str | Path) -> list[dict]:
    """The DICOM series in ``folder``: UID, modality, number of files, description."""
    folder = Path(folder)
    series = []
    with keep_locale():
        uids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder)) or ()
    for uid in uids:
        files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid)
        info = {"uid": uid, "files": len(files), "modality": "", "series_description": ""}
        try:
            reader = sitk.ImageFileReader()
            reader.SetFileName(files[0])
            reader.LoadPrivateTagsOff()
            reader.ReadImageInformation()
            for tag, key in (("0008|0060", "modality"), ("0008|103e", "series_description")):
                if reader.HasMetaDataKey(tag):
                    info[key] = reader.GetMetaData(tag).strip()
        except RuntimeError:
            pass
        series.append(info)
    return series


def _read_dicom(folder: Path, series_uid: str | None) -> Volume:
    series = list_dicom_series(folder)
    if not series:
        raise InputError("no DICOM series found in this folder", folder)
    if series_uid is not None:
        chosen = [s for s in series if s["uid"] == series_uid]
        if not chosen:
            raise InputError(
                f"series {series_uid} not found; present: " + ", ".join(s["uid"] for s in series),
                folder,
            )
    elif len(series) == 1:
        chosen = series
    else:
        chosen = [s for s in series if s["modality"].upper() == "CT"]
        if len(chosen) != 1:
            listing = "; ".join(
                f"{s['uid']} ({s['modality'] or '?'}, {s['files']} files)" for s in series
            )
            raise InputError(
                f"{len(series)} DICOM series found, choose one with --series UID: {listing}", folder
            )
    uid = chosen[0]["uid"]
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    reader.LoadPrivateTagsOff()
    try:
        with keep_locale():
            image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(f"cannot read DICOM series ({_first_line(exc)})", folder) from exc
    meta: dict = {"format": "dicom", "series_uid": uid, "n_files": len(files)}
    for tag, key in _DICOM_TAGS.items():
        if reader.HasMetaDataKey(0, tag):
            meta[key] = reader.GetMetaData(0, tag).strip()
    logger.info("read DICOM series with %d files", len(files))
    return Volume.from_sitk(image, **meta)


def read_image(path: str | Path, *, series_uid: str | None = None) -> Volume:
    """Read a 3D scalar image (DICOM series folder, NRRD, NIfTI or MetaImage).

    Raises InputError (naming the file) when it is missing, unreadable, truncated,
    not 3D, not scalar, or has zero, negative or non-finite spacing.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path)
    if path.is_dir():
        volume = _read_dicom(path, series_uid)
    else:
        suffix = _suffix(path)
        if suffix == ".dcm":
            raise InputError("a single DICOM file; give the folder holding the series", path)
        if suffix not in READ_SUFFIXES:
            raise InputError(
                f"unsupported file type '{suffix}' (expected a DICOM folder or one of "
                + ", ".join(READ_SUFFIXES)
                + ")",
                path,
            )
        if suffix in (".nii", ".nii.gz"):
            _check_nifti_complete(path)
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        try:
            reader.ReadImageInformation()
            dim = reader.GetDimension()
            ncomp = reader.GetNumberOfComponents()
            if dim != 3:
                raise InputError(f"image is {dim}D; a 3D volume is required", path)
            if ncomp != 1:
                raise InputError(
                    f"image has {ncomp} components per voxel; a scalar image is required", path
                )
            _check_spacing(reader.GetSpacing(), path)
            image = reader.Execute()
        except RuntimeError as exc:
            raise InputError(
                f"cannot read image, file unreadable, truncated or corrupted ({_first_line(exc)})",
                path,
            ) from exc
        volume = Volume.from_sitk(image, format=suffix.lstrip("."))
    if volume.array.ndim != 3:
        raise InputError(f"image is {volume.array.ndim}D; a 3D volume is required", path)
    if min(volume.shape) < 2:
        raise InputError(
            f"image has size {volume.describe()}: a single slice, not a 3D volume", path
        )
    _check_spacing(volume.spacing, path)
    if abs(np.linalg.det(volume.direction)) < 1e-6:
        raise InputError("degenerate direction cosines (axes are not independent)", path)
    volume.metadata["source"] = path.name
    return volume


def _check_spacing(spacing: tuple, path: Path) -> None:
    for s in spacing:
        if not math.isfinite(s) or s <= 0:
            raise InputError(
                "invalid voxel spacing "
                + "×".join(f"{v:g}" for v in spacing)
                + " mm (must be positive and finite)",
                path,
            )


def write_image(volume: Volume, path: str | Path, *, compress: bool = True) -> Path:
    """Write ``volume`` as NRRD, NIfTI or MetaImage (by suffix), atomically."""
    path = Path(path)
    suffix = _suffix(path)
    if suffix not in WRITE_SUFFIXES:
        raise InputError(f"cannot write '{suffix}' (use one of {', '.join(WRITE_SUFFIXES)})", path)
    image = volume.to_sitk()
    with atomic_path(path, suffix=suffix) as tmp:
        sitk.WriteImage(image, str(tmp), compress)
    return path
