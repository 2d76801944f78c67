"""One-click segmentation of L1 on the example CT: cold and warm times, per step, in one run.

Usage: ``python bench/bench_segment.py [DATA_DIR] [--repeat N] [--backend numba|vtk]``
(default ``../shared/data``, 7 warm repeats, our numba kernel).

Cold = a fresh process: importing the segmentation package, reading the CT, and the
first segmentation (numba loads its cached kernels there). Warm = the same click again,
``--repeat`` times (min and median). Steps are timed with the progress callback of
``segment_vertebral_body`` (crop + NaN check + smoothing; probes to the body's centre;
final seeds + GrowCut; clean-up + checks) and a wrapper around the GrowCut backend (the
GrowCut share of the probe and final steps). Wall and CPU seconds are both printed: on a
shared machine wall time includes waiting for a core. The run also reports whether
``itk`` or ``scipy.signal`` were imported (they must not be on the default path).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

T_START = time.perf_counter()
C_START = time.process_time()

import numpy as np  # noqa: E402

from osteoimaging.segmentation import segment_vertebral_body  # noqa: E402

T_IMPORT = time.perf_counter() - T_START
C_IMPORT = time.process_time() - C_START

STEPS = ("crop + smoothing", "probes", "final GrowCut", "clean-up + checks")


class Clock:
    """Wall and CPU time of each segmentation step and of the GrowCut calls."""

    def __init__(self, backend):
        self.backend = backend
        self.marks: list[tuple[str, float, float]] = []
        self.growcut = [0.0, 0.0]

    def progress(self, fraction: float, message: str = "") -> None:
        self.marks.append((message, time.perf_counter(), time.process_time()))

    def wrapped(self, image, seeds, spacing):
        t, c = time.perf_counter(), time.process_time()
        out = self.backend(image, seeds, spacing)
        self.growcut[0] += time.perf_counter() - t
        self.growcut[1] += time.process_time() - c
        return out

    def steps(self) -> dict[str, tuple[float, float]]:
        out = {}
        for name, (_, t0, c0), (_, t1, c1) in zip(
            STEPS, self.marks[:-1], self.marks[1:], strict=False
        ):
            out[name] = (t1 - t0, c1 - c0)
        out["of which GrowCut"] = tuple(self.growcut)
        return out


def run(ct, click, backend):
    clock = Clock(backend)
    t, c = time.perf_counter(), time.process_time()
    result = segment_vertebral_body(ct, click, progress=clock.progress, growcut=clock.wrapped)
    return result, (time.perf_counter() - t, time.process_time() - c), clock.steps()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--backend", choices=("numba", "vtk"), default="numba")
    args = parser.parse_args()
    if args.backend == "vtk":
        from osteoimaging.mrml.growcut import vtk_growcut as backend
    else:
        from osteoimaging.segmentation.fastgrowcut import fast_growcut as backend
    from osteoimaging.imageio import read_image
    from osteoimaging.validation import read_ct

    folder = Path(args.data) / "ct" / "totalseg-example"
    t, c = time.perf_counter(), time.process_time()
    ct = read_ct(folder / "example_ct.nii.gz")
    t_read, c_read = time.perf_counter() - t, time.process_time() - c
    labels = read_image(folder / "totalseg_vertebrae_pp_refined.nii.gz").array
    body = (labels == 20) & (read_image(folder / "totalseg_vertebrae_body.nii.gz").array == 1)
    click = ct.index_to_physical(np.argwhere(body).mean(axis=0)[::-1])

    result, cold, cold_steps = run(ct, click, backend)
    warm = [run(ct, click, backend) for _ in range(args.repeat)]
    print(
        f"L1 of the example CT ({ct.describe()}), click at the body's centroid, "
        f"backend {args.backend}: {result.volume_ml:.1f} ml, {len(result.attempts)} probe(s), "
        f"flags {result.flags or 'none'}"
    )
    print(f"{'':28s}{'wall s':>9s}{'CPU s':>9s}")
    print(f"{'cold: import segmentation':28s}{T_IMPORT:9.3f}{C_IMPORT:9.3f}")
    print(f"{'cold: read the CT':28s}{t_read:9.3f}{c_read:9.3f}")
    print(f"{'cold: first segmentation':28s}{cold[0]:9.3f}{cold[1]:9.3f}")
    for name, (w, c) in cold_steps.items():
        print(f"{'  ' + name:28s}{w:9.3f}{c:9.3f}")
    walls = np.array([w[1][0] for w in warm])
    cpus = np.array([w[1][1] for w in warm])
    print(f"{'warm: segmentation, min':28s}{walls.min():9.3f}{cpus.min():9.3f}")
    print(f"{'warm: segmentation, median':28s}{np.median(walls):9.3f}{np.median(cpus):9.3f}")
    best = warm[int(np.argmin(walls))][2]
    for name, (w, c) in best.items():
        print(f"{'  ' + name:28s}{w:9.3f}{c:9.3f}")
    loaded = [m for m in ("itk", "scipy.signal") if m in sys.modules]
    print(f"modules loaded that the default path must not load: {loaded or 'none'}")


if __name__ == "__main__":
    main()
