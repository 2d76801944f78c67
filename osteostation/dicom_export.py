"""The station's DICOM export: the bridge's :func:`osteoimaging.mrml.dicom_export.
export_case_dicom` (the Slicer module's too) writes the objects; the station zips them for
download.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from osteoimaging.atomic import atomic_path


def zip_files(files: dict[str, Path], path: Path) -> Path:
    """The written objects in one zip file (atomically), named by their own file names."""
    with atomic_path(path, suffix=".zip") as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for file in sorted(files.values()):
            archive.write(file, arcname=Path(file).name)
    return path
