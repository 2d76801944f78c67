"""Experiment 3: equal trabecular BMD, different focal defect (the paper's Figure 7).

Each pair shares Tb.Th and seed. Case A has uniform bone at BV/TV b; case B has a void
(an ellipsoid flattened along z, radius r in-plane) and BV/TV b / (1 − f) elsewhere, f
being the void's share of the ROI, so that both have the same bone mass in the ROI. The
focal measure should separate the pair while BMD does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from osteoimaging.focal import FocalParameters, measure_focal
from osteoimaging.phantoms import CTProtocol, FocalDefect, make_vertebra
from osteoimaging.progress import ProgressCallback, report
from studies.cases import (
    calibration_of,
    case_spec,
    defect_fraction_in_roi,
    scan,
)

BASE_BVTV = 0.12
TB_TH_MM = 0.15


def run_equal_bmd(
    radii_mm: tuple[float, ...] = (3.0, 4.5, 6.0),
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, pictures): one row per case; pictures hold axial slices for the figure."""
    rows: list[dict[str, Any]] = []
    pictures: list[dict[str, Any]] = []
    params = FocalParameters()
    for p, radius in enumerate(radii_mm):
        defect = FocalDefect((0.0, 0.0, 0.0), (radius, radius, 3.5), 0.0)
        probe = case_spec(BASE_BVTV, TB_TH_MM, [defect])
        f = defect_fraction_in_roi(probe, defect, params.erosion_mm)
        for label, bvtv, defects in (
            ("A", BASE_BVTV, []),
            ("B", BASE_BVTV / (1 - f), [defect]),
        ):
            report(progress, (2 * p + (label == "B")) / (2 * len(radii_mm)), f"pair {p + 1}")
            spec = case_spec(bvtv, TB_TH_MM, defects, seed=10_000 * seed + 900 + p)
            phantom = make_vertebra(spec)
            ct, mask = scan(phantom, CTProtocol(seed=10_000 * seed + 950 + 2 * p))
            result = measure_focal(ct, mask, calibration_of(spec), params)
            v = result.values
            rows.append(
                {
                    "pair": p + 1,
                    "case": label,
                    "defect_radius_mm": radius if defects else 0.0,
                    "defect_fraction_of_roi": f if defects else 0.0,
                    "bvtv_outside_defect": bvtv,
                    "focal_bmc_loss_mm": v["focal_bmc_loss_mm"],
                    "focal_bmd_loss": v["focal_bmd_loss"],
                    "intercept_width_mm": v["intercept_width_mm"],
                    "trabecular_bmd": v["trabecular_bmd"],
                }
            )
            k = int(np.argmin(np.abs(_z_of_slices(result.roi))))
            pictures.append(
                {
                    "pair": p + 1,
                    "case": label,
                    "bmd": result.maps["bmd"].array[k],
                    "hu": result.hu.array[k] if result.hu is not None else None,
                    "bmc": result.maps["focal_bmc_loss"].array[k],
                    "roi": result.roi.array[k],
                    "values": rows[-1],
                    "spacing": result.roi.spacing[0],
                }
            )
    report(progress, 1.0, "equal-BMD pairs done")
    return rows, pictures


def _z_of_slices(roi) -> np.ndarray:
    """Physical z (mm) of each axial slice centre of an axis-aligned analysis grid."""
    k = np.arange(roi.shape[0])
    return roi.origin[2] + roi.direction[2, 2] * roi.spacing[2] * k
