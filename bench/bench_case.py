"""One-click case on the example CT: load → GrowCut → alignment → focal → sub-regions →
outputs, warm, with a per-step breakdown; and the cold command line for comparison.

Issue 13's target: ≤ 3 s wall, warm, on a 2-core machine (the 2026-12-01 measurement in
../shared/notes/performance-2026-12.md gave 6.8 s cold for the same command). Prints the
times measured in this run; record them in docs/benchmarks.md with the command:

    PYTHONPATH=$PWD python bench/bench_case.py [--repeat 3] [--cold]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(ROOT.parent / "shared" / "data" / "ct" / "totalseg-example")
CT = DATA / "example_ct.nii.gz"
#: L1 of the example CT, RAS mm (as in the performance notes).
SEED = (-5.8, 121.9, 386.2)


def one_case(out: Path) -> dict[str, float]:
    """One warm case; seconds per step."""
    from osteoimaging.case import BodySource, CaseRequest, measure_case
    from osteoimaging.case.outputs import write_case_outputs
    from osteoimaging.validation import read_ct

    t0 = time.perf_counter()
    ct = read_ct(CT)
    t_read = time.perf_counter() - t0
    request = CaseRequest(ct, [BodySource("L1", seed_ras=SEED)], input_name=CT.name)
    t1 = time.perf_counter()
    case = measure_case(request)
    t2 = time.perf_counter()
    write_case_outputs(case, out)
    t3 = time.perf_counter()
    steps = {"read": t_read, **case.levels[0].timings}
    steps["measure (total)"] = t2 - t1
    steps["outputs"] = t3 - t2
    steps["wall"] = t3 - t0
    return steps


def cold(out: Path) -> float:
    """Wall time of the whole command line in a fresh process."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "osteoimaging", "-q", "focal", str(CT),
         "--seed=" + ",".join(map(str, SEED)), "--level", "L1", "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm repetitions [3]")
    parser.add_argument("--cold", action="store_true", help="also time the command line")
    args = parser.parse_args()
    if not CT.exists():
        sys.exit(f"needs {CT} (../shared/data)")
    with tempfile.TemporaryDirectory() as folder:
        one_case(Path(folder) / "warm-up")  # imports, numba caches, first GrowCut
        runs = [one_case(Path(folder) / f"run{i}") for i in range(args.repeat)]
        print(f"one-click L1 of {CT.name}, warm, {args.repeat} runs (median, min) in s:")
        for step in runs[0]:
            values = [r[step] for r in runs]
            print(f"  {step:18s} {statistics.median(values):6.3f} {min(values):6.3f}")
        if args.cold:
            times = [cold(Path(folder) / f"cold{i}") for i in range(2)]
            print(f"  {'cold command line':18s} {statistics.median(times):6.3f} {min(times):6.3f}")


if __name__ == "__main__":
    main()
