"""``osteo radiomics extract|train|apply|evaluate``: the lumbar MRI radiomics study pipeline."""

from __future__ import annotations

import argparse
from pathlib import Path

from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.progress import TqdmProgress


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected integers like 1,2,3,4, got '{text}'") from exc


def _spacing(text: str) -> tuple[float, float, float]:
    try:
        values = [float(v) for v in text.replace("x", ",").split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad spacing '{text}'") from exc
    if len(values) == 1:
        values *= 3
    if len(values) != 3:
        raise argparse.ArgumentTypeError("spacing needs 1 or 3 numbers (mm)")
    return tuple(values)  # type: ignore[return-value]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "radiomics",
        help="lumbar MRI radiomics: features, LASSO radscore, ROC/DeLong, reports",
        description="The multiparametric lumbar MRI radiomics study as commands.",
    )
    cmds = p.add_subparsers(dest="radiomics_command", metavar="STEP")

    e = cmds.add_parser("extract", help="radiomics features per vertebra and per patient")
    e.add_argument("--t1", required=True, help="T1-weighted sagittal MRI (image file or .mat)")
    e.add_argument("--t2", help="T2-weighted sagittal MRI on the same grid")
    e.add_argument("--mask", required=True, help="vertebral-body label map (image or .mat)")
    e.add_argument("--t2-mask", help="separate T2 label map on the T2 grid")
    e.add_argument("--labels", type=_ints, default=[1, 2, 3, 4], help="label values [1,2,3,4]")
    e.add_argument(
        "--preset", default="reference-9", help="reference-9 | full | FILE.yaml [reference-9]"
    )
    e.add_argument("--out", required=True, help="features CSV")
    e.add_argument("--case-id", default="case1", help="case id written in the table [case1]")
    e.add_argument("--append", action="store_true", help="add to --out (replacing this case)")
    e.add_argument(
        "--roi",
        choices=("three-layer", "mask"),
        default="three-layer",
        help="three-layer: the study's 3 mid-sagittal layers minus a cortical margin from full "
        "vertebral-body labels; mask: use the labels as drawn [three-layer]",
    )
    e.add_argument("--margin-mm", type=float, default=1.0, help="cortical margin (mm) [1.0]")
    e.add_argument("--layers", type=int, default=3, help="sagittal layers [3]")
    e.add_argument(
        "--spacing",
        type=_spacing,
        help="voxel size X,Y,Z mm for .mat inputs (they store none) [1,1,1]",
    )
    e.add_argument("--image-variable", default="I", help=".mat image variable [I]")
    e.add_argument("--mask-variable", default="GT", help=".mat label variable [GT]")
    e.set_defaults(func=run_extract)

    t = cmds.add_parser("train", help="z-score + LASSO radscore with a validation report")
    t.add_argument("features", help="features CSV (osteo radiomics extract)")
    t.add_argument("--labels", required=True, help="CSV: case_id,label (or DXA columns)")
    t.add_argument("--out", required=True, help="model JSON")
    t.add_argument("--report", help="report folder (HTML + PNG)")
    t.add_argument("--level", default="patient", help="rows to use: patient | L1 … [patient]")
    t.add_argument("--sequences", default="T1,T2", help="feature prefixes [T1,T2]")
    t.add_argument("--test-fraction", type=float, default=0.3, help="validation share [0.3]")
    t.add_argument("--no-split", action="store_true", help="train on all cases")
    t.add_argument("--seed", type=int, default=0, help="split and CV seed [0]")
    t.add_argument("--folds", type=int, default=5, help="cross-validation folds [5]")
    t.add_argument("--icc", metavar="RATER2.csv", help="second rater's features: ICC filter")
    t.add_argument("--icc-threshold", type=float, default=0.75, help="keep ICC > this [0.75]")
    t.add_argument("--drop-constant", action="store_true", help="drop constant features")
    t.add_argument("--external", metavar="FEATURES.csv", help="external validation features")
    t.set_defaults(func=run_train)

    a = cmds.add_parser("apply", help="radscore of new patients")
    a.add_argument("model", help="model JSON, or 'published' for the study's radscore")
    a.add_argument("features", help="features CSV")
    a.add_argument("--out", required=True, help="scores CSV")
    a.add_argument("--level", default="patient", help="rows: patient | L1 … | all [patient]")
    a.add_argument(
        "--max-abs-z",
        type=float,
        metavar="Z",
        help="refuse features more than Z training SDs from the training mean, outside the "
        "model's range (docs/radiomics.md) [5]",
    )
    a.set_defaults(func=run_apply)

    v = cmds.add_parser("evaluate", help="ROC/DeLong, decision and calibration curves")
    v.add_argument("scores", help="scores CSV (osteo radiomics apply)")
    v.add_argument("--labels", required=True, help="CSV: case_id,label (or DXA columns)")
    v.add_argument("--report", required=True, help="report folder")
    v.add_argument("--cutoff", type=float, help="also report metrics at this cut-off")
    v.set_defaults(func=run_evaluate)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_extract(args: argparse.Namespace) -> int:
    from osteoimaging.radiomics.extract import extract_features
    from osteoimaging.radiomics.matio import read_volume
    from osteoimaging.radiomics.tables import read_table, write_table

    t1 = read_volume(args.t1, variable=args.image_variable, spacing=args.spacing)
    t2 = (
        None
        if not args.t2
        else read_volume(args.t2, variable=args.image_variable, spacing=args.spacing)
    )
    labels = read_volume(args.mask, variable=args.mask_variable, spacing=args.spacing)
    t2_labels = None
    if args.t2_mask:
        t2_labels = read_volume(args.t2_mask, variable=args.mask_variable, spacing=args.spacing)
    with TqdmProgress("radiomics") as bar:
        table = extract_features(
            t1,
            t2,
            labels,
            args.labels,
            args.preset,
            roi=args.roi,
            layers=args.layers,
            margin_mm=args.margin_mm,
            t2_labels=t2_labels,
            progress=bar,
        )
    table.insert(0, "case_id", args.case_id)
    out = Path(args.out)
    if args.append and out.exists():
        import pandas as pd

        old = read_table(out)
        old = old[old["case_id"].astype(str) != str(args.case_id)]
        table = pd.concat([old, table], ignore_index=True)
    write_table(table, out)
    print(f"wrote {out}: {len(table)} rows, {table.shape[1] - 3} features")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from osteoimaging.radiomics.model import save_model
    from osteoimaging.radiomics.study import run_study
    from osteoimaging.radiomics.tables import read_labels, read_table, select_level

    features = select_level(read_table(args.features), args.level, args.features)
    labels = read_labels(args.labels)
    rater_b = None
    if args.icc:
        rater_b = select_level(read_table(args.icc), args.level, args.icc)
    external = None
    if args.external:
        external = select_level(read_table(args.external), args.level, args.external)
    with TqdmProgress("train") as bar:
        model, result = run_study(
            features,
            labels,
            sequences=tuple(s.strip() for s in args.sequences.split(",") if s.strip()),
            test_fraction=None if args.no_split else args.test_fraction,
            seed=args.seed,
            cv_folds=args.folds,
            rater_b=rater_b,
            icc_threshold=args.icc_threshold,
            drop_constant=args.drop_constant,
            external=external,
            report_dir=args.report,
            progress=bar,
        )
    save_model(model, args.out)
    print(f"wrote {args.out}: {len(model.features)} features selected, cut-off {model.cutoff:.4f}")
    for set_name, section in result["sections"].items():
        m = section["models"][model.name]
        print(
            f"  {set_name}: AUC {m['auc']:.3f} (95% CI {m['ci_low']:.3f}–{m['ci_high']:.3f}), "
            f"n={section['n']}"
        )
    if args.report:
        print(f"report: {Path(args.report) / 'index.html'}")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from osteoimaging.radiomics.model import MAX_ABS_Z, apply_model, load_model, published_model
    from osteoimaging.radiomics.tables import read_table, select_level, write_table

    if args.model == "published":
        model = published_model()
        logger.warning("%s", model.warning)
    else:
        model = load_model(args.model)
    features = select_level(read_table(args.features), args.level, args.features)
    try:
        z = MAX_ABS_Z if args.max_abs_z is None else args.max_abs_z
        scores = apply_model(model, features, max_abs_z=z)
    except InputError as exc:
        raise InputError(exc.problem, args.features) from exc
    write_table(scores, args.out)
    print(f"wrote {args.out}: {len(scores)} scores (cut-off {model.cutoff:.4f})")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from osteoimaging.radiomics.study import evaluate
    from osteoimaging.radiomics.tables import read_labels, read_table

    scores = read_table(args.scores)
    labels = read_labels(args.labels)
    result = evaluate(scores, labels, cutoff=args.cutoff, report_dir=args.report)
    for name, m in result["models"].items():
        y = m["youden"]
        print(
            f"{name}: AUC {m['auc']:.3f} (95% CI {m['ci_low']:.3f}–{m['ci_high']:.3f}); "
            f"Youden cut-off {y['threshold']:.4f}: sensitivity {y['sensitivity']:.3f}, "
            f"specificity {y['specificity']:.3f}, accuracy {y['accuracy']:.3f}"
        )
    for c in result["comparisons"]:
        print(f"DeLong {c['a']} vs {c['b']}: z = {c['z']:.3f}, p = {c['p']:.4f}")
    print(f"report: {Path(args.report) / 'index.html'}")
    return 0
