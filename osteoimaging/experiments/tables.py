"""CSV and Markdown tables of the experiments (written atomically)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from osteoimaging.atomic import write_text
from osteoimaging.experiments.paper import LABELS


def write_csv(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """All rows; columns are the union of the keys in first-seen order."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _csv_value(r.get(k)) for k in columns})
    return write_text(path, buf.getvalue())


def _csv_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return ""
    if isinstance(v, tuple | list):
        return " ".join(f"{x:.3g}" if isinstance(x, float) else str(x) for x in v)
    return v


def fmt(v: Any, digits: int = 3) -> str:
    """A number to ``digits`` significant digits; '—' for None/NaN."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, int | float):
        return f"{v:.{digits}g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


def markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def reproducibility_md(summary: list[dict[str, Any]]) -> str:
    header = [
        "measure",
        "mean",
        "RMSSD",
        "LSC",
        "RMS-CV %",
        "bias",
        "95% LoA",
        "ICC(2,1)",
        "ICC(3,1)",
        "paper ICC",
        "paper RMSSD",
    ]
    rows = [
        [
            LABELS[s["measure"]],
            s["mean"],
            s["rmssd"],
            s["lsc"],
            s["rms_cv_percent"],
            s["bias"],
            f"{fmt(s['loa_low'])} … {fmt(s['loa_high'])}",
            s["icc_2_1"],
            s["icc_3_1"],
            s["paper_icc"],
            s["paper_rmssd"],
        ]
        for s in summary
    ]
    return markdown(header, rows)


def correlation_md(corr: list[dict[str, Any]]) -> str:
    indices = list(dict.fromkeys(c["index"] for c in corr))
    measures = list(dict.fromkeys(c["measure"] for c in corr))
    header = ["measure"] + [f"vs {LABELS[i]}: r [95% CI] (paper \\|r\\|)" for i in indices]
    rows = []
    for m in measures:
        row: list[Any] = [LABELS[m]]
        for i in indices:
            c = next(c for c in corr if c["measure"] == m and c["index"] == i)
            paper = (
                fmt(c["paper_abs_r"], 2)
                if c["paper_abs_r"] is not None
                else ("poor" if c["paper_reported"] else "n/a")
            )
            row.append(f"{c['r']:+.2f} [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}] ({paper})")
        rows.append(row)
    return markdown(header, rows)


def cohort_ranges_md(rows: list[dict[str, Any]], keys: Sequence[str]) -> str:
    out = []
    for k in keys:
        vals = [r[k] for r in rows]
        out.append([LABELS.get(k, k), min(vals), sum(vals) / len(vals), max(vals)])
    return markdown(["quantity", "min", "mean", "max"], out)


def equal_bmd_md(rows: list[dict[str, Any]]) -> str:
    header = [
        "pair",
        "case",
        "void radius (mm)",
        "void share of ROI",
        "BV/TV outside void",
        "BMD (mg/cm³)",
        "focal BMC loss (mm)",
        "focal BMD loss",
        "intercept width (mm)",
    ]
    body = [
        [
            r["pair"],
            r["case"],
            r["defect_radius_mm"],
            r["defect_fraction_of_roi"],
            r["bvtv_outside_defect"],
            r["trabecular_bmd_mg_cm3"],
            r["focal_bmc_loss_mm"],
            r["focal_bmd_loss"],
            r["intercept_width_mm"],
        ]
        for r in rows
    ]
    return markdown(header, body)


def sensitivity_md(summary: list[dict[str, Any]]) -> str:
    header = [
        "setting",
        "value",
        "BMC loss Δ%",
        "BMC loss Δ/SD",
        "BMD loss Δ%",
        "BMD loss Δ/SD",
        "width Δ%",
        "width Δ/SD",
        "BMD Δ%",
        "BMD Δ/SD",
        "s/case",
    ]
    body = []
    for s in summary:
        row: list[Any] = [s["setting"], s["value"]]
        for m in (
            "focal_bmc_loss_mm",
            "focal_bmd_loss",
            "intercept_width_mm",
            "trabecular_bmd_mg_cm3",
        ):
            row += [f"{s[f'{m}_delta_pct']:+.1f}", f"{s[f'{m}_delta_sd']:+.2f}"]
        row.append(s["runtime_s"])
        body.append(row)
    return markdown(header, body)


def real_scans_md(rows: list[dict[str, Any]]) -> str:
    header = [
        "scan",
        "grid",
        "values in",
        "mask (ml)",
        "ROI voxels",
        "BMD",
        "focal BMC loss (mm)",
        "focal BMD loss",
        "intercept width (mm)",
        "void coverage",
        "s",
    ]
    body = []
    for r in rows:
        if r.get("status") != "ok":
            body.append([r["scan"], r.get("status", "")] + ["—"] * 9)
            continue
        body.append(
            [
                r["scan"],
                r["ct"],
                r["values_units"],
                r["mask_ml"],
                r["roi_voxels"],
                r["trabecular_bmd_mg_cm3"],
                r["focal_bmc_loss_mm"],
                r["focal_bmd_loss"],
                r["intercept_width_mm"],
                r["void_coverage"],
                r["runtime_s"],
            ]
        )
    return markdown(header, body)
