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

``--no-numba`` also times the numpy star lines (``osteoimaging.focal.starlines_numpy``) in
a process where ``import numba`` fails, as in a Slicer without numba, and checks that its
star-line sums equal the numba run's bit for bit. ``--plain-python K`` times the numba
kernels run as plain Python (the old fallback) on K orientations and scales to all.

Usage (from the repository root)::

    PYTHONPATH=$PWD python bench/bench_focal.py [--threads N] [--reference-voxels 300] [--3d]
        [--no-numba] [--plain-python 1]
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


def _block_numba() -> None:
    """Make ``import numba`` fail in this process, as in a Slicer without numba."""
    sys.modules["numba"] = None  # type: ignore[assignment]


def _plain_python(ct_path: str, mask_path: str, n_orientations: int) -> dict:
    """The numba kernels as plain Python (numba blocked) on the first orientations."""
    _block_numba()
    import numpy as np

    from osteoimaging.calibration import LinearCalibration
    from osteoimaging.focal import FocalParameters, measure_focal
    from osteoimaging.focal import starlines as sl
    from osteoimaging.focal.filters import smooth
    from osteoimaging.imageio import read_image

    ct, mask = read_image(ct_path), read_image(mask_path)
    cal = LinearCalibration.manual(0.8, -5.0)
    params = FocalParameters()
    result = measure_focal(ct, mask, cal, FocalParameters(angle_step_deg=90.0))
    bmd = np.ascontiguousarray(
        cal.apply(smooth(result.hu.array, params.spacing_mm, params.sigma_mm)), np.float32
    )
    roi = result.roi.array
    # Route the "numpy" backend to the uncompiled kernels (only here, for the record).
    sl.starlines_numpy = type("Kernels", (), {
        "trace_and_gather": staticmethod(sl._trace_and_gather),
        "extent": staticmethod(sl._extent),
    })  # fmt: skip
    dirs = sl.directions(params)
    coords = sl.roi_coordinates(roi)
    sums = sl.StarLineSums.zeros(len(coords))
    centre, box = np.round(coords.mean(axis=0)), (coords.min(axis=0), coords.max(axis=0))
    t0, c0 = time.perf_counter(), time.process_time()
    for d in dirs[:n_orientations]:
        sl.trace_orientation(bmd, roi, d, params, coords, sums, centre, box, "numpy")
    return {
        "orientations": n_orientations,
        "of": len(dirs),
        "s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
    }


def _worker(
    ct_path: str, mask_path: str, repeat: int, mode: str, ref_voxels: int, backend: str = "numba",
    sums_path: str = "",
) -> dict:  # fmt: skip
    if backend == "numpy":
        _block_numba()
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
        sums = star_line_sums(bmd, roi, params)
        star.append(time.perf_counter() - t0)
        star_cpu.append(time.process_time() - c0)
    if sums_path:
        np.savez(sums_path, **vars(sums))
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


def _spawn(args: list[str], env: dict, flag: str = "--worker") -> dict:
    if flag == "--worker":
        args = [*args, "numba", ""][:7]
    cmd = [sys.executable, __file__, flag, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _same_sums(a: Path, b: Path) -> bool:
    import numpy as np

    with np.load(a) as x, np.load(b) as y:
        return set(x) == set(y) and all(np.array_equal(x[k], y[k]) for k in x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="NUMBA_NUM_THREADS [all]")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reference-voxels", type=int, default=300)
    parser.add_argument("--3d", dest="mode3d", action="store_true", help="also time 3D mode")
    parser.add_argument(
        "--no-numba", action="store_true", help="also time the numpy star lines (numba blocked)"
    )
    parser.add_argument(
        "--plain-python", type=int, default=0, metavar="K",
        help="also time the kernels as plain Python on K orientations (minutes each)",
    )  # fmt: skip
    parser.add_argument("--worker", nargs=7, help=argparse.SUPPRESS)
    parser.add_argument("--plain-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        ct, mask, repeat, mode, ref, backend, sums = args.worker
        print(json.dumps(_worker(ct, mask, int(repeat), mode, int(ref), backend, sums)))
        return
    if args.plain_worker:
        ct, mask, k = args.plain_worker
        print(json.dumps(_plain_python(ct, mask, int(k))))
        return

    from osteoimaging.imageio import write_image
    from osteoimaging.phantoms import demo_case, vertebra_ct

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
        numba_sums, numpy_sums = Path(tmp) / "numba.npz", Path(tmp) / "numpy.npz"
        cached = _spawn([*common, str(args.reference_voxels), "numba", str(numba_sums)], env)
        three_d = (
            _spawn([str(ct_path), str(mask_path), "1", "3d", "0"], env) if args.mode3d else None
        )
        no_numba = _spawn([*common, "0", "numpy", str(numpy_sums)], env) if args.no_numba else None
        identical = no_numba and _same_sums(numba_sums, numpy_sums)
        plain = (
            _spawn([str(ct_path), str(mask_path), str(args.plain_python)], env, "--plain-worker")
            if args.plain_python
            else None
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
    if no_numba:
        nn = no_numba
        print("numpy star lines (numba not importable; --no-numba), default parameters:")
        print(f"  first call of a session               {nn['first_s']:.2f} s/vertebra")
        print(f"  warm (median of {args.repeat})                    {nn['warm_s']:.2f} s/vertebra "
              f"(CPU {nn['warm_cpu_s']:.2f} s) = {nn['warm_s'] / cached['warm_s']:.1f}x numba's "
              f"{cached['warm_s']:.2f} s")  # fmt: skip
        print(f"  of which star lines                   {nn['star_lines_s']:.2f} s "
              f"(CPU {nn['star_lines_cpu_s']:.2f} s) = "
              f"{nn['star_lines_s'] / cached['star_lines_s']:.1f}x numba's "
              f"{cached['star_lines_s']:.2f} s (CPU "
              f"{nn['star_lines_cpu_s'] / cached['star_lines_cpu_s']:.1f}x)")  # fmt: skip
        print(f"  peak memory                           {nn['peak_rss_mb']:.0f} MB "
              f"(before the first call: {nn['rss_before_mb']:.0f} MB)")  # fmt: skip
        print(f"  star-line sums equal numba's bit for bit: {'yes' if identical else 'NO'}")
    if plain:
        scale = plain["of"] / plain["orientations"]
        print(f"plain-Python kernels (old fallback): {plain['s']:.0f} s for "
              f"{plain['orientations']} of {plain['of']} orientations (CPU "
              f"{plain['cpu_s']:.0f} s) = about {plain['s'] * scale / 60:.1f} min/vertebra of "
              f"star lines (CPU {plain['cpu_s'] * scale / 60:.1f} min)")  # fmt: skip
    if three_d:
        t3 = three_d
        print(f"3D mode ({t3['n_orientations']} directions): first {t3['first_s']:.2f} s, "
              f"warm {t3['warm_s']:.2f} s, peak {t3['peak_rss_mb']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
