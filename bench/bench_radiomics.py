"""Benchmark: radiomics extraction for one patient (L1–L4, T1 + T2).

Targets (issue 6): ``reference-9`` ≤ 5 s, ``full`` ≤ 60 s per patient. Uses the real lumbar MRI
``../shared/data/mri/lumbar-vb3/VB3_01.mat`` (one sequence, used as T1 and T2; 1 mm assumed
spacing), or a synthetic spine when it is absent.

    PYTHONPATH=$PWD python bench/bench_radiomics.py [--repeat 3] [--preset reference-9 full]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("OSTEO_SHARED_DATA", ROOT.parent / "shared" / "data"))
TARGETS = {"reference-9": 5.0, "full": 60.0}


def _inputs():
    from osteoimaging.radiomics.matio import read_volume

    path = SHARED / "mri" / "lumbar-vb3" / "VB3_01.mat"
    if path.exists():
        image = read_volume(path, variable="I", spacing=(1.0, 1.0, 1.0))
        labels = read_volume(path, variable="GT", spacing=(1.0, 1.0, 1.0))
        return "VB3_01.mat 224×224×77", image, image, labels
    sys.path.insert(0, str(ROOT / "Testing"))
    from test_radiomics_extract import synthetic_spine

    t1, t2, labels = synthetic_spine()
    return "synthetic 30×36×60", t1, t2, labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--preset", nargs="+", default=["reference-9", "full"])
    args = parser.parse_args()
    from osteoimaging.radiomics.extract import extract_features

    name, t1, t2, labels = _inputs()
    print(f"data: {name}; labels 1–4 (L1–L4); T1 + T2")
    failed = False
    for preset in args.preset:
        times, table = [], None
        for _ in range(args.repeat):
            start = time.perf_counter()
            table = extract_features(t1, t2, labels, [1, 2, 3, 4], preset)
            times.append(time.perf_counter() - start)
        n_features = sum(c.startswith(("T1_", "T2_")) for c in table.columns)
        median = statistics.median(times)
        target = TARGETS.get(preset, np.inf)
        verdict = "OK" if median <= target else "SLOW"
        failed |= median > target
        print(
            f"{preset:12s} {n_features:5d} features  median {median:6.2f} s  "
            f"(min {min(times):.2f}, max {max(times):.2f}; target ≤ {target:g} s) {verdict}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
