"""The paper's scale (issue 18): Table 3 of Li et al. against every reading of the method.

Li C, Ma C, Zhuo X, Li L, Li B, Li S, Lu WW. JOR Spine 2022;5(1):e1195, Table 3: focal BMC
loss 1.03 ± 0.13 vs 0.93 ± 0.11 mm, focal BMD loss 0.45 ± 0.03 vs 0.42 ± 0.03, intercept
width 1.95 ± 0.18 vs 1.87 ± 0.18 mm at trabecular BMD 77.65 ± 39.86 vs 124.41 ± 71.44
mg/cm³ (fracture cases vs controls; routine CT 0.4 × 0.4 mm, 1 mm thick, 0.7 mm increment,
B30s). This study measures, on simulated routine CT of that protocol (``CTProtocol()``)
at the two groups' BMD, and on the real scans of ``../shared/data/ct``:

* every reading of the half level and width (``FocalParameters.half_level``, ``width``),
  unsharp masking and no filter, and an uncalibrated (HU) run;
* for each, the case values and the arithmetic of the focal-BMD-loss scale: the mean void
  density the loss implies (tissue × (1 − loss)), the ratio BMC / (BMD loss × width) of the
  ROI means (Table 3 has 1.16–1.20 in every group; it is 1 when loss and width do not
  co-vary), and two ways of averaging that count missing values as 0 (orientations without
  a void, or ROI voxels without a value).

Run: ``PYTHONPATH=. python -m studies.paper_scale --out DIR`` (about 3 min on 2 cores);
``docs/method.md`` ("The scale of Table 3") holds its tables.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging.atomic import write_text
from osteoimaging.calibration import LinearCalibration
from osteoimaging.focal import FocalParameters, measure_focal
from osteoimaging.phantoms import CTProtocol, make_vertebra
from osteoimaging.volume import Volume
from studies.cases import calibration_of, case_spec, scan
from studies.tables import write_csv

#: Table 3 of the paper: (group, focal BMC loss mm, focal BMD loss, width mm, BMD) as mean, SD.
PAPER_TABLE3 = {
    "case": {
        "bmc": (1.03, 0.13),
        "loss": (0.45, 0.03),
        "width": (1.95, 0.18),
        "bmd": (77.65, 39.86),
    },
    "control": {
        "bmc": (0.93, 0.11),
        "loss": (0.42, 0.03),
        "width": (1.87, 0.18),
        "bmd": (124.41, 71.44),
    },
    "women case": {
        "bmc": (1.02, 0.12),
        "loss": (0.45, 0.02),
        "width": (1.92, 0.16),
        "bmd": (66.46, 33.13),
    },
    "women control": {
        "bmc": (0.94, 0.12),
        "loss": (0.43, 0.03),
        "width": (1.85, 0.18),
        "bmd": (102.64, 42.23),
    },
    "men case": {
        "bmc": (1.03, 0.16),
        "loss": (0.44, 0.03),
        "width": (1.98, 0.21),
        "bmd": (94.74, 43.54),
    },
    "men control": {
        "bmc": (0.92, 0.11),
        "loss": (0.41, 0.03),
        "width": (1.90, 0.18),
        "bmd": (160.37, 92.94),
    },
}
#: BV/TV of the simulated groups: the phantoms' BMD is 1200 × BV/TV (marrow 0 mg/cm³), so
#: these give the cases' and the controls' mean trabecular BMD (78 and 124 mg/cm³).
GROUPS = {"case": 77.65 / 1200, "control": 124.41 / 1200}
#: (label, FocalParameters changes, calibrated?)
READINGS: list[tuple[str, dict[str, Any], bool]] = [
    ("each side, full width (default)", {}, True),
    ("lower ridge", {"half_level": "lower_ridge"}, True),
    ("higher ridge", {"half_level": "higher_ridge"}, True),
    ("profile extremes", {"half_level": "profile_extrema"}, True),
    ("each side, half width", {"width": "half"}, True),
    ("lower ridge, half width", {"half_level": "lower_ridge", "width": "half"}, True),
    ("higher ridge, half width", {"half_level": "higher_ridge", "width": "half"}, True),
    ("profile extremes, half width", {"half_level": "profile_extrema", "width": "half"}, True),
    ("unsharp mask, amount 0.5", {"unsharp_amount": 0.5}, True),
    ("unsharp mask, amount 1", {"unsharp_amount": 1.0}, True),
    ("no filter (σ = 0)", {"sigma_mm": 0.0}, True),
    ("uncalibrated (HU against 1200 HU)", {}, False),
]


def scale_values(values: dict[str, Any], maps: dict[str, Volume], roi: np.ndarray) -> dict:
    """Case values plus the scale arithmetic of one measurement (see the module docstring)."""
    tissue = values["parameters"]["tissue_bmd"]
    loss, width, bmc = (
        values[k] for k in ("focal_bmd_loss", "intercept_width_mm", "focal_bmc_loss_mm")
    )
    count = maps["coverage"].array[roi].astype(float)
    n_orient = values["n_orientations"]
    out = {
        "focal_bmc_loss_mm": bmc,
        "focal_bmd_loss": loss,
        "intercept_width_mm": width,
        "trabecular_bmd": values["trabecular_bmd"],
        "void_coverage": values["void_coverage"],
        "implied_void_bmd": tissue * (1.0 - loss),
        "ratio_bmc_to_product": bmc / (loss * width),
        "orientations_with_void": float(count[count > 0].mean() / n_orient),
    }
    for name, key in (
        ("loss", "focal_bmd_loss"),
        ("width", "intercept_width"),
        ("bmc", "focal_bmc_loss"),
    ):
        a = maps[key].array[roi].astype(float)
        zero_voxel = np.where(np.isfinite(a), a, 0.0)
        out[f"{name}_zero_voxels"] = float(zero_voxel.mean())
        out[f"{name}_zero_orientations"] = float((zero_voxel * count / n_orient).mean())
    out["ratio_zero_voxels"] = out["bmc_zero_voxels"] / (
        out["loss_zero_voxels"] * out["width_zero_voxels"]
    )
    out["ratio_zero_orientations"] = out["bmc_zero_orientations"] / (
        out["loss_zero_orientations"] * out["width_zero_orientations"]
    )
    return out


def measure_readings(
    ct: Volume, mask: Volume, calibration: LinearCalibration | None, source: str
) -> list[dict]:
    rows = []
    for label, changes, calibrated in READINGS:
        params = FocalParameters(**changes)
        result = measure_focal(ct, mask, calibration if calibrated else None, params)
        row = scale_values(result.values, result.maps, result.roi.array)
        rows.append(
            {"source": source, "reading": label, **row, "runtime_s": result.values["runtime_s"]}
        )
    return rows


def _line_voids(bmd: np.ndarray, roi: np.ndarray, xyz: np.ndarray, d: np.ndarray, step: float):
    """The inside-ROI profile through voxel ``xyz`` along ``d`` (samples ``step`` voxels
    apart, trilinear) and the index of the voxel's own sample in it."""
    import scipy.ndimage as ndi

    m = int(np.ceil(sum(roi.shape) / step)) + 2
    pts = xyz[None, :] + (np.arange(-m, m + 1) * step)[:, None] * d[None, :]
    idx = np.floor(pts + 0.5).astype(int)
    ok = np.all((idx >= 0) & (idx < np.array(roi.shape[::-1])), axis=1)
    inside = np.zeros(len(pts), bool)
    inside[ok] = roi[idx[ok, 2], idx[ok, 1], idx[ok, 0]]
    lo = hi = m
    while lo > 0 and inside[lo - 1]:
        lo -= 1
    while hi + 1 < len(pts) and inside[hi + 1]:
        hi += 1
    seg = pts[lo : hi + 1]
    prof = ndi.map_coordinates(bmd, [seg[:, 2], seg[:, 1], seg[:, 0]], order=1, mode="nearest")
    return prof, m - lo


def relative_depth(result, calibration, n_voxels: int = 300, seed: int = 0) -> dict[str, float]:
    """Focal BMD loss with a per-void reference density instead of 1200 mg/cm³: the mean of
    the void's two ridges, (ridge − BMD_i)/ridge — not the paper's words, a check of what
    scale its numbers have. Per-voxel definition (the line through the voxel centre) on
    ``n_voxels`` random ROI voxels; the 1200 reading alongside on the same voxels."""
    from osteoimaging.focal import profiles
    from osteoimaging.focal.filters import smooth
    from osteoimaging.focal.starlines import directions

    params = result.parameters
    roi = result.roi.array
    bmd = calibration.apply(smooth(result.hu.array, params.spacing_mm, params.sigma_mm))
    bmd = bmd.astype(np.float64)
    step = params.sample_step_mm / params.spacing_mm
    vox = np.argwhere(roi)
    vox = vox[np.random.default_rng(seed).choice(len(vox), n_voxels, replace=False)]
    acc = {k: [] for k in ("w", "l1200", "lridge", "b1200", "bridge")}
    for z, y, x in vox:
        per = {k: [] for k in acc}
        for d in directions(params):
            prof, c = _line_voids(bmd, roi, np.array([x, y, z], float), d, step)
            void = profiles.void_at(profiles.find_voids(prof), c)
            if void is None:
                continue
            idx = np.arange(int(np.ceil(void.left)), int(np.floor(void.right)) + 1)
            ridge = 0.5 * (void.left_ridge + void.right_ridge)
            w = void.width(params.sample_step_mm)
            l1200 = float(np.mean((1200.0 - prof[idx]) / 1200.0))
            lridge = float(np.mean((ridge - prof[idx]) / ridge))
            for k, v in (("w", w), ("l1200", l1200), ("lridge", lridge)):
                per[k].append(v)
            per["b1200"].append(w * l1200)
            per["bridge"].append(w * lridge)
        if per["w"]:
            for k in acc:
                acc[k].append(np.mean(per[k]))
    m = {k: float(np.mean(v)) for k, v in acc.items()}
    return {
        "voxels": len(acc["w"]),
        "width_mm": m["w"],
        "loss_1200": m["l1200"],
        "ratio_1200": m["b1200"] / (m["l1200"] * m["w"]),
        "loss_ridge": m["lridge"],
        "bmc_ridge_mm": m["bridge"],
        "ratio_ridge": m["bridge"] / (m["lridge"] * m["w"]),
    }


def psf_rows(seeds: int = 3, fwhms=(0.7, 1.0, 1.3), tb_th_mm: float = 0.16) -> list[dict]:
    """The default reading on the groups' phantoms scanned with a broader in-plane PSF
    (the paper's B30s kernel's PSF is not stated; ``CTProtocol`` models 0.7 mm FWHM)."""
    rows = []
    for group, bvtv in GROUPS.items():
        for seed in range(seeds):
            spec = case_spec(bvtv, tb_th_mm, seed=1800 + seed)
            phantom = make_vertebra(spec)
            for fwhm in fwhms:
                ct, mask = scan(phantom, CTProtocol(seed=seed + 1, fwhm_inplane_mm=fwhm))
                result = measure_focal(ct, mask, calibration_of(spec), FocalParameters())
                row = scale_values(result.values, result.maps, result.roi.array)
                rows.append({"group": group, "seed": seed, "fwhm_inplane_mm": fwhm, **row})
    return rows


def psf_md(rows: list[dict]) -> str:
    keys = ["intercept_width_mm", "focal_bmd_loss", "focal_bmc_loss_mm", "ratio_bmc_to_product"]
    lines = ["| in-plane FWHM (mm) | group | " + " | ".join(keys) + " |", "|---" * 6 + "|"]
    for fwhm in sorted({r["fwhm_inplane_mm"] for r in rows}):
        for group in GROUPS:
            sel = [r for r in rows if r["group"] == group and r["fwhm_inplane_mm"] == fwhm]
            cells = " | ".join(f"{_mean(sel, k):.3f}" for k in keys)
            lines.append(f"| {fwhm} | {group} | {cells} |")
    return "\n".join(lines) + "\n"


def simulated_depth_rows(seeds: int = 3, tb_th_mm: float = 0.16, n_voxels: int = 300) -> list:
    """:func:`relative_depth` on the simulated groups (default reading)."""
    rows = []
    for group, bvtv in GROUPS.items():
        for seed in range(seeds):
            spec = case_spec(bvtv, tb_th_mm, seed=1800 + seed)
            ct, mask = scan(make_vertebra(spec), CTProtocol(seed=seed + 1))
            cal = calibration_of(spec)
            result = measure_focal(ct, mask, cal, FocalParameters())
            depth = relative_depth(result, cal, n_voxels, seed)
            rows.append(
                {"group": group, "seed": seed, "bmd": result.values["trabecular_bmd"], **depth}
            )
    return rows


def simulated_rows(seeds: int = 3, tb_th_mm: float = 0.16) -> list[dict]:
    """Every reading on ``seeds`` phantoms per group at the groups' mean BMD."""
    rows = []
    for group, bvtv in GROUPS.items():
        for seed in range(seeds):
            spec = case_spec(bvtv, tb_th_mm, seed=1800 + seed)
            ct, mask = scan(make_vertebra(spec), CTProtocol(seed=seed + 1))
            for row in measure_readings(ct, mask, calibration_of(spec), f"{group} {seed}"):
                rows.append({"group": group, "seed": seed, **row})
    return rows


def real_rows(data_root: Path) -> list[dict]:
    """Every reading on the real scans (the L1 of the 3 mm example CT, the T12 of the DICOM
    series, the VerSe L2 in mg/cm³ K2HPO4); scanner axes, no calibration (none in view)."""
    from studies.real_scans import SCANS

    rows = []
    for name, loader in SCANS.items():
        try:
            ct, mask, _ = loader(data_root / "ct")
        except (OSError, ValueError) as exc:
            print(f"{name}: skipped ({exc})")
            continue
        for row in measure_readings(ct, mask, None, name):
            rows.append({"group": "real", **row})
    return rows


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def readings_md(rows: list[dict], sources: list[str]) -> str:
    """One line per reading: width, BMD loss, BMC loss (and ratio) per source group."""
    head = "| reading | " + " | ".join(
        f"{s}: width (mm) | {s}: BMD loss | {s}: BMC loss (mm) | {s}: ratio" for s in sources
    )
    lines = [head + " |", "|---" * (1 + 4 * len(sources)) + "|"]
    for label, _, _ in READINGS:
        cells = [label]
        for s in sources:
            sel = [r for r in rows if r["reading"] == label and r["group_or_source"] == s]
            if not sel:
                cells += ["—"] * 4
                continue
            cells += [
                f"{_mean(sel, 'intercept_width_mm'):.2f}",
                f"{_mean(sel, 'focal_bmd_loss'):.3f}",
                f"{_mean(sel, 'focal_bmc_loss_mm'):.2f}",
                f"{_mean(sel, 'ratio_bmc_to_product'):.3f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: Columns of the scale table: (heading, row key, format).
SCALE_COLUMNS = [
    ("BMD (mg/cm³)", "trabecular_bmd", ".1f"),
    ("focal BMD loss", "focal_bmd_loss", ".3f"),
    ("implied void BMD (mg/cm³)", "implied_void_bmd", ".0f"),
    ("width (mm)", "intercept_width_mm", ".2f"),
    ("BMC loss (mm)", "focal_bmc_loss_mm", ".2f"),
    ("ratio BMC/(loss × width)", "ratio_bmc_to_product", ".3f"),
    ("orientations with a void", "orientations_with_void", ".2f"),
    ("zero orientations: loss", "loss_zero_orientations", ".3f"),
    ("width", "width_zero_orientations", ".2f"),
    ("ratio", "ratio_zero_orientations", ".2f"),
    ("zero voxels: loss", "loss_zero_voxels", ".3f"),
    ("width", "width_zero_voxels", ".2f"),
    ("ratio", "ratio_zero_voxels", ".2f"),
]


def scale_md(rows: list[dict]) -> str:
    """The default reading's scale arithmetic per simulated group, beside Table 3."""
    lines = [
        "| group | " + " | ".join(h for h, _, _ in SCALE_COLUMNS) + " |",
        "|---" * (1 + len(SCALE_COLUMNS)) + "|",
    ]
    for group in GROUPS:
        sel = [r for r in rows if r.get("group") == group and r["reading"] == READINGS[0][0]]
        cells = [format(_mean(sel, key), fmt) for _, key, fmt in SCALE_COLUMNS]
        lines.append(f"| {group}, ours | " + " | ".join(cells) + " |")
        p = {k: v[0] for k, v in PAPER_TABLE3[group].items()}
        paper = {
            "trabecular_bmd": p["bmd"],
            "focal_bmd_loss": p["loss"],
            "implied_void_bmd": 1200 * (1 - p["loss"]),
            "intercept_width_mm": p["width"],
            "focal_bmc_loss_mm": p["bmc"],
            "ratio_bmc_to_product": p["bmc"] / (p["loss"] * p["width"]),
        }
        cells = [format(paper[key], fmt) if key in paper else "" for _, key, fmt in SCALE_COLUMNS]
        lines.append(f"| {group}, paper | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def depth_md(rows: list[dict]) -> str:
    keys = [
        "bmd",
        "width_mm",
        "loss_1200",
        "ratio_1200",
        "loss_ridge",
        "bmc_ridge_mm",
        "ratio_ridge",
    ]
    lines = ["| group | voxels | " + " | ".join(keys) + " |", "|---" * (2 + len(keys)) + "|"]
    for group in GROUPS:
        sel = [r for r in rows if r["group"] == group]
        n = sum(r["voxels"] for r in sel)
        lines.append(
            f"| {group} | {n} | " + " | ".join(f"{_mean(sel, k):.3f}" for k in keys) + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seeds", type=int, default=3, help="phantoms per group [3]")
    parser.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data")
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    depth = simulated_depth_rows(args.seeds)
    write_csv(out / "paper_scale_ridge_reference.csv", depth)
    psf = psf_rows(args.seeds)
    write_csv(out / "paper_scale_psf.csv", psf)
    rows = simulated_rows(args.seeds)
    rows += real_rows(Path(args.data))
    for r in rows:
        r["group_or_source"] = r["group"] if r["group"] != "real" else r["source"]
    write_csv(out / "paper_scale.csv", rows)
    sources = list(GROUPS) + sorted({r["source"] for r in rows if r["group"] == "real"})
    md = [
        "## Readings (simulated groups: mean of the phantoms; real scans)",
        readings_md(rows, sources),
        "## Scale of the focal BMD loss (default reading) beside Table 3",
        scale_md(rows),
        "## The default reading with a broader in-plane PSF",
        psf_md(psf),
        "## A per-void reference density (the mean of the void's ridges), per-voxel definition",
        depth_md(depth),
        f"Run time {time.perf_counter() - t0:.0f} s.\n",
    ]
    write_text(out / "paper_scale.md", "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
