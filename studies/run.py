"""``run_all``: every experiment, its tables (CSV + Markdown) and figures, in one folder.

Layout of ``out``: ``tables/*.csv``, ``tables.md`` (all Markdown tables, ready for
``docs/validation-experiments.md``), ``figures/validation_*.png``, ``real/<scan>/`` (maps,
overlay, report of each real scan), ``summary.json``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging.atomic import write_json, write_text
from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, sub_progress
from studies import COHORTS, EXPERIMENTS, REAL_DATA, SCALE_NAMES, plots, tables
from studies.cases import BODY_MM
from studies.equal_bmd import run_equal_bmd
from studies.microarchitecture_study import coupling, run_microarchitecture
from studies.microct_texture import microct_summary, run_microct_texture
from studies.paper import MEASURES
from studies.real_scans import run_real_scans
from studies.reproducibility import run_reproducibility
from studies.sensitivity import run_sensitivity

SCALES: dict[str, dict[str, Any]] = {
    "full": {
        "pairs": 21,
        "rois": 27,
        "radii": (3.0, 4.5, 6.0),
        "sensitivity": None,
        "body_mm": BODY_MM,
        "micro_body_mm": BODY_MM,
    },
    "quick": {
        "pairs": 5,
        "rois": 9,
        "radii": (4.0,),
        "sensitivity": 3,
        "body_mm": (28.0, 22.0, 17.0),
        # On a smaller body one void is a large share of the ROI and dominates every
        # index: the microarchitecture ROIs keep the full-size body.
        "micro_body_mm": BODY_MM,
    },
}
assert tuple(SCALES) == SCALE_NAMES
#: Relative run time of each experiment (for the progress bar).
_WEIGHTS = {
    "reproducibility": 3,
    "microarchitecture": 5,
    "microct": 1,
    "equal_bmd": 1,
    "sensitivity": 2,
    "real": 1,
}


def plan(
    only: tuple[str, ...] = EXPERIMENTS, data_root: str | Path | None = None
) -> tuple[tuple[str, ...], dict[str, str]]:
    """(experiments to run, {skipped experiment: why}), decided before anything runs.

    An experiment that reads real data (:data:`studies.REAL_DATA`) whose files are absent is
    skipped with the reason when the data folder is the default one (a fresh clone has no
    ``../shared/data``); with an explicit ``data_root`` it is an InputError, as is a plan with
    nothing left to run.
    """
    unknown = sorted(set(only) - set(EXPERIMENTS))
    if unknown or not only:
        raise InputError(
            f"unknown experiment(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(EXPERIMENTS)}"
        )
    root = Path(data_root) if data_root else default_data_root()
    skipped = {}
    for name in only:
        needed = REAL_DATA.get(name)
        if needed is None or (root / needed).exists():
            continue
        if data_root:
            raise InputError(f"the {name} experiment needs {needed} inside the data folder", root)
        skipped[name] = (
            f"real data not found ({root / needed}; a fresh clone has no ../shared/data): "
            "give the shared data folder with --data DIR to run it"
        )
    run = tuple(name for name in EXPERIMENTS if name in only and name not in skipped)
    if not run:
        raise InputError(f"nothing to run: {'; '.join(f'{k}: {v}' for k, v in skipped.items())}")
    return run, skipped


def run_all(
    out: str | Path,
    *,
    scale: str = "full",
    only: tuple[str, ...] = EXPERIMENTS,
    seed: int = 0,
    data_root: str | Path | None = None,
    progress: ProgressCallback | None = None,
    cohort: str = "independent",
) -> dict[str, Any]:
    """Run the chosen experiments; returns the summary written to ``out/summary.json``.

    ``cohort`` is the microarchitecture cohort's Tb.Th design (``independent`` or
    ``physiological``, see :mod:`studies.microarchitecture_study`). Real-data experiments
    without their data are skipped (see :func:`plan`, checked before anything runs); the
    summary's ``skipped`` and a section of ``tables.md`` say which and why.
    """
    if scale not in SCALES:
        raise InputError(f"unknown scale {scale!r} (choose from {', '.join(SCALES)})")
    if cohort not in COHORTS:
        raise InputError(f"unknown cohort {cohort!r} (choose from {', '.join(COHORTS)})")
    only, skipped = plan(only, data_root)
    root = Path(data_root) if data_root else default_data_root()
    cfg = SCALES[scale]
    out = Path(out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    total = sum(_WEIGHTS[e] for e in only)
    done = 0.0
    md: list[str] = []
    summary: dict[str, Any] = {
        "scale": scale,
        "seed": seed,
        "cohort": cohort,
        "runtime_s": {},
        "skipped": skipped,
    }
    for name, why in skipped.items():
        logger.warning("validation experiment %s skipped: %s", name, why)

    def stage(name: str) -> ProgressCallback | None:
        nonlocal done
        start = done / total
        done += _WEIGHTS[name]
        return sub_progress(progress, start, done / total)

    between_sd = None
    for name in EXPERIMENTS:
        if name not in only:
            continue
        t0 = time.perf_counter()
        logger.info("validation experiment: %s", name)
        if name == "reproducibility":
            rows, summ = run_reproducibility(cfg["pairs"], seed, stage(name), cfg["body_mm"])
            tables.write_csv(out / "tables/reproducibility_scans.csv", rows)
            tables.write_csv(out / "tables/reproducibility_summary.csv", summ)
            plots.bland_altman_png(rows, summ, out / "figures/validation_bland_altman.png")
            md += ["## Reproducibility", tables.reproducibility_md(summ)]
            summary["reproducibility"] = summ
        elif name == "microarchitecture":
            rows, corr = run_microarchitecture(
                cfg["rois"], seed, stage(name), cfg["micro_body_mm"], cohort=cohort
            )
            tables.write_csv(out / "tables/microarchitecture_rois.csv", rows)
            tables.write_csv(out / "tables/microarchitecture_correlations.csv", corr)
            plots.correlation_png(rows, corr, out / "figures/validation_microarchitecture.png")
            between_sd = {m: float(np.std([r[m] for r in rows], ddof=1)) for m in MEASURES}
            links = coupling(rows)
            md += [
                f"## Microarchitecture correlations ({cohort} Tb.Th)",
                tables.correlation_md(corr),
                "Coupling of the truth in this cohort: r(BV/TV, Tb.Sp) = "
                f"{links['r_bvtv_tb_sp_mm']:+.2f}, "
                f"r(BV/TV, Tb.Th) = {links['r_bvtv_tb_th_mm']:+.2f}\n",
                "### Cohort ranges (truth by local thickness; focal measures)",
                tables.cohort_ranges_md(
                    rows, ["bvtv", "tb_th_mm", "tb_sp_mm", "tb_n_per_mm", *MEASURES]
                ),
            ]
            summary["microarchitecture"] = {
                "correlations": corr,
                "between_sd": between_sd,
                "coupling": links,
                "rows": rows,
            }
        elif name == "microct":
            rows = run_microct_texture(root, seed, stage(name))
            cohort = summary.get("microarchitecture", {}).get("rows")
            table = microct_summary(rows, cohort)
            tables.write_csv(out / "tables/microct_texture.csv", rows)
            md += ["## Real micro-CT texture", tables.microct_md(table)]
            summary["microct"] = table
        elif name == "equal_bmd":
            rows, pictures = run_equal_bmd(cfg["radii"], seed, stage(name))
            tables.write_csv(out / "tables/equal_bmd.csv", rows)
            plots.equal_bmd_png(pictures, out / "figures/validation_equal_bmd.png")
            md += ["## Equal BMD, different focal defect", tables.equal_bmd_md(rows)]
            summary["equal_bmd"] = rows
        elif name == "sensitivity":
            from studies.sensitivity import SETTINGS

            n = cfg["sensitivity"]
            settings = SETTINGS if n is None else SETTINGS[:: max(1, len(SETTINGS) // n)][:n]
            raw, summ = run_sensitivity(seed, between_sd, settings, stage(name))
            tables.write_csv(out / "tables/sensitivity_raw.csv", raw)
            tables.write_csv(out / "tables/sensitivity.csv", summ)
            md += ["## Sensitivity", tables.sensitivity_md(summ)]
            summary["sensitivity"] = summ
        elif name == "real":
            rows, pictures = run_real_scans(root / REAL_DATA["real"], out / "real", stage(name))
            tables.write_csv(out / "tables/real_scans.csv", rows)
            if pictures:
                plots.real_scans_png(pictures, out / "figures/validation_real_scans.png")
            md += ["## Real scans", tables.real_scans_md(rows)]
            summary["real"] = rows
        summary["runtime_s"][name] = time.perf_counter() - t0
    if skipped:
        md += ["## Skipped", *(f"- **{name}**: {why}" for name, why in skipped.items()), ""]
    write_text(out / "tables.md", "\n".join(md))
    write_json(out / "summary.json", summary)
    return summary


def default_data_root() -> Path:
    """``../shared/data`` next to the checkout (the data README's convention)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"
