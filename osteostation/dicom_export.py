"""Adapter to the DICOM outputs (:mod:`osteoimaging.dicom`): the station's export button.

The station exports what the reader measured on a DICOM series — one Segmentation (bodies
and ROIs), Parametric Maps and a TID 1500 Measurement Report — with the same writer
``osteo focal --dicom-out`` uses (:func:`osteoimaging.case.outputs.write_case_dicom_outputs`),
from the levels measured in this session (as the study report). Needs the ``dicom`` extra.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from osteoimaging.atomic import atomic_path
from osteoimaging.errors import InputError


def dicom_export_available() -> tuple[bool, str]:
    """(available, reason when not): highdicom/pydicom and the writer are importable."""
    try:
        from osteoimaging.case.outputs import write_case_dicom_outputs  # noqa: F401
        from osteoimaging.dicom import read_dicom_source  # noqa: F401
    except ImportError:
        return False, "DICOM export needs the 'dicom' extra: pip install 'osteoimaging[dicom]'"
    return True, ""


def export_case_dicom(
    ct_node, volume, series_folder: Path, series_uid: str | None, out_dir: Path, deidentify: bool
) -> dict[str, Path]:
    """Write the DICOM objects of the levels measured on ``ct_node`` into ``out_dir``.

    ``volume`` is the CT as read from ``series_folder`` (its geometry is checked against
    the DICOM headers by :func:`osteoimaging.dicom.read_dicom_source`).
    """
    from osteoimaging.case.outputs import write_case_dicom_outputs
    from osteoimaging.case.pipeline import merge_cases
    from osteoimaging.dicom import read_dicom_source
    from osteoimaging.mrml.focal_workflow import measured_cases

    cases = measured_cases(ct_node)
    if not cases:
        raise InputError("measure a vertebra of this CT first")
    source = read_dicom_source(series_folder, series_uid=series_uid, volume=volume)
    return write_case_dicom_outputs(merge_cases(cases), source, out_dir, deidentify=deidentify)


def zip_files(files: dict[str, Path], path: Path) -> Path:
    """The written objects in one zip file (atomically), named by their own file names."""
    with atomic_path(path, suffix=".zip") as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for file in sorted(files.values()):
            archive.write(file, arcname=Path(file).name)
    return path
