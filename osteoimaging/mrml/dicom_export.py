"""Export the levels measured on a CT node as DICOM objects filed with its source series.

One Segmentation (bodies and ROIs), a Parametric Map per level and map, and a TID 1500
Measurement Report — the writer ``osteo focal --dicom-out`` uses
(:func:`osteoimaging.case.outputs.write_case_dicom_outputs`) — from the levels measured in
this session (as the study report). The Slicer module and the browser station call
:func:`export_case_dicom`; it needs highdicom and pydicom (bundled in Slicer 5.12; the
``dicom`` extra elsewhere).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from osteoimaging.errors import InputError


def dicom_export_available() -> tuple[bool, str]:
    """(available, reason when not): highdicom and pydicom are importable."""
    try:
        import highdicom  # noqa: F401
        import pydicom  # noqa: F401
    except ImportError:
        return False, (
            "DICOM export needs highdicom and pydicom (bundled in Slicer 5.12; elsewhere "
            "pip install 'osteoimaging[dicom]')"
        )
    return True, ""


def series_uid_of(path: str | Path) -> str | None:
    """The Series Instance UID in one DICOM file's header (None when blank)."""
    import pydicom

    uid = str(pydicom.dcmread(str(path), stop_before_pixels=True).get("SeriesInstanceUID", ""))
    return uid or None


def export_case_dicom(
    ct_node,
    series: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    *,
    series_uid: str | None = None,
    volume=None,
    deidentify: bool = False,
) -> dict[str, Path]:
    """Write the DICOM objects of the levels measured on ``ct_node`` into ``out_dir``.

    ``series`` is the CT's DICOM series: its folder, or its files (as Slicer's DICOM
    database lists them; files spread over several folders are copied to a temporary one
    first). ``volume`` is the series as read by :func:`osteoimaging.imageio.read_image`
    (read here when None); its geometry is checked against the headers.
    """
    from osteoimaging.case.outputs import write_case_dicom_outputs
    from osteoimaging.case.pipeline import merge_cases
    from osteoimaging.dicom import read_dicom_source
    from osteoimaging.mrml.focal_workflow import measured_cases

    cases = measured_cases(ct_node) if ct_node is not None else []
    if not cases:
        raise InputError("measure a vertebra of this CT first")
    if isinstance(series, str | Path):
        source = read_dicom_source(series, series_uid=series_uid, volume=volume)
        return write_case_dicom_outputs(merge_cases(cases), source, out_dir, deidentify=deidentify)
    files = [Path(f) for f in series]
    if not files:
        raise InputError("the CT has no DICOM files (load it with the DICOM module)")
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise InputError("a file of the CT's DICOM series is missing", missing[0])
    folders = {f.parent for f in files}
    series_uid = series_uid or series_uid_of(files[0])
    if len(folders) == 1:
        source = read_dicom_source(folders.pop(), series_uid=series_uid, volume=volume)
        return write_case_dicom_outputs(merge_cases(cases), source, out_dir, deidentify=deidentify)
    with tempfile.TemporaryDirectory(prefix="osteo-dicom-series-") as folder:
        for n, f in enumerate(files):
            shutil.copy2(f, Path(folder) / f"{n:05d}.dcm")
        source = read_dicom_source(folder, series_uid=series_uid, volume=volume)
        return write_case_dicom_outputs(merge_cases(cases), source, out_dir, deidentify=deidentify)
