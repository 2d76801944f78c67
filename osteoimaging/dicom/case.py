"""All DICOM outputs of one case: SEG, Parametric Maps and the TID 1500 SR."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pydicom.dataset import Dataset

from osteoimaging.atomic import atomic_path
from osteoimaging.dicom.deid import deidentify_headers, make_pseudonym
from osteoimaging.dicom.level import LevelOutputs
from osteoimaging.dicom.pmap import build_parametric_map
from osteoimaging.dicom.seg import build_segmentation, segment_infos
from osteoimaging.dicom.source import DicomSource
from osteoimaging.dicom.sr import build_measurement_report
from osteoimaging.errors import InputError
from osteoimaging.log import logger

SEG_SERIES, SR_SERIES, PM_SERIES = 901, 902, 910


def _save(dataset: Dataset, path: Path) -> Path:
    with atomic_path(path, suffix=".dcm") as tmp:
        dataset.save_as(tmp, enforce_file_format=True)
    return path


def write_case_dicom(
    source: DicomSource,
    levels: Sequence[LevelOutputs],
    out_dir: str | Path,
    *,
    deidentify: bool = False,
    patient_id: str | None = None,
    patient_name: str | None = None,
    date_shift_days: int | None = None,
    series_description: str = "OsteoImaging",
) -> dict[str, Path]:
    """Write ``seg.dcm``, ``pm_<level>_<map>.dcm`` per level and map, and ``sr.dcm``.

    Every object belongs to the source study, references the source series (and the SR
    the SEG) and lies in its frame of reference, with new series and instance UIDs.
    Patient and study attributes are copied from the source; with ``deidentify`` they
    are replaced as :mod:`osteoimaging.dicom.deid` describes (pseudonym ``patient_id``/
    ``patient_name`` from the caller or random; dates removed, or shifted by
    ``date_shift_days``). All objects are built before any file is written; each file
    is written atomically. Returns {"seg": …, "sr": …, "pm_T12_focal_bmc_loss": …}.
    """
    levels = list(levels)
    if not levels:
        raise InputError("no level to write")
    if not deidentify and (patient_id, patient_name, date_shift_days) != (None, None, None):
        raise InputError("patient_id, patient_name and date_shift_days need deidentify=True")
    if deidentify:
        pseudonym = make_pseudonym(patient_id, patient_name)
        source = replace(
            source,
            datasets=deidentify_headers(
                source.datasets, pseudonym, date_shift_days=date_shift_days
            ),
        )
    infos = segment_infos(levels)
    names = ", ".join(lv.level for lv in levels)
    seg = build_segmentation(
        source,
        levels,
        infos,
        series_number=SEG_SERIES,
        series_description=f"{series_description} SEG {names}"[:64],
    )
    objects: dict[str, Dataset] = {"seg": seg}
    number = PM_SERIES
    for lv in levels:
        for name, volume in lv.maps.items():
            objects[f"pm_{lv.level}_{name}"] = build_parametric_map(
                source,
                volume,
                name,
                level=lv.level,
                series_number=number,
                series_description=f"{series_description} {lv.level} {name}"[:64],
            )
            number += 1
    objects["sr"] = build_measurement_report(
        source,
        seg,
        levels,
        infos,
        series_number=SR_SERIES,
        series_description=f"{series_description} measurements {names}"[:64],
    )
    out = Path(out_dir)
    paths = {key: _save(ds, out / f"{key}.dcm") for key, ds in objects.items()}
    logger.info("wrote %d DICOM objects (%s) to %s", len(paths), names, out)
    return paths
