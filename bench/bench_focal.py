"""Benchmark of the focal osteoporosis defect measurement (issue 3).

Prints seconds per vertebra for a ~200 000-voxel ROI (the bundled demo phantom: 0.3 mm
grid, 15 orientations), the speed-up over the per-voxel reference of steps 6–9 measured
in the same run (per ROI voxel), and peak memory. Each timing runs in a fresh process:

* ``compile``: numba compiles the kernels (empty cache directory) — first call ever;
* ``cached``: a new process loading the compiled kernels from the cache — first call of
  every later session;
* ``warm``: further calls in the same process (median of ``--repeat``), wall-clock and CPU
  time; on a shared machine the CPU time of a ``--threads 1`` run is the closest estimate
  of the idle single-core wall time.

Usage (from the repository root)::

    PYTHONPATH=$PWD python bench/bench_focal.py [--threads N] [--reference-voxels 300] [--3d]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _status_mb(key: str) -> float:
    """VmRSS / VmHWM of this process from /proc (VmHWM restarts at exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Restart VmHWM at the current RSS (Linux: write 5 to /proc/self/clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _worker(ct_path: str, mask_path: str, repeat: int, mode: str, ref_voxels: int) -> dict:
    import numpy as np

    from osteoimaging.calibration import LinearCalibration
    from osteoimaging.focal import FocalParameters, measure_focal
    from osteoimaging.focal.filters import smooth
    from osteoimaging.focal.starlines import star_line_sums
    from osteoimaging.imageio import read_image

    ct, mask = read_image(ct_path), read_image(mask_path)
    cal = LinearCalibration.manual(0.8, -5.0)
    params = FocalParameters(mode=mode)
    rss_before = _status_mb("VmRSS")
    _reset_peak()
    t0 = time.perf_counter()
    result = measure_focal(ct, mask, cal, params)
    first = time.perf_counter() - t0
    warm, warm_cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = measure_focal(ct, mask, cal, params)
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(time.process_time() - c0)
    bmd = cal.apply(smooth(result.hu.array, params.spacing_mm, params.sigma_mm))
    roi = result.roi.array
    star, star_cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        star_line_sums(bmd, roi, params)
        star.append(time.perf_counter() - t0)
        star_cpu.append(time.process_time() - c0)
    out = {
        "roi_voxels": int(roi.sum()),
        "grid": list(result.roi.shape),
        "n_orientations": result.values["n_orientations"],
        "first_s": first,
        "warm_s": float(np.median(warm)),
        "warm_cpu_s": float(np.median(warm_cpu)),
        "star_lines_s": float(np.median(star)),
        "star_lines_cpu_s": float(np.median(star_cpu)),
        "rss_before_mb": rss_before,
        "peak_rss_mb": _status_mb("VmHWM"),
    }
    if ref_voxels:
        sys.path.insert(0, str(ROOT / "Testing"))
        from focal_reference import reference_values

        voxels = np.argwhere(roi)
        pick = voxels[np.random.default_rng(0).choice(len(voxels), ref_voxels, replace=False)]
        t0, c0 = time.perf_counter(), time.process_time()
        reference_values(bmd, roi, params, pick)
        out["reference_s_per_voxel"] = (time.perf_counter() - t0) / ref_voxels
        out["reference_cpu_s_per_voxel"] = (time.process_time() - c0) / ref_voxels
    return out


def _spawn(args: list[str], env: dict) -> dict:
    cmd = [sys.executable, __file__, "--worker", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="NUMBA_NUM_THREADS [all]")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reference-voxels", type=int, default=300)
    parser.add_argument("--3d", dest="mode3d", action="store_true", help="also time 3D mode")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        ct, mask, repeat, mode, ref = args.worker
        print(json.dumps(_worker(ct, mask, int(repeat), mode, int(ref))))
        return

    from osteoimaging.cli.demo import demo_case
    from osteoimaging.imageio import write_image
    from osteoimaging.phantoms import vertebra_ct

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if args.threads:
        env["NUMBA_NUM_THREADS"] = str(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        ct, mask, _ = vertebra_ct(*demo_case())
        ct_path, mask_path = Path(tmp) / "ct.nrrd", Path(tmp) / "mask.nrrd"
        write_image(ct, ct_path)
        write_image(mask.with_array(mask.array.astype("uint8")), mask_path)
        env["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba-cache")
        common = [str(ct_path), str(mask_path), str(args.repeat), "2d"]
        compiled = _spawn([*common, "0"], env)
        cached = _spawn([*common, str(args.reference_voxels)], env)
        three_d = (
            _spawn([str(ct_path), str(mask_path), "1", "3d", "0"], env) if args.mode3d else None
        )

    n = cached["roi_voxels"]
    ref = cached["reference_s_per_voxel"]
    print(f"CT {ct.describe()}; ROI {n} voxels at 0.3 mm; grid {cached['grid']} (z, y, x)")
    print(f"threads: {env.get('NUMBA_NUM_THREADS', 'all')} of {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"first call, compiling numba kernels   {compiled['first_s']:.2f} s/vertebra")
    print(f"first call, kernels from cache        {cached['first_s']:.2f} s/vertebra")
    print(f"warm (median of {args.repeat})                  {cached['warm_s']:.2f} s/vertebra "
          f"(CPU time of all threads {cached['warm_cpu_s']:.2f} s)")  # fmt: skip
    print(f"  of which star lines (steps 6-9)     {cached['star_lines_s']:.2f} s "
          f"(CPU {cached['star_lines_cpu_s']:.2f} s)")  # fmt: skip
    print(f"per-voxel reference, steps 6-9        {ref * 1e3:.2f} ms/voxel "
          f"({args.reference_voxels} voxels) = {ref * n:.0f} s/vertebra")  # fmt: skip
    print(f"speed-up per ROI voxel, steps 6-9     {ref * n / cached['star_lines_s']:.0f}x")
    print(f"speed-up per ROI voxel, whole warm    {ref * n / cached['warm_s']:.0f}x")
    ref_cpu = cached["reference_cpu_s_per_voxel"] * n
    print(f"same in CPU time (steps 6-9, whole)   {ref_cpu / cached['star_lines_cpu_s']:.0f}x, "
          f"{ref_cpu / cached['warm_cpu_s']:.0f}x")  # fmt: skip
    print(f"peak memory (process peak RSS)        {cached['peak_rss_mb']:.0f} MB "
          f"(before the first call: {cached['rss_before_mb']:.0f} MB)")  # fmt: skip
    if three_d:
        t3 = three_d
        print(f"3D mode ({t3['n_orientations']} directions): first {t3['first_s']:.2f} s, "
              f"warm {t3['warm_s']:.2f} s, peak {t3['peak_rss_mb']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
