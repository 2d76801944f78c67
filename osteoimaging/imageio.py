"""Read and write 3D images with exact geometry: DICOM series, NRRD, NIfTI, MetaImage.

Every failure raises :class:`~osteoimaging.errors.InputError` with a one-line message
naming the file. Writers go through a temporary file and a rename (no half files).
No DICOM patient field (name, ID, birth date) is read into metadata or logged.
"""

from __future__ import annotations

import contextlib
import locale
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from osteoimaging.atomic import atomic_path
from osteoimaging.dicom_geometry import SPACING_TOLERANCE, check_slice_geometry
from osteoimaging.errors import InputError
from osteoimaging.io_headers import (
    check_data_present,
    check_declared_spacing,
    check_image_size,
    check_nifti,
    nifti_nonfinite,
    read_text_header,
)
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


def is_dicom_file(path: Path) -> bool:
    """True for a DICOM Part 10 file: the ``DICM`` prefix after the 128-byte preamble."""
    try:
        with path.open("rb") as fh:
            return fh.read(132)[128:132] == b"DICM"
    except OSError:
        return False


@contextlib.contextmanager
def quiet_itk() -> Iterator[None]:
    """Keep ITK's multi-line C++ warnings off stderr while reading or writing.

    What they warn about is checked here with clear messages (slice gaps, spacing);
    the global setting is restored afterwards (it is process-wide, e.g. in Slicer).
    """
    before = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(before)


def list_dicom_series(folder: str | Path) -> list[dict]:
    """The DICOM series in ``folder``: UID, modality, number of files, description."""
    folder = Path(folder)
    series = []
    with keep_locale(), quiet_itk():
        uids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder)) or ()
    for uid in uids:
        with quiet_itk():
            files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid)
        info = {"uid": uid, "files": len(files), "modality": "", "series_description": ""}
        try:
            reader = sitk.ImageFileReader()
            reader.SetFileName(files[0])
            reader.LoadPrivateTagsOff()
            with quiet_itk():
                reader.ReadImageInformation()
            for tag, key in (("0008|0060", "modality"), ("0008|103e", "series_description")):
                if reader.HasMetaDataKey(tag):
                    info[key] = reader.GetMetaData(tag).strip()
        except (RuntimeError, IndexError):
            pass
        series.append(info)
    return series


def describe_series(series: dict) -> str:
    """One listing entry: the UID (or how to choose a series without one), modality, files."""
    uid = series["uid"] or "'' (no Series Instance UID; choose it with --series '')"
    return f"{uid} ({series['modality'] or '?'}, {series['files']} files)"


def _read_dicom(folder: Path, series_uid: str | None) -> Volume:
    series = list_dicom_series(folder)
    if not series:
        raise InputError("no DICOM series found in this folder", folder)
    if series_uid is not None:
        chosen = [s for s in series if s["uid"] == series_uid]
        if not chosen:
            raise InputError(
                f"series {series_uid or repr(series_uid)} not found; present: "
                + "; ".join(describe_series(s) for s in series),
                folder,
            )
    elif len(series) == 1:
        chosen = series
    else:
        chosen = [s for s in series if s["modality"].upper() == "CT"]
        if len(chosen) != 1:
            listing = "; ".join(describe_series(s) for s in series)
            raise InputError(
                f"{len(series)} DICOM series found, choose one with --series UID: {listing}", folder
            )
    uid = chosen[0]["uid"]
    with quiet_itk():
        files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid)
    _check_dicom_size(files, folder)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    reader.LoadPrivateTagsOff()
    try:
        with keep_locale(), quiet_itk():
            image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(f"cannot read DICOM series ({_first_line(exc)})", folder) from exc

    def tag(k: int, key: str) -> str | None:
        return reader.GetMetaData(k, key) if reader.HasMetaDataKey(k, key) else None

    n = len(files)
    spacing = check_slice_geometry(
        [tag(k, "0020|0032") for k in range(n)],
        [tag(k, "0020|0037") for k in range(n)],
        [tag(k, "0028|0030") for k in range(n)],
        files,
        folder,
    )
    if spacing is not None and abs(image.GetSpacing()[2] - spacing) > SPACING_TOLERANCE * spacing:
        raise InputError(
            f"the reader's slice spacing {image.GetSpacing()[2]:.4g} mm differs from the slice "
            f"positions' {spacing:.4g} mm",
            folder,
        )
    meta: dict = {"format": "dicom", "series_uid": uid, "n_files": n}
    for key, name in _DICOM_TAGS.items():
        if reader.HasMetaDataKey(0, key):
            meta[name] = reader.GetMetaData(0, key).strip()
    logger.info("read DICOM series with %d files", n)
    return Volume.from_sitk(image, **meta)


def _pixel_bytes(reader: sitk.ImageFileReader) -> int:
    """Bytes per voxel (all components) of the image a reader would load."""
    try:
        size = sitk.Image([1, 1], reader.GetPixelID()).GetSizeOfPixelComponent()
    except RuntimeError:
        size = 8
    return size * max(1, reader.GetNumberOfComponents())


def _check_dicom_size(files: Sequence[str], folder: Path) -> None:
    """The size limit for a series: rows × columns × files from the first file's header."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(files[0])
    reader.LoadPrivateTagsOff()
    try:
        with keep_locale(), quiet_itk():
            reader.ReadImageInformation()
    except RuntimeError as exc:
        raise InputError(f"cannot read DICOM file ({_first_line(exc)})", files[0]) from exc
    size = reader.GetSize()
    check_image_size(size[0] * size[1] * len(files) * _pixel_bytes(reader), folder)


def _file_suffix_problem(path: Path, suffix: str) -> InputError | None:
    if suffix == ".dcm" or is_dicom_file(path):
        return InputError(
            f"a single DICOM file; give the folder holding the series ({path.parent})", path
        )
    if suffix not in READ_SUFFIXES:
        shown = suffix if len(suffix) <= 12 else suffix[:12] + "…"
        return InputError(
            f"unsupported file type '{shown}' (expected a DICOM folder or one of "
            + ", ".join(READ_SUFFIXES)
            + ")",
            path,
        )
    return None


def _read_file(path: Path) -> Volume:
    suffix = _suffix(path)
    problem = _file_suffix_problem(path, suffix)
    if problem is not None:
        raise problem
    nifti = check_nifti(path) if suffix in (".nii", ".nii.gz") else None
    header = read_text_header(path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        with quiet_itk():
            reader.ReadImageInformation()
        dim = reader.GetDimension()
        ncomp = reader.GetNumberOfComponents()
        if dim != 3:
            raise InputError(f"image is {dim}D; a 3D volume is required", path)
        if ncomp != 1:
            raise InputError(
                f"image has {ncomp} components per voxel; a scalar image is required", path
            )
        if header is not None:
            check_declared_spacing(header, path)
        _check_spacing(reader.GetSpacing(), path)
        n_values = math.prod(reader.GetSize())
        declared = n_values * _pixel_bytes(reader)
        check_image_size(declared, path)
        if header is not None:
            check_data_present(header, declared, n_values, path)
        with quiet_itk():
            image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(
            f"cannot read image, file unreadable, truncated or corrupted ({_first_line(exc)})",
            path,
        ) from exc
    volume = Volume.from_sitk(image, format=suffix.lstrip("."))
    if nifti is not None:
        bad = nifti_nonfinite(path, nifti)
        if bad is not None:
            index, values = bad
            array = volume.array
            if not np.issubdtype(array.dtype, np.floating):
                array = array.astype(np.float32)
            array.reshape(-1)[index] = values
            volume = volume.with_array(array)
    return volume


def read_image(path: str | Path, *, series_uid: str | None = None) -> Volume:
    """Read a 3D scalar image (DICOM series folder, NRRD, NIfTI or MetaImage).

    Raises InputError (naming the file) when it is missing, unreadable, truncated, larger
    than the size limit (:func:`osteoimaging.io_headers.max_image_bytes`), not 3D, not
    scalar, has zero, negative or non-finite spacing, or is a DICOM series whose slices
    do not form one regular grid (:mod:`osteoimaging.dicom_geometry`). NaN and infinite
    voxels are kept as they are in the file (NIfTI included).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path)
    try:
        volume = _read_dicom(path, series_uid) if path.is_dir() else _read_file(path)
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", path) from exc
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
    with atomic_path(path, suffix=suffix) as tmp, quiet_itk():
        sitk.WriteImage(image, str(tmp), compress)
    return path
