"""Full validation run of opportunistic screening (docs/screening.md records its output).

1. a synthetic chest-CT cohort (``osteo screen synth``), 2. inputs, SMI (whole-slice muscle
from the label map) and L1 HU (``osteo screen prepare --muscle-labels 200``), 3. DenseNet121
training with early stopping (``osteo screen train``), 4. CNN vs SMI vs L1 rule on the
held-out test cases with paired DeLong, calibration and decision curves (``osteo screen
evaluate``), Grad-CAM localisation, 5. the trained model and the baselines applied to the
real CTs of ../shared/data (``osteo screen apply``).

    python bench/screening_validation.py --out /tmp/screening-run [--n 500] [--threads 2]

Variants on the same cohort: ``--cohort /tmp/screening-run/cohort --skip-to prepare`` with,
e.g., ``--pixel-mm 0.75`` (a 96 mm field of view instead of 192 mm); ``--bodies-only`` makes a
cohort where only the vertebral bodies carry the BMD (docs/screening.md records all four).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("OSTEO_SHARED_DATA", ROOT.parent / "shared" / "data")) / "ct"


def _real_manifest(out: Path) -> Path:
    """The two real CTs: the DICOM series at T12 (TotalSegmentator v2: 32 = T12; 86/87 =
    left/right autochthon, i.e. the paraspinal muscles) and the NIfTI CT at T12 + L1
    (19 = T12, 20 = L1 of the refined vertebra labels)."""
    rows = [
        "case_id,ct,mask,label,level",
        f"dicom_t12,{DATA / 'totalseg-dicom' / 'series'},"
        f"{DATA / 'totalseg-dicom' / 'example_seg_dicom.nii.gz'},32,T12",
        f"nifti_t12_l1,{DATA / 'totalseg-example' / 'example_ct.nii.gz'},"
        f"{DATA / 'totalseg-example' / 'totalseg_vertebrae_pp_refined.nii.gz'},19;20,T12;L1",
    ]
    path = out / "real" / "manifest.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--architecture", default="densenet121")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pixel-mm", type=float, default=1.5, help="input pixel size [1.5]")
    ap.add_argument("--cohort", help="the synthetic cohort's folder [OUT/cohort]")
    ap.add_argument(
        "--bodies-only", action="store_true", help="only the vertebral bodies carry the BMD"
    )
    ap.add_argument("--skip-to", choices=("prepare", "train", "evaluate", "real", "layers"))
    args = ap.parse_args()

    import pandas as pd

    from osteoimaging.screening.evaluate import cam_summary, screening_report
    from osteoimaging.screening.model import ModelConfig, require_torch
    from osteoimaging.screening.pipeline import ScreenParams
    from osteoimaging.screening.prep import PrepParams
    from osteoimaging.screening.synth import MUSCLE_LABEL, CohortSpec, write_cohort
    from osteoimaging.screening.workflow import apply_cohort, prepare_cohort, train_cohort

    out = Path(args.out)
    cohort = Path(args.cohort) if args.cohort else out / "cohort"
    record_path = out / "validation.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    steps = ("synth", "prepare", "train", "evaluate", "real", "layers")
    start = steps.index(args.skip_to) if args.skip_to else 0

    def timed(name, func):
        t0, c0 = time.perf_counter(), time.process_time()
        value = func()
        record[f"{name}_wall_s"] = time.perf_counter() - t0
        record[f"{name}_cpu_s"] = time.process_time() - c0
        record[f"{name}_load_avg"] = os.getloadavg()[0]
        record_path.write_text(json.dumps(record, indent=2, default=str))
        print(f"{name}: {record[f'{name}_wall_s']:.0f} s wall, {record[f'{name}_cpu_s']:.0f} s CPU")
        return value

    if start <= 0:
        timed(
            "synth",
            lambda: write_cohort(
                cohort,
                args.n,
                CohortSpec(seed=args.seed, skeleton_follows_bmd=not args.bodies_only),
            ),
        )
    params = ScreenParams(prep=PrepParams(pixel_mm=args.pixel_mm), muscle_labels=(MUSCLE_LABEL,))
    record["pixel_mm"] = args.pixel_mm
    if start <= 1:
        timed("prepare", lambda: prepare_cohort(cohort / "manifest.csv", out / "prep", params))
    require_torch()
    config = ModelConfig(
        architecture=args.architecture,
        epochs=args.epochs,
        patience=args.patience,
        seed=args.seed,
        threads=args.threads,
    )
    if start <= 2:
        res = timed("train", lambda: train_cohort(out / "prep", out / "model", config))
        record["test_auc"] = res["test_auc"]
        record["history"] = res["history"]["epochs"]
        record["best_epoch"] = res["history"]["best_epoch"]
    pred = pd.read_csv(out / "model" / "predictions.csv")
    measures = pd.read_csv(out / "prep" / "measures.csv")
    df = pred.merge(measures.drop(columns=["osteoporosis"]), on="case_id")
    if start <= 3:
        timed("evaluate", lambda: screening_report(df, out / "report"))
        metrics = pd.read_csv(out / "report" / "tables" / "metrics.csv")
        record["metrics"] = metrics.to_dict(orient="records")
        record["delong"] = pd.read_csv(out / "report" / "tables" / "delong.csv").to_dict(
            orient="records"
        )
        record["gradcam_test"] = cam_summary(df).to_dict(orient="records")
        for label in (0, 1):  # localisation by true class
            record[f"gradcam_test_class{label}"] = cam_summary(
                df[df["osteoporosis"] == label]
            ).to_dict(orient="records")
        # four held-out synthetic cases through 'apply' (maps on the CT grid, overlays)
        test_ids = df[df["subset"] == "test"].sort_values("cnn_probability")["case_id"]
        pick = list(test_ids.iloc[[0, 1, -2, -1]])
        lines = (cohort / "manifest.csv").read_text().splitlines()
        chosen = [lines[0]] + [ln for ln in lines[1:] if ln.split(",")[0] in pick]
        few = cohort / "examples.csv"  # relative paths resolve from the cohort folder
        few.write_text("\n".join(chosen) + "\n")
        ex = timed(
            "apply_examples", lambda: apply_cohort(out / "model", few, out / "examples", params)
        )
        record["examples"] = ex.to_dict(orient="records")
    if start <= 4:
        manifest = _real_manifest(out)
        for name, labels in (("threshold", ()), ("autochthon_labels", (86, 87))):
            p = ScreenParams(muscle_labels=labels, resample_mask=True)
            real = timed(
                f"real_{name}",
                lambda p=p, name=name: apply_cohort(
                    out / "model", manifest, out / "real" / name, p
                ),
            )
            record[f"real_{name}"] = real.to_dict(orient="records")
            errors = pd.read_csv(out / "real" / name / "errors.csv")
            record[f"real_{name}_errors"] = errors.to_dict(orient="records")
    if start <= 5:
        record["gradcam_layers"] = timed("layers", lambda: _layers(out, df))
    record_path.write_text(json.dumps(record, indent=2, default=str))
    print(json.dumps({k: record.get(k) for k in ("test_auc", "best_epoch")}, default=str))


def _layers(out: Path, df) -> list[dict]:
    """Grad-CAM localisation on the held-out cases at three depths of the trained model:
    share of the map's mass on the body, enrichment over its area share, peak inside, share
    of the map's core (≥ 50 % and ≥ 15 % of its maximum) on the body."""
    import numpy as np
    import pandas as pd

    from osteoimaging.screening.gradcam import grad_cam, mass_fractions
    from osteoimaging.screening.model import load_model
    from osteoimaging.screening.workflow import load_prepared

    model, *_ = load_model(out / "model")
    images, planes, table, _ = load_prepared(out / "prep")
    test = np.flatnonzero(df.set_index("case_id").loc[table["case_id"], "subset"] == "test")
    rows = []
    for layer in ("features.transition2.relu", "features.transition3.relu", "class_layers.relu"):
        maps, _ = grad_cam(model, images[test], layer)
        fr = pd.DataFrame(
            [
                mass_fractions(m, {"body": planes["body"][i], "muscle": planes["muscle"][i]})
                for m, i in zip(maps, test, strict=True)
            ]
        )
        core15 = [
            mass_fractions(m, {"body": planes["body"][i]}, core_level=0.15)["cam_core_body"]
            for m, i in zip(maps, test, strict=True)
        ]
        rows.append(
            {
                "layer": layer,
                **fr.mean(numeric_only=True).to_dict(),
                "enrichment_body_median": float(fr["cam_enrichment_body"].median()),
                "mass_body_median": float(fr["cam_mass_body"].median()),
                "core_body_median": float(fr["cam_core_body"].median()),
                "core15_body_median": float(np.nanmedian(core15)),
            }
        )
    # maps of the "normal bone" class at the model's layer, by true class
    layer = "features.transition3.relu"
    maps, _ = grad_cam(model, images[test], layer, class_idx=0)
    truth = df.set_index("case_id").loc[table["case_id"], "osteoporosis"].to_numpy()[test]
    fr = pd.DataFrame(
        [mass_fractions(m, {"body": planes["body"][i]}) for m, i in zip(maps, test, strict=True)]
    )
    for label in (0, 1):
        part = fr[truth == label]
        rows.append(
            {
                "layer": f"{layer}, class-0 maps, true class {label}",
                "n": len(part),
                **part.median(numeric_only=True).add_suffix("_median").to_dict(),
            }
        )
    return rows


if __name__ == "__main__":
    main()
