"""Experiment 4: how the case values move with each setting of the method and the scanner.

Three subjects (BV/TV 0.08, 0.15, 0.25, Tb.Th 0.15 mm, one 4 mm void) are measured with
the paper's settings (``FocalParameters()`` on ``CTProtocol()``) and again with one setting
changed at a time. A change is reported as the mean over subjects of the difference
from the base value, in % of the base and in units of the between-subject SD (of the
microarchitecture cohort when given): |Δ| ≥ 0.5 SD means the setting changes what the
measure says about a patient relative to others, so it must be held fixed in a study.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from osteoimaging.focal import FocalParameters
from osteoimaging.phantoms import CTProtocol, FocalDefect, make_vertebra
from osteoimaging.progress import ProgressCallback, report
from studies.cases import calibration_of, case_spec, scan
from studies.measure import focal_values
from studies.paper import MEASURES

#: (name, value, FocalParameters changes, CTProtocol changes)
SETTINGS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("angle step", "6°", {"angle_step_deg": 6.0}, {}),
    ("angle step", "20°", {"angle_step_deg": 20.0}, {}),
    ("angle step", "30°", {"angle_step_deg": 30.0}, {}),
    ("resampling grid", "0.2 mm", {"spacing_mm": 0.2}, {}),
    ("resampling grid", "0.4 mm", {"spacing_mm": 0.4}, {}),
    ("resampling grid", "0.5 mm", {"spacing_mm": 0.5}, {}),
    ("mask resampling", "distance map", {"mask_resampling": "distance"}, {}),
    ("Gaussian σ", "0 (none)", {"sigma_mm": 0.0}, {}),
    ("Gaussian σ", "0.6 mm", {"sigma_mm": 0.6}, {}),
    ("unsharp mask", "amount 1", {"unsharp_amount": 1.0}, {}),
    ("erosion", "4 mm", {"erosion_mm": 4.0}, {}),
    ("erosion", "8 mm", {"erosion_mm": 8.0}, {}),
    ("min valley depth", "50 mg/cm³", {"min_valley_depth": 50.0}, {}),
    ("aggregation", "line", {"aggregation": "line"}, {}),
    ("noise", "10 HU", {}, {"noise_hu": 10.0}),
    ("noise", "30 HU", {}, {"noise_hu": 30.0}),
    ("in-plane PSF", "FWHM 0.6 mm", {}, {"fwhm_inplane_mm": 0.6}),
    ("in-plane PSF", "FWHM 0.8 mm", {}, {"fwhm_inplane_mm": 0.8}),
    (
        "slice thickness",
        "2 mm (1 mm spacing)",
        {},
        {"slice_thickness_mm": 2.0, "spacing_mm": (0.4, 0.4, 1.0)},
    ),
    (
        "slice thickness",
        "3 mm (1.5 mm spacing)",
        {},
        {"slice_thickness_mm": 3.0, "spacing_mm": (0.4, 0.4, 1.5)},
    ),
]
SUBJECT_BVTV = (0.08, 0.15, 0.25)


def run_sensitivity(
    seed: int = 0,
    between_sd: dict[str, float] | None = None,
    settings: list | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(raw rows per subject and setting, summary rows per setting)."""
    settings = SETTINGS if settings is None else settings
    raw: list[dict[str, Any]] = []
    n_steps = len(SUBJECT_BVTV) * (len(settings) + 1)
    step = 0
    for s, bvtv in enumerate(SUBJECT_BVTV):
        spec = case_spec(
            bvtv, 0.15, [FocalDefect((2.0, -1.0, 0.0), (4.0, 4.0, 4.0))], 10_000 * seed + 700 + s
        )
        phantom = make_vertebra(spec)
        base_protocol = CTProtocol(seed=10_000 * seed + 800 + s)
        base_scan = scan(phantom, base_protocol)
        cal = calibration_of(spec)
        for name, value, pchanges, cchanges in [("base", "paper defaults", {}, {}), *settings]:
            report(progress, step / n_steps, f"subject {s + 1}: {name} {value}")
            step += 1
            ct, mask = scan(phantom, replace(base_protocol, **cchanges)) if cchanges else base_scan
            values = focal_values(ct, mask, cal, FocalParameters(**pchanges))
            raw.append({"subject": s + 1, "bvtv": bvtv, "setting": name, "value": value, **values})
    report(progress, 1.0, "sensitivity summary")
    return raw, summarise(raw, between_sd)


def summarise(
    raw: list[dict[str, Any]], between_sd: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    base = {r["subject"]: r for r in raw if r["setting"] == "base"}
    if between_sd is None:
        between_sd = {m: float(np.std([b[m] for b in base.values()], ddof=1)) for m in MEASURES}
    out = []
    keys = list(dict.fromkeys((r["setting"], r["value"]) for r in raw if r["setting"] != "base"))
    for name, value in keys:
        rows = [r for r in raw if (r["setting"], r["value"]) == (name, value)]
        entry: dict[str, Any] = {"setting": name, "value": value}
        for m in MEASURES:
            d = np.array([r[m] - base[r["subject"]][m] for r in rows])
            rel = np.array([(r[m] / base[r["subject"]][m] - 1) * 100 for r in rows])
            entry[f"{m}_delta_pct"] = float(rel.mean())
            entry[f"{m}_delta_sd"] = float(d.mean() / between_sd[m]) if between_sd[m] else np.nan
        entry["runtime_s"] = float(np.mean([r["runtime_s"] for r in rows]))
        out.append(entry)
    return out
