"""``osteo screen synth|prepare|train|apply|evaluate``: opportunistic screening on chest CT.

The CNN steps need the ``screen`` extra (torch, MONAI); without it they stop with a one-line
message naming the extra. See docs/screening.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from osteoimaging.errors import InputError
from osteoimaging.progress import TqdmProgress


def _require_pandas() -> None:
    try:
        import pandas  # noqa: F401
    except ImportError as exc:
        raise InputError("this needs pandas: pip install 'osteoimaging[screen]'") from exc


def _screen_params(args: argparse.Namespace):
    from osteoimaging.screening.pipeline import ScreenParams
    from osteoimaging.screening.prep import PrepParams

    prep = PrepParams(
        level=args.level, size_px=args.size, pixel_mm=args.pixel_mm, slab_mm=args.slab_mm
    )
    labels = (
        tuple(int(v) for v in args.muscle_labels.split(",") if v.strip())
        if args.muscle_labels
        else ()
    )
    return ScreenParams(
        prep=prep,
        rule_level=args.rule_level,
        muscle_labels=labels,
        height_column=args.height_column,
        check_hu=not args.no_hu_check,
        resample_mask=args.resample_mask,
    )


def _case_options(p: argparse.ArgumentParser, prep: bool = True) -> None:
    if prep:
        p.add_argument("--level", default="T12", help="level of the model input [T12]")
        p.add_argument("--size", type=int, default=128, help="input size in pixels [128]")
        p.add_argument("--pixel-mm", type=float, default=1.5, help="input pixel size [1.5]")
        p.add_argument("--slab-mm", type=float, default=10.0, help="slab thickness [10]")
    p.add_argument("--rule-level", default="L1", help="level of the attenuation rule [L1]")
    p.add_argument(
        "--muscle-labels",
        help="muscle label values in the manifest's label maps "
        "(comma-separated); default: the threshold-and-region method",
    )
    p.add_argument("--height-column", default="height_m", help="manifest column of height (m)")
    p.add_argument("--resample-mask", action="store_true", help="resample label maps to the CT")
    p.add_argument("--no-hu-check", action="store_true", help="skip the CT-in-HU check")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "screen",
        help="opportunistic osteoporosis screening on chest CT (CNN, SMI, L1 rule)",
        description="DenseNet CNN with Grad-CAM against the skeletal muscle index and the L1 "
        "attenuation rule (docs/screening.md). prepare/train/apply/evaluate work on batch "
        "manifests (osteo batch's format); train and apply need the 'screen' extra.",
    )
    s = p.add_subparsers(dest="screen_command", metavar="STEP")
    q = s.add_parser("synth", help="write a synthetic chest-CT cohort with known classes")
    q.add_argument("--out", required=True)
    q.add_argument("--n", type=int, default=200)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--muscle-bmd-correlation", type=float, default=0.3)
    q.add_argument(
        "--scene-mm",
        type=float,
        default=1.0,
        help="scene grid before the CT model [1.0]; coarser is faster",
    )
    q.add_argument(
        "--inplane-mm", default="0.8,1.0", metavar="LO,HI", help="range of CT pixel sizes [0.8,1.0]"
    )
    q.add_argument(
        "--bodies-only",
        action="store_true",
        help="only the vertebral bodies carry the BMD (arches and ribs as a 100 mg/cm³ case)",
    )
    q.set_defaults(func=run_synth)
    q = s.add_parser("prepare", help="model inputs, SMI and L1 HU for every case")
    q.add_argument("manifest")
    q.add_argument("--out", required=True)
    _case_options(q)
    q.set_defaults(func=run_prepare)
    q = s.add_parser("train", help="train a DenseNet on a prepared folder")
    q.add_argument("prepared", help="folder written by 'osteo screen prepare'")
    q.add_argument("--out", required=True, help="model folder")
    q.add_argument("--outcome", default="osteoporosis", help="0/1 column [osteoporosis]")
    q.add_argument("--architecture", default="densenet121", help="densenet121 or small")
    q.add_argument("--epochs", type=int, default=12)
    q.add_argument("--batch-size", type=int, default=16)
    q.add_argument("--lr", type=float, default=1e-3)
    q.add_argument("--patience", type=int, default=4)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--threads", type=int, default=2)
    q.add_argument("--no-augment", action="store_true")
    q.add_argument("--cam-layer", default="features.transition3.relu")
    q.add_argument(
        "--cam-class",
        default="predicted",
        choices=("predicted", "0", "1"),
        help="Grad-CAM class: each case's predicted class, or 0 (evidence for "
        "normal bone) / 1 for every case [predicted]",
    )
    q.add_argument("--test-fraction", type=float, default=0.2)
    q.add_argument("--val-fraction", type=float, default=0.2)
    q.set_defaults(func=run_train)
    q = s.add_parser("apply", help="apply a saved model and the baselines to a manifest")
    q.add_argument("model", help="model folder")
    q.add_argument("manifest")
    q.add_argument("--out", required=True)
    _case_options(q, prep=False)
    q.set_defaults(func=run_apply)
    q = s.add_parser("evaluate", help="CNN vs SMI vs L1 rule report (DeLong, calibration, DCA)")
    q.add_argument("table", help="predictions.csv (train) or results.csv (apply)")
    q.add_argument("--measures", help="measures.csv of 'prepare' to join on case_id")
    q.add_argument("--outcome", default="osteoporosis")
    q.add_argument(
        "--subset",
        default="test",
        help="subset to evaluate when the table has a subset column [test]; 'all' for every case",
    )
    q.add_argument("--out", required=True)
    q.set_defaults(func=run_evaluate)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_synth(args: argparse.Namespace) -> int:
    from osteoimaging.screening.synth import CohortSpec, write_cohort

    if args.n < 4:
        raise InputError("--n must be at least 4")
    try:
        lo, hi = (float(v) for v in args.inplane_mm.split(","))
    except ValueError as exc:
        raise InputError(f"--inplane-mm must be LO,HI, got '{args.inplane_mm}'") from exc
    spec = CohortSpec(
        seed=args.seed,
        muscle_bmd_correlation=args.muscle_bmd_correlation,
        scene_mm=args.scene_mm,
        inplane_mm=(lo, hi),
        skeleton_follows_bmd=not args.bodies_only,
    )
    with TqdmProgress("synth") as bar:
        path = write_cohort(args.out, args.n, spec, progress=bar)
    print(f"{args.n} synthetic cases → {path}")
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    _require_pandas()
    from osteoimaging.screening.workflow import prepare_cohort

    with TqdmProgress("prepare") as bar:
        table = prepare_cohort(args.manifest, args.out, _screen_params(args), bar)
    print(f"{len(table)} cases prepared → {args.out}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from osteoimaging.screening.model import ModelConfig, require_torch

    require_torch()
    _require_pandas()
    from osteoimaging.screening.workflow import train_cohort

    config = ModelConfig(
        architecture=args.architecture,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        patience=args.patience,
        seed=args.seed,
        threads=args.threads,
        augment=not args.no_augment,
        cam_layer=args.cam_layer,
    )
    with TqdmProgress("train") as bar:
        res = train_cohort(
            args.prepared,
            args.out,
            config,
            args.outcome,
            args.test_fraction,
            args.val_fraction,
            bar,
        )
    t = res["test_auc"]
    print(
        f"test AUC {t['auc']:.3f} ({t['ci_low']:.3f}–{t['ci_high']:.3f}), best epoch "
        f"{res['history']['best_epoch']}, {res['history']['train_seconds']:.0f} s → {args.out}"
    )
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from osteoimaging.screening.model import require_torch

    require_torch()
    _require_pandas()
    from osteoimaging.screening.workflow import apply_cohort

    args.level, args.size, args.pixel_mm, args.slab_mm = "T12", 128, 1.5, 10.0  # from the model
    with TqdmProgress("apply") as bar:
        table = apply_cohort(args.model, args.manifest, args.out, _screen_params(args), bar)
    print(f"{len(table)} cases → {Path(args.out) / 'results.csv'}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    _require_pandas()
    import pandas as pd

    from osteoimaging.screening.evaluate import screening_report

    try:
        df = pd.read_csv(args.table)
        if args.measures:
            m = pd.read_csv(args.measures)
            df = df.merge(
                m.drop(columns=[c for c in m if c in df and c != "case_id"]),
                on="case_id",
                how="left",
            )
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the table ({exc})", args.table) from exc
    subset = None if args.subset == "all" else args.subset
    path = screening_report(df, args.out, args.outcome, subset)
    metrics = pd.read_csv(Path(args.out) / "tables" / "metrics.csv")
    print(
        json.dumps(
            {
                r["method"]: round(r["auc"], 3)
                for _, r in metrics.iterrows()
                if pd.notna(r.get("auc"))
            }
        )
    )
    print(f"report → {path}")
    return 0
