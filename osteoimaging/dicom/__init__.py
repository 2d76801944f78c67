"""DICOM outputs for PACS and Slicer: Segmentation, Parametric Maps, TID 1500 SR.

Needs highdicom and pydicom (``pip install "osteoimaging[dicom]"``; bundled in Slicer
5.12). See ``docs/dicom.md``. Typical use::

    source = read_dicom_source(series_folder, volume=ct)
    levels = [level_outputs(level, case) for level in case.levels]  # case = measure_case(…)
    paths = write_case_dicom(source, levels, out_dir)

This package alone handles DICOM patient attributes (to copy or de-identify them); it
never logs them.
"""

from __future__ import annotations

try:
    import highdicom  # noqa: F401
    import pydicom  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "DICOM outputs need highdicom and pydicom: pip install 'osteoimaging[dicom]' "
        "(Slicer 5.12 bundles them)"
    ) from exc

from osteoimaging.dicom.case import write_case_dicom
from osteoimaging.dicom.deid import Pseudonym, deidentify_headers, make_pseudonym
from osteoimaging.dicom.level import LevelOutputs, level_outputs
from osteoimaging.dicom.pmap import build_parametric_map, read_parametric_map
from osteoimaging.dicom.seg import (
    SegmentInfo,
    build_segmentation,
    read_segmentation,
    roi_on_ct_grid,
    segment_infos,
)
from osteoimaging.dicom.source import DicomSource, read_dicom_source
from osteoimaging.dicom.sr import build_measurement_report, read_measurement_report

__all__ = [
    "DicomSource",
    "LevelOutputs",
    "Pseudonym",
    "SegmentInfo",
    "build_measurement_report",
    "build_parametric_map",
    "build_segmentation",
    "deidentify_headers",
    "level_outputs",
    "make_pseudonym",
    "read_dicom_source",
    "read_measurement_report",
    "read_parametric_map",
    "read_segmentation",
    "roi_on_ct_grid",
    "segment_infos",
    "write_case_dicom",
]
