"""CSV and Markdown tables of the experiments (written atomically)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from osteoimaging.atomic import write_text
from studies.paper import LABELS


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


def columns_md(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, Any]]) -> str:
    """A Markdown table from (header, key or function of the row) column specs."""
    header = [h for h, _ in columns]
    body = [[get(r) if callable(get) else r[get] for _, get in columns] for r in rows]
    return markdown(header, body)


def reproducibility_md(summary: list[dict[str, Any]]) -> str:
    return columns_md(
        summary,
        [
            ("measure", lambda s: LABELS[s["measure"]]),
            ("mean", "mean"),
            ("RMSSD", "rmssd"),
            ("LSC", "lsc"),
            ("RMS-CV %", "rms_cv_percent"),
            ("bias", "bias"),
            ("95% LoA", lambda s: f"{fmt(s['loa_low'])} … {fmt(s['loa_high'])}"),
            ("ICC(2,1)", "icc_2_1"),
            ("ICC(3,1)", "icc_3_1"),
            ("paper ICC", "paper_icc"),
            ("paper RMSSD", "paper_rmssd"),
        ],
    )


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
    return columns_md(
        rows,
        [
            ("pair", "pair"),
            ("case", "case"),
            ("void radius (mm)", "defect_radius_mm"),
            ("void share of ROI", "defect_fraction_of_roi"),
            ("BV/TV outside void", "bvtv_outside_defect"),
            ("BMD (mg/cm³)", "trabecular_bmd"),
            ("focal BMC loss (mm)", "focal_bmc_loss_mm"),
            ("focal BMD loss", "focal_bmd_loss"),
            ("intercept width (mm)", "intercept_width_mm"),
        ],
    )


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
            "trabecular_bmd",
        ):
            row += [f"{s[f'{m}_delta_pct']:+.1f}", f"{s[f'{m}_delta_sd']:+.2f}"]
        row.append(s["runtime_s"])
        body.append(row)
    return markdown(header, body)


def microct_md(table: list[dict[str, Any]]) -> str:
    t = table[0]
    head = (
        f"Truth (local thickness, original cube): BV/TV {t['bvtv']:.3f}, Tb.Th "
        f"{t['tb_th_mm']:.3f} mm, Tb.Sp {t['tb_sp_mm']:.3f} mm, Tb.N {t['tb_n_per_mm']:.3f}/mm\n\n"
    )
    return head + columns_md(
        table,
        [
            ("measure", lambda r: LABELS[r["measure"]]),
            ("mean of 2 scans", "mean"),
            ("rescan − scan", "rescan_minus_scan"),
            ("cohort line at its BV/TV", "predicted_from_bvtv"),
            ("residual (SD)", "residual_sd_bvtv"),
            ("cohort line at its Tb.Sp", "predicted_from_tb_sp_mm"),
            ("residual (SD) ", "residual_sd_tb_sp_mm"),
        ],
    )


REAL_COLUMNS = [
    ("scan", "scan"),
    ("grid", "ct"),
    ("values in", "values_units"),
    ("mask (ml)", "mask_ml"),
    ("ROI voxels", "roi_voxels"),
    ("BMD", "trabecular_bmd"),
    ("focal BMC loss (mm)", "focal_bmc_loss_mm"),
    ("focal BMD loss", "focal_bmd_loss"),
    ("intercept width (mm)", "intercept_width_mm"),
    ("void coverage", "void_coverage"),
    ("s", "runtime_s"),
]


def real_scans_md(rows: list[dict[str, Any]]) -> str:
    """Measured scans in full; skipped ones with their reason."""
    filled = [
        r
        if r.get("status") == "ok"
        else {k: "—" for _, k in REAL_COLUMNS} | {"scan": r["scan"], "ct": r.get("status", "")}
        for r in rows
    ]
    return columns_md(filled, REAL_COLUMNS)
