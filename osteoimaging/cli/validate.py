"""``osteo validate --out DIR``: regenerate every validation table and figure (issue 8)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from osteoimaging.errors import InputError
from osteoimaging.experiments import COHORTS, EXPERIMENTS, SCALE_NAMES
from osteoimaging.progress import TqdmProgress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="rerun the validation experiments (reproducibility, microarchitecture, …)",
        description="Repeat the paper's scan–rescan and microarchitecture studies on "
        "simulated vertebrae, the equal-BMD pairs, a sensitivity table and the real "
        "scans; write CSV/Markdown tables and PNG figures to --out (about 10 minutes "
        "at --scale full on 2 cores).",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--scale", choices=SCALE_NAMES, default="full", help="[full]")
    p.add_argument(
        "--only",
        default=",".join(EXPERIMENTS),
        help=f"comma-separated subset of {','.join(EXPERIMENTS)} [all]",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the simulations [0]")
    p.add_argument(
        "--cohort",
        choices=COHORTS,
        default="independent",
        help="microarchitecture cohort: Tb.Th independent of BV/TV, or rising with it as "
        "in human vertebrae [independent]",
    )
    p.add_argument(
        "--data", help="the shared data folder with ct/ (default: ../shared/data of the project)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from osteoimaging.experiments.run import run_all

    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = sorted(set(only) - set(EXPERIMENTS))
    if unknown or not only:
        raise InputError(
            f"unknown experiment(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(EXPERIMENTS)}"
        )
    if args.data and not (Path(args.data) / "ct").is_dir():
        raise InputError("no ct/ folder inside the data folder", args.data)
    with TqdmProgress("validate") as bar:
        summary = run_all(
            args.out,
            scale=args.scale,
            only=only,
            seed=args.seed,
            data_root=args.data,
            progress=bar,
            cohort=args.cohort,
        )
    print(f"wrote {Path(args.out) / 'tables.md'} and figures in {Path(args.out) / 'figures'}")
    print(json.dumps({k: round(v, 1) for k, v in summary["runtime_s"].items()}))
    return 0
