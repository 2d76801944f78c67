"""Experiment 5: the full pipeline on the real CTs in ../shared/data/ct (see its README).

* ``totalseg-example`` L1 (label 20 ∩ vertebral body 1) — 3 mm voxels, far coarser than
  the method's 0.3 mm grid: the trabecular pattern is not resolved; shown as the caveat.
* ``totalseg-dicom`` T12 (label 32 of a TotalSegmentator label map whose y axis is flipped
  against the DICOM grid: ``read_mask(..., resample=True)`` puts it on the CT grid) — the
  whole vertebra label (no body/posterior split), partly outside the 20-slice field.
* ``verse004-L2`` — values already in mg/cm³ K2HPO4: ``check_hu=False`` and identity
  calibration; mask = trabecular body ∪ cortical shell (labels 1, 2).

No scan has a calibration phantom, so the HU scans run uncalibrated (``"calibration":
"none"``): BMD and focal BMD loss are then in HU, not mg/cm³. Each scan goes through the
one case pipeline (:func:`osteoimaging.case.measure_case`, scanner axes as in the first
runs of this study) and its writer, so the rows carry the quality flags a user would see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging.case import BodySource, CaseRequest, measure_case
from osteoimaging.case.outputs import write_case_outputs
from osteoimaging.errors import InputError
from osteoimaging.imageio import read_image
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, report
from osteoimaging.validation import mask_from_label, read_ct, read_mask
from osteoimaging.volume import Volume
from studies.cases import FOCAL_KEYS


def _totalseg_l1(root: Path) -> tuple[Volume, Volume, str]:
    folder = root / "totalseg-example"
    ct = read_ct(folder / "example_ct.nii.gz")
    levels = read_mask(folder / "totalseg_vertebrae_pp_refined.nii.gz", ct, label=20)
    body = read_mask(folder / "totalseg_vertebrae_body.nii.gz", ct, label=1)
    return ct, levels.with_array(levels.array & body.array), "HU (no calibration)"


def _dicom_t12(root: Path) -> tuple[Volume, Volume, str]:
    folder = root / "totalseg-dicom"
    ct = read_ct(folder / "series")
    mask = read_mask(folder / "example_seg_dicom.nii.gz", ct, label=32, resample=True)
    return ct, mask, "HU (no calibration)"


def _verse_l2(root: Path) -> tuple[Volume, Volume, str]:
    folder = root / "verse004-L2"
    ct = read_ct(folder / "sub-verse004_0000_vertebra_21_im.nii.gz", check_hu=False)
    labels = read_image(folder / "sub-verse004_0000_vertebra_21_seg.nii.gz")
    body = mask_from_label(labels.with_array(np.isin(labels.array, (1, 2))), None)
    return ct, body, "mg/cm³ K2HPO4 (calibrated at source)"


SCANS = {
    "totalseg_l1_3mm": _totalseg_l1,
    "dicom_t12": _dicom_t12,
    "verse_l2": _verse_l2,
}


def run_real_scans(
    data_root: str | Path, out_dir: str | Path, progress: ProgressCallback | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Measure each available scan; write its maps, overlay and report under ``out_dir``.

    Returns (rows, pictures): the case values and a mid-ROI axial slice of each scan.
    """
    root = Path(data_root)
    rows: list[dict[str, Any]] = []
    pictures: list[dict[str, Any]] = []
    for n, (name, loader) in enumerate(SCANS.items()):
        report(progress, n / len(SCANS), name)
        try:
            ct, mask, units = loader(root)
        except (InputError, FileNotFoundError) as exc:
            logger.warning("real scan %s skipped: %s", name, exc)
            rows.append({"scan": name, "status": f"skipped: {exc}"})
            continue
        calibrated = units.startswith("mg/cm³")
        request = CaseRequest(
            ct,
            [BodySource(mask=mask, description=name)],
            input_units="mg/cm3" if calibrated else "HU",
            material="K2HPO4" if calibrated else None,
            align="none",
            input_name=name,
        )
        case = measure_case(request)
        level = case.levels[0]
        result = level.focal
        write_case_outputs(case, Path(out_dir) / name)
        paths = {"overlay": Path(out_dir) / name / level.name / "overlay.png"}
        inside = mask.array.astype(bool)
        rows.append(
            {
                "scan": name,
                "status": "ok",
                "ct": ct.describe(),
                "values_units": units,
                "mask_ml": float(inside.sum() * ct.voxel_volume_mm3 / 1000),
                "mask_median_value": float(np.median(ct.array[inside])),
                **{k: result.values[k] for k in FOCAL_KEYS},
                "qc_flags": level.row["qc_flags"],
                "runtime_s": result.values["runtime_s"],
                "overlay": str(paths.get("overlay", "")),
            }
        )
        k = int(np.round(np.argwhere(result.roi.array)[:, 0].mean()))
        pictures.append(
            {
                "scan": name,
                "hu": result.hu.array[k] if result.hu is not None else result.maps["bmd"].array[k],
                "bmc": result.maps["focal_bmc_loss"].array[k],
                "roi": result.roi.array[k],
                "focal_bmc_loss_mm": result.values["focal_bmc_loss_mm"],
            }
        )
    report(progress, 1.0, "real scans done")
    return rows, pictures
