"""``osteo batch MANIFEST.csv --out DIR``: a resumable batch on Dask."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from osteoimaging.errors import InputError
from osteoimaging.progress import TqdmProgress


def _param(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="run a measurement on every case of a manifest (resumable, on Dask)",
        description="Run the focal-defect measurement (or another job) on every case of a "
        "manifest CSV, on a local Dask cluster or an existing one. Writes DIR/cases/<case>/, "
        "DIR/results.csv and DIR/errors.csv; re-running skips cases already done with the "
        "same inputs and parameters. See docs/cohort.md for the manifest columns.",
    )
    p.add_argument("manifest", help="manifest CSV (case_id, ct, mask/seed, label, level, …)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, help="local worker processes [number of CPUs]")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler (tcp://host:port)")
    p.add_argument(
        "--job",
        default="focal",
        help="focal (default), mask-stats, or package.module:function",
    )
    p.add_argument(
        "--param",
        type=_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="job parameter (JSON value), repeatable; e.g. focal='{\"erosion_mm\": 4}'",
    )
    p.add_argument("--params", help="JSON file of job parameters (--param overrides it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import distributed  # noqa: F401  (the 'cohort' extra: fail before anything is written)

    from osteoimaging.atomic import check_output_path
    from osteoimaging.cohort import read_manifest, resolve_job, run_batch

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    check_output_path(args.out, folder=True)
    cases = read_manifest(args.manifest)
    job = resolve_job(args.job)
    params: dict = {}
    if args.params:
        try:
            params = json.loads(Path(args.params).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read parameters ({exc})", args.params) from exc
    params.update(dict(args.param))
    if args.job == "focal":  # bad focal parameters fail here, not once per case
        from osteoimaging.focal import FocalParameters

        if not isinstance(params.get("focal", {}), dict):
            raise InputError("--param focal=... must be a JSON object of FocalParameters fields")
        FocalParameters.from_dict(params.get("focal", {}))
    with TqdmProgress(f"batch of {len(cases)}") as bar:
        summary = run_batch(
            cases,
            args.out,
            job=job,
            params=params,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=bar,
        )
    print(
        f"{summary.n_cases} cases: {summary.computed} computed, {summary.skipped} already done, "
        f"{summary.failed} failed in {summary.seconds:.1f} s"
    )
    print(f"results {summary.results_csv}")
    if summary.failed:
        print(f"errors  {summary.errors_csv}")
        return EXIT_CASES_FAILED
    return 0


#: Exit code of a batch that ran to the end with some failed cases (scripts can tell).
EXIT_CASES_FAILED = 3
