"""The star lines without numba (``osteoimaging.focal.starlines_numpy``) against the numba
kernels of ``osteoimaging.focal.starlines`` and the readable rules of ``profiles``.

Tolerance: none — counts and values must be equal bit for bit. The numpy path does the
kernels' float64 operations in the kernels' order (sampling weights, differences, half
levels, crossings; BMD-loss and line sums added one term at a time from 0), rounds the
same per-sample values to float32 and adds them to the per-voxel float64 sums in the same
orientation and phase order. Both sides are plain IEEE-754 arithmetic: numba without
``fastmath`` emits no contraction flags (no fused multiply-add) and every numpy ufunc rounds
each operation. A difference would therefore be a different rule, not rounding.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
from focal_cases import vertebra_scan

from osteoimaging.calibration import LinearCalibration
from osteoimaging.errors import InputError
from osteoimaging.focal import FocalParameters, measure_focal, profiles, starlines_numpy
from osteoimaging.focal import starlines as sl
from osteoimaging.focal._jit import HAVE_NUMBA, NO_NUMBA_ENV
from osteoimaging.focal.filters import smooth
from osteoimaging.focal.parameters import HALF_LEVELS, WIDTHS
from osteoimaging.volume import Volume

ROOT = Path(__file__).resolve().parents[1]
CAL = LinearCalibration.manual(0.8, -5.0)
needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed")


def _assert_same(a: sl.StarLineSums, b: sl.StarLineSums) -> None:
    np.testing.assert_array_equal(a.count, b.count)
    for name in ("width", "bmd_loss", "bmc_loss"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _both(bmd, roi, params) -> tuple[sl.StarLineSums, sl.StarLineSums]:
    return (
        sl.star_line_sums(bmd, roi, params, backend="numba"),
        sl.star_line_sums(bmd, roi, params, backend="numpy"),
    )


# -- single profiles: the readable rules ---------------------------------------------------
def _rules(p, depth=0.0):
    return [(v.left, v.right) for v in profiles.find_voids(np.asarray(p, float), depth)]


HAND_PROFILES = [
    [600, 1200, 800, 200, 800, 1200, 600],  # symmetric valley
    [0, 10, 4, 0, 6, 20, 0],  # ridges of their own heights
    [0, 5, 5, 5, 1, 5, 5, 0],  # ridge plateaus
    [0, 10, 2, 2, 2, 10, 0],  # valley plateau
    [0, 10, 0, 10, 4, 10, 0],  # two valleys sharing a ridge
    [0, 10, 1, 2, 1, 10, 0],  # a ripple inside a valley
    [0, 10, 5, 5, 10, 5, 5, 10, 0],  # crossings exactly on samples
    [1, 2, 3, 4, 5],
    [0, 5, 0],
    [3, 3, 3, 3],
    [10, 2, 10],  # valley between the end samples
    [0, 5, 10, 5, 8],
    [3, 3, 3, 5, 1, 5],  # ridge plateau touching the start
    [5, 1, 5, 3, 3, 3],  # ridge plateau touching the end
    [8],
    [],
]


@pytest.mark.parametrize("depth", [0.0, 1.5, 2.0, 4.0, 9.5])
def test_hand_profiles_equal_the_readable_rules(depth):
    got = [[v[:2] for v in vs] for vs in starlines_numpy.voids_of_profiles(HAND_PROFILES, depth)]
    assert got == [_rules(p, depth) for p in HAND_PROFILES]
    if depth == 2.0:  # the ripple 1-2-1 merges into one void between the 10s
        assert got[5] == [(1.5, 4.5)]


def test_random_profiles_equal_the_readable_rules():
    """Rounded noise: many plateaus, profiles of 0–40 samples, persistence merging."""
    rng = np.random.default_rng(0)
    batch = [np.round(rng.normal(size=rng.integers(0, 40)) * 3) for _ in range(600)]
    batch += [np.round(np.cumsum(rng.normal(size=60)) * 2) for _ in range(100)]  # walks
    for depth in (0.0, 1.5, 4.0, 10.0):
        got = [[v[:2] for v in vs] for vs in starlines_numpy.voids_of_profiles(batch, depth)]
        assert got == [_rules(p, depth) for p in batch]
    assert sum(map(len, starlines_numpy.voids_of_profiles(batch, 1.5))) > 500


# -- lattices: the numba kernels -----------------------------------------------------------
@pytest.fixture(scope="module")
def vertebra():
    """Filtered BMD and ROI of the routine-CT vertebra phantom (tests' small vertebra)."""
    params = FocalParameters(angle_step_deg=90.0)
    result = measure_focal(*vertebra_scan(), CAL, params)
    bmd = CAL.apply(smooth(result.hu.array, params.spacing_mm, params.sigma_mm))
    return bmd, result.roi.array


@needs_numba
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"aggregation": "line"}, {"min_valley_depth": 40.0, "line_phases": 3}],
    ids=["default", "line", "depth-phases"],
)
def test_vertebra_phantom_numpy_equals_numba(vertebra, kwargs):
    a, b = _both(*vertebra, FocalParameters(**kwargs))
    _assert_same(a, b)
    assert (a.count > 0).mean() > 0.3  # the comparison covers much of the ROI


def _volumes():
    rng = np.random.default_rng(5)
    shape = (14, 19, 23)
    z, y, x = np.indices(shape)
    plateaus = np.round(rng.normal(600, 300, shape) / 150) * 150  # ties everywhere
    texture = ndi.gaussian_filter(rng.normal(600, 400, shape), 1.2)
    slabs = np.where(((x + 2 * y + z) // 3) % 2 == 0, 1200.0, 300.0)  # exact half levels
    full = np.ones(shape, bool)  # touches every face: clamped interpolation
    ball = (z - 7) ** 2 / 49 + (y - 9) ** 2 / 64 + (x - 11) ** 2 / 100 < 1
    holes = full & (rng.random(shape) < 0.85)  # many short runs
    return {
        "plateaus-full": (plateaus, full),
        "texture-ball": (texture, ball),
        "slabs-holes": (slabs, holes),
    }


VOLUMES = _volumes()


@needs_numba
@pytest.mark.parametrize("volume", VOLUMES)
@pytest.mark.parametrize("mode", ["2d", "3d"])
@pytest.mark.parametrize("aggregation", ["local", "line"])
@pytest.mark.parametrize("depth", [0.0, 120.0])
@pytest.mark.parametrize("phases", [1, 2, 3])
def test_volumes_numpy_equals_numba_for_every_option(volume, mode, aggregation, depth, phases):
    bmd, roi = VOLUMES[volume]
    params = FocalParameters(
        mode=mode,
        aggregation=aggregation,
        min_valley_depth=depth,
        line_phases=phases,
        angle_step_deg=30.0 if mode == "2d" else 45.0,  # 6 or 11 directions
        line_spacing_mm=0.15 if phases == 2 else 0.3,
        sample_step_mm=0.3 if phases != 3 else 0.2,
    )
    a, b = _both(bmd.astype(np.float32), roi, params)
    _assert_same(a, b)
    assert a.count.sum() > 0


@needs_numba
@pytest.mark.parametrize("volume", VOLUMES)
@pytest.mark.parametrize("aggregation", ["local", "line"])
@pytest.mark.parametrize("half_level", HALF_LEVELS)
@pytest.mark.parametrize("width", WIDTHS)
def test_volumes_numpy_equals_numba_for_every_reading(volume, aggregation, half_level, width):
    """The readings of the half level and of the width, each with both aggregations on
    every volume; mode, depth and phases rotate through their values across the grid."""
    bmd, roi = VOLUMES[volume]
    k = HALF_LEVELS.index(half_level) + len(HALF_LEVELS) * WIDTHS.index(width)
    params = FocalParameters(
        mode=("2d", "3d")[k % 2],
        aggregation=aggregation,
        min_valley_depth=(0.0, 120.0)[(k // 2) % 2],
        line_phases=1 + k % 3,
        angle_step_deg=30.0 if k % 2 == 0 else 45.0,
        line_spacing_mm=0.15 if k % 3 == 1 else 0.3,
        sample_step_mm=0.3 if k % 3 != 2 else 0.2,
        half_level=half_level,
        width=width,
    )
    a, b = _both(bmd.astype(np.float32), roi, params)
    _assert_same(a, b)
    assert a.count.sum() > 0


@needs_numba
@pytest.mark.parametrize("half_level", HALF_LEVELS[1:])
def test_vertebra_phantom_readings_numpy_equals_numba(vertebra, half_level):
    a, b = _both(*vertebra, FocalParameters(half_level=half_level, width="half"))
    _assert_same(a, b)
    assert (a.count > 0).mean() > 0.3


@pytest.mark.parametrize("half_level", HALF_LEVELS)
def test_hand_profiles_equal_the_readable_rules_for_every_reading(half_level):
    code = HALF_LEVELS.index(half_level)
    for depth in (0.0, 2.0):
        got = starlines_numpy.voids_of_profiles(HAND_PROFILES, depth, code)
        want = [
            [(v.left, v.right, v.minimum) for v in profiles.find_voids(np.asarray(p, float),
                                                                       depth, half_level)]
            for p in HAND_PROFILES
        ]  # fmt: skip
        assert got == want


@needs_numba
def test_trace_orientation_and_float64_input(vertebra):
    """One oblique orientation called directly, on a float64 image (converted alike)."""
    bmd, roi = vertebra
    params = FocalParameters(mode="3d")
    d = np.array([0.3, -0.5, 0.81])
    a = sl.trace_orientation(bmd.astype(np.float64), roi, d, params, backend="numba")
    b = sl.trace_orientation(bmd.astype(np.float64), roi, d, params, backend="numpy")
    _assert_same(a, b)


@pytest.mark.parametrize("mode", ["2d", "3d"])
def test_chunks_do_not_change_the_result(mode, monkeypatch):
    """Lattices cut into chunks of one or a few lines give the sums of whole lattices."""
    bmd, roi = VOLUMES["texture-ball"]
    params = FocalParameters(
        mode=mode, angle_step_deg=90.0, min_valley_depth=50.0, line_spacing_mm=0.3, line_phases=1
    )
    whole = sl.star_line_sums(bmd, roi, params, backend="numpy")
    for chunk in (5, 300):  # 5 < one line: a line per chunk
        monkeypatch.setattr(starlines_numpy, "CHUNK_SAMPLES", chunk)
        _assert_same(whole, sl.star_line_sums(bmd, roi, params, backend="numpy"))


# -- dispatch ------------------------------------------------------------------------------
def test_backend_choice(monkeypatch):
    monkeypatch.delenv(NO_NUMBA_ENV, raising=False)
    assert sl.star_line_backend() == ("numba" if HAVE_NUMBA else "numpy")
    monkeypatch.setenv(NO_NUMBA_ENV, "1")
    assert sl.star_line_backend() == "numpy"
    monkeypatch.setenv(NO_NUMBA_ENV, "0")
    assert sl.star_line_backend() == ("numba" if HAVE_NUMBA else "numpy")
    assert sl.star_line_backend("numpy") == "numpy"
    with pytest.raises(InputError, match="backend must be one of numba, numpy"):
        sl.star_line_backend("cuda")


def test_numpy_module_does_not_import_numba():
    tree = ast.parse((ROOT / "osteoimaging/focal/starlines_numpy.py").read_text("utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert names <= {"__future__", "numpy", "osteoimaging.focal.parameters"}, names


# -- measure_focal where numba cannot be imported ------------------------------------------
_NO_NUMBA_SCRIPT = """
import json, logging, sys
sys.modules["numba"] = None  # "import numba" raises ImportError from here on
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="LOG %(levelname)s %(message)s")
import numpy as np
from osteoimaging.focal import FocalParameters, measure_focal
from osteoimaging.focal import starlines
from osteoimaging.volume import Volume
print("IMPORTED", file=sys.stderr, flush=True)
arrays = np.load(sys.argv[1])
ct = Volume(arrays["ct"], (0.3, 0.3, 0.3))
mask = ct.with_array(arrays["mask"])
params = FocalParameters(**json.loads(sys.argv[2]))
results = [measure_focal(ct, mask, None, params) for _ in range(2)]
np.savez(sys.argv[3], **{k: v.array for k, v in results[-1].maps.items()})
try:
    starlines.star_line_backend("numba")
except Exception as exc:
    print("NUMBA REFUSED:", exc, file=sys.stderr)
"""


@needs_numba
def test_measure_focal_without_numba_in_a_subprocess(tmp_path):
    """numba unimportable: silent import, the same maps as with numba, and one warning
    naming the slowdown (for two measurements in the process)."""
    rng = np.random.default_rng(2)
    texture = ndi.gaussian_filter(rng.normal(0, 1, (26, 40, 44)), 1.5)
    ct_array = (300 + 900 * (texture > 0) + 20 * rng.normal(size=texture.shape)).astype(np.int16)
    mask = np.zeros(ct_array.shape, bool)
    mask[2:-2, 3:-3, 3:-3] = True
    np.savez(tmp_path / "in.npz", ct=ct_array, mask=mask)
    params = {"erosion_mm": 0.9, "angle_step_deg": 30.0, "min_valley_depth": 20.0}
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop(NO_NUMBA_ENV, None)
    done = subprocess.run(
        [sys.executable, "-c", _NO_NUMBA_SCRIPT, str(tmp_path / "in.npz"), json.dumps(params),
         str(tmp_path / "out.npz")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    before, after = done.stderr.split("IMPORTED\n")
    assert "LOG" not in before  # importing is silent
    warnings = [line for line in after.splitlines() if line.startswith("LOG WARNING")]
    assert len(warnings) == 1, done.stderr
    assert "numba is not installed: star lines run with numpy, about" in warnings[0]
    assert "× slower" in warnings[0] and "pip install numba" in warnings[0]
    assert "NUMBA REFUSED: star-line backend 'numba' asked for, but numba is not" in after

    ct = Volume(ct_array, (0.3, 0.3, 0.3))
    want = measure_focal(ct, ct.with_array(mask), None, FocalParameters(**params))
    got = np.load(tmp_path / "out.npz")
    assert np.isfinite(want.maps["focal_bmc_loss"].array).sum() > 1000
    for name, vol in want.maps.items():
        np.testing.assert_array_equal(got[name], vol.array, err_msg=name)
