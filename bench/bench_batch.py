"""Batch scaling: throughput with 1 and 2 Dask workers, and peak memory per worker.

    PYTHONPATH=. python bench/bench_batch.py [--cases 8] [--job focal|mask-stats]

Generates ``--cases`` synthetic vertebra CTs (default phantom size, 0.4×0.4×0.7 mm),
starts a LocalCluster for each worker count, warms it up, then times
:func:`osteoimaging.cohort.run_batch` on a fresh output folder (cluster start-up is
excluded; reading, hashing, the job and writing are included). Each worker runs one
case at a time with one thread for compiled code (numba, ITK), so the ratio measures the
batch's process-level scaling; the first case per worker pays numba's JIT compilation
unless numba's on-disk cache is warm (a warm-up batch runs first to fill it). Peak memory is each
worker process's resident set size sampled every 20 ms during the run. Target on a 2-core machine:
2 workers ≥ 1.6× the throughput of 1. The CPUs must be otherwise idle for a fair number.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _make_cases(folder: Path, n: int) -> Path:
    from osteoimaging.imageio import write_image
    from osteoimaging.phantoms import CTProtocol, FocalDefect, VertebraSpec, vertebra_ct

    lines = ["case_id,ct,mask,level"]
    for i in range(n):
        spec = VertebraSpec(
            defects=[FocalDefect((3.0, -4.0, 2.0), (5.0, 5.0, 5.0))],
            posterior_elements=False,
            hires_mm=0.2,
            scene_mm=0.2,
            seed=i,
        )
        ct, mask, _ = vertebra_ct(spec, CTProtocol(seed=100 + i))
        write_image(ct, folder / f"ct{i}.nrrd")
        write_image(mask.with_array(mask.array.astype(np.uint8)), folder / f"mask{i}.nrrd")
        lines.append(f"case{i},ct{i}.nrrd,mask{i}.nrrd,L1")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    (folder / "warmup.csv").write_text("\n".join(lines[:2]) + "\n")
    return manifest


def _start_sampler(dask_worker) -> None:
    """Sample this worker's resident memory every 20 ms in a thread (its peak is kept).

    ``getrusage`` peaks are not used: on Linux they survive ``exec`` and so include the
    parent process's memory at spawn time.
    """
    import threading

    import psutil

    state = {"peak": 0, "stop": False}

    def loop() -> None:
        proc = psutil.Process()
        while not state["stop"]:
            state["peak"] = max(state["peak"], proc.memory_info().rss)
            time.sleep(0.02)

    threading.Thread(target=loop, daemon=True).start()
    dask_worker.osteo_bench_memory = state


def _stop_sampler(dask_worker) -> float:
    state = dask_worker.osteo_bench_memory
    state["stop"] = True
    return state["peak"] / 2**20


def _run(manifest: Path, workers: int, job_name: str, out: Path) -> dict:
    from osteoimaging.cohort import read_manifest, resolve_job, run_batch
    from osteoimaging.cohort.batch import dask_client

    cases = read_manifest(manifest)
    job = resolve_job(job_name)
    with dask_client(workers, threads_per_worker=1) as client:
        client.run(_start_sampler)
        start = time.perf_counter()
        summary = run_batch(cases, out, job=job, client=client)
        seconds = time.perf_counter() - start
        peaks = list(client.run(_stop_sampler).values())
    if summary.failed:
        raise SystemExit(f"{summary.failed} case(s) failed: {summary.errors[:2]}")
    return {
        "workers": workers,
        "seconds": seconds,
        "cases_per_min": 60.0 * len(cases) / seconds,
        "peak_mb_per_worker": max(peaks),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=8)
    ap.add_argument("--job", default="focal", help="focal (default) or mask-stats")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="osteo-bench-batch-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        manifest = _make_cases(folder, args.cases)
        print(f"generated {args.cases} phantom cases in {time.perf_counter() - t0:.1f} s")
        warm = _run(folder / "warmup.csv", 1, args.job, folder / "warmup")
        print(f"warm-up (JIT cache): 1 case in {warm['seconds']:.1f} s")
        rows = [_run(manifest, n, args.job, folder / f"out{n}") for n in (1, 2)]
    for r in rows:
        print(
            f"{r['workers']} worker(s): {r['seconds']:.1f} s, {r['cases_per_min']:.1f} cases/min, "
            f"peak {r['peak_mb_per_worker']:.0f} MB per worker"
        )
    ratio = rows[1]["cases_per_min"] / rows[0]["cases_per_min"]
    print(f"throughput ratio 2 vs 1 workers: {ratio:.2f} (target ≥ 1.6)")


if __name__ == "__main__":
    main()
