"""Table 4 of the paper on your own cohort: manifest → ``osteo batch`` → ``osteo stats associate``.

Li C, et al. JOR Spine 2022;5(1):e1195, Table 4: odds ratios of prevalent vertebral
fracture per 1 SD of focal BMC loss, intercept width and BMD, in a base model (no
adjustment) and a full model (age, gender and BMD; within a sex, age and BMD), overall and
by sex, 91 fracture cases and 114 controls matched by age and sex (conditional logistic
regression, section 2.5). This script shows the whole path with simulated data
(``docs/cohort.md``, "Reproducing the paper's association analysis"):

1. ``--cases N`` (default 4) simulated L1 vertebrae (routine CT, 0.4 × 0.4 × 0.7 mm) are
   written as NRRD with a manifest that carries the covariates (group, age, sex,
   match_id) and the phantom's calibration, and run through ``osteo batch``: its
   ``results.csv`` has one row per case and level with the case values and covariates.
2. A cohort the size of the paper's is drawn in the same columns: a population with
   Table 2's age and sex and Table 3's BMD, focal BMC loss and intercept width, fracture
   drawn from a known logistic model (focal BMC loss, BMD and age); 91 cases and 114
   controls are sampled by sex and 5-year age band (``match_id``), as in a matched
   case–control study (ORs survive outcome-dependent sampling; intercepts do not). Then
   ``osteo stats associate`` gives base, full and conditional models overall and by sex;
   the true OR per SD of the analysed sample is printed beside the full model.

Run: ``PYTHONPATH=. python -m studies.association_example --out DIR [--cases 0]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from osteoimaging.atomic import write_text

#: The true model of part 2, per unit: log-odds per mm of focal BMC loss, per mg/cm³ of
#: BMD, per year of age (sex and intercept width: no effect given these).
BETA = {
    "focal_bmc_loss_mm": np.log(1.87) / 0.12,
    "trabecular_bmd": np.log(0.35) / 60.0,
    "age": 0.02,
}


def _osteo(*args: str) -> str:
    """Run ``osteo ARGS`` in this interpreter; its printed output."""
    cmd = [sys.executable, "-m", "osteoimaging.cli.main", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def batch_part(folder: Path, n: int) -> Path:
    """Part 1: ``n`` phantom cases, their manifest, and ``osteo batch`` on them."""
    from osteoimaging.imageio import write_image
    from osteoimaging.phantoms import CTProtocol, FocalDefect, VertebraSpec, vertebra_ct

    rng = np.random.default_rng(7)
    lines = ["case_id,ct,mask,level,calibration,group,age,sex,match_id"]
    for i in range(n):
        fracture = i % 2 == 0
        spec = VertebraSpec(
            width_mm=32.0,
            depth_mm=26.0,
            height_mm=20.0,
            bvtv=0.065 if fracture else 0.104,  # the groups' BMD, 78 and 124 mg/cm³
            defects=[FocalDefect((2.0, -2.0, 0.0), (3.5,) * 3)] if fracture else [],
            posterior_elements=False,
            seed=40 + i,
        )
        ct, mask, _ = vertebra_ct(spec, CTProtocol(seed=200 + i))
        write_image(ct, folder / f"ct{i}.nrrd")
        write_image(mask.with_array(mask.array.astype(np.uint8)), folder / f"mask{i}.nrrd")
        sex = "F" if i % 4 < 2 else "M"
        age = int(rng.integers(60, 76))
        lines.append(
            f'S{i:03d},ct{i}.nrrd,mask{i}.nrrd,L1,"manual:0.8,-5",'
            f"{'fracture' if fracture else 'control'},{age},{sex},{sex}-{age // 5 * 5}"
        )
    manifest = folder / "manifest.csv"
    write_text(manifest, "\n".join(lines) + "\n")
    print(f"$ osteo batch {manifest.name} --out batch --workers 2")
    print(_osteo("batch", str(manifest), "--out", str(folder / "batch"), "--workers", "2"))
    return folder / "batch" / "results.csv"


def synthetic_cohort(seed: int = 0, population: int = 40_000):
    """Part 2: the paper-sized matched case–control sample (a pandas DataFrame)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    women = rng.random(population) < 0.6
    age = np.clip(rng.normal(68.0, 8.3, population), 50, 95)
    z_bmd = rng.normal(size=population)
    bmd = np.exp(np.log(105.0) + 0.5 * z_bmd - 0.01 * (age - 68) + np.where(women, -0.15, 0.15))
    # focal BMC loss: r ≈ −0.37 with BMD (the paper's "poor correlation"), SD ≈ 0.12 mm
    e = rng.normal(size=population)
    bmc = 0.97 + 0.12 * (-0.37 * z_bmd + np.sqrt(1 - 0.37**2) * e)
    width = 1.9 + 0.18 * (0.6 * e + 0.8 * rng.normal(size=population))
    loss = bmc / width
    logit = (
        -3.0
        + BETA["focal_bmc_loss_mm"] * (bmc - 0.97)
        + BETA["trabecular_bmd"] * (bmd - 105.0)
        + BETA["age"] * (age - 68.0)
    )
    fracture = rng.random(population) < 1 / (1 + np.exp(-logit))
    df = pd.DataFrame(
        {
            "level": "L1",
            "focal_bmc_loss_mm": bmc,
            "focal_bmd_loss": loss,
            "intercept_width_mm": width,
            "trabecular_bmd": bmd,
            "fracture": fracture,
            "age": np.round(age, 1),
            "sex": np.where(women, "F", "M"),
            "match_id": [
                f"{s}-{int(a // 5 * 5)}"
                for s, a in zip(np.where(women, "F", "M"), age, strict=True)
            ],
        }
    )
    picked = []
    for sex, (n_case, n_control) in {"F": (55, 71), "M": (36, 43)}.items():
        cases = df[df["fracture"] & (df["sex"] == sex)]
        cases = cases.iloc[rng.choice(len(cases), n_case, replace=False)]
        # controls follow the cases' age bands (frequency matching by sex and age)
        bands = cases["match_id"].value_counts(normalize=True)
        pool = df[~df["fracture"] & (df["sex"] == sex)]
        weights = pool["match_id"].map(bands).fillna(0.0).to_numpy()
        pick = rng.choice(len(pool), n_control, replace=False, p=weights / weights.sum())
        picked += [cases.assign(group="fracture"), pool.iloc[pick].assign(group="control")]
    out = pd.concat(picked).drop(columns="fracture").reset_index(drop=True)
    out.insert(0, "case_id", [f"P{i:04d}" for i in range(len(out))])
    return out


def true_or_per_sd(cohort) -> float:
    """exp(β × SD in the analysed sample) of focal BMC loss: what its full model (age, sex,
    BMD; sex has no effect in the truth) estimates."""
    return float(np.exp(BETA["focal_bmc_loss_mm"] * cohort["focal_bmc_loss_mm"].std(ddof=1)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--cases", type=int, default=4, help="phantom cases for osteo batch [4]")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic cohort [0]")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.cases > 0:
        results = batch_part(out, args.cases)
        import pandas as pd

        cols = ["case_id", "level", "focal_bmc_loss_mm", "intercept_width_mm", "trabecular_bmd"]
        table = pd.read_csv(results)
        print(table[[*cols, "qc", "group", "age", "sex", "match_id"]].to_string(index=False))
    cohort = synthetic_cohort(args.seed)
    path = out / "cohort.csv"
    write_text(path, cohort.to_csv(index=False))
    counts = cohort.groupby(["group", "sex"]).size().to_dict()
    print(f"\nsynthetic cohort: {len(cohort)} rows, {counts}")
    args_assoc = [
        "stats", "associate", str(path), "--outcome", "group", "--positive", "fracture",
        "--measure", "focal_bmc_loss_mm", "--measure", "intercept_width_mm",
        "--measure", "trabecular_bmd", "--select", "level=L1",
        "--out", str(out / "association.csv"), "--plots", str(out / "figures"),
    ]  # fmt: skip
    print("$ osteo " + " ".join(a if "/" not in a else Path(a).name for a in args_assoc))
    print(_osteo(*args_assoc))
    print(
        f"true OR per SD of focal BMC loss in this sample (its full model): "
        f"{true_or_per_sd(cohort):.2f}; intercept width has no effect given focal BMC loss"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
