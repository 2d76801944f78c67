"""``osteo validate --out DIR``: regenerate every validation table and figure (issue 8).

The studies are not part of the installed package: they live in ``studies/`` next to
``osteoimaging/`` in a source checkout, where :func:`load_studies` finds them. An installation
without them (pip wheel, Slicer) exits 2 with a one-line explanation.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

from osteoimaging.errors import InputError
from osteoimaging.progress import TqdmProgress

#: The checkout root: the folder holding ``osteoimaging/`` (and, in a clone, ``studies/``).
CHECKOUT = Path(__file__).resolve().parents[2]


def studies_folder() -> Path | None:
    """``studies/`` next to the package in a source checkout, else None."""
    folder = CHECKOUT / "studies"
    return folder if (folder / "__init__.py").is_file() and (folder / "run.py").is_file() else None


def load_studies() -> ModuleType:
    """The ``studies`` package of this checkout (its root put on ``sys.path``), or InputError."""
    folder = studies_folder()
    if folder is None:
        raise InputError(
            "the validation studies are not installed with the osteoimaging package (they live "
            "in studies/ of a source checkout): run osteo validate from a clone of the "
            "repository (pip install -e .)"
        )
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    module = importlib.import_module("studies")
    if Path(module.__file__ or "").resolve().parent != folder:
        raise InputError(f"another 'studies' package ({module.__file__}) hides {folder}")
    return module


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="rerun the validation studies (reproducibility, microarchitecture, …; source "
        "checkout only)",
        description="Repeat the paper's scan–rescan and microarchitecture studies on "
        "simulated vertebrae, the equal-BMD pairs, a sensitivity table and the real "
        "scans; write CSV/Markdown tables and PNG figures to --out (about 10 minutes "
        "at --scale full on 2 cores). Needs the studies/ folder of a source checkout; the "
        "real-data studies (microct, real) need the shared data folder and are skipped, with "
        "a note, when it is absent.",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--scale", default="full", help="full (the paper's 21 pairs, 27 ROIs) or quick [full]"
    )
    p.add_argument(
        "--only",
        help="comma-separated subset of reproducibility, microarchitecture, microct, "
        "equal_bmd, sensitivity, real [all]",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the simulations [0]")
    p.add_argument(
        "--cohort",
        default="independent",
        help="microarchitecture cohort: 'independent' (Tb.Th independent of BV/TV) or "
        "'physiological' (rising with it as in human vertebrae) [independent]",
    )
    p.add_argument(
        "--data",
        help="the shared data folder with ct/ and microct/ (default: ../shared/data of the "
        "checkout)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    studies = load_studies()
    from studies.run import run_all

    only = (
        tuple(s.strip() for s in args.only.split(",") if s.strip())
        if args.only is not None
        else studies.EXPERIMENTS
    )
    if args.data and not Path(args.data).is_dir():
        raise InputError("no such data folder", args.data)
    # run_all checks the options and the data before anything runs (studies.run.plan).
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
    for name, why in summary["skipped"].items():
        print(f"skipped {name}: {why}")
    return 0
