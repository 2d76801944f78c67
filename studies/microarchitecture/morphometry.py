"""Standard 3D trabecular indices from a binary bone volume (ASBMR nomenclature).

Nomenclature: Dempster et al., J Bone Miner Res 2013;28:2–17 (BV/TV, Tb.Th, Tb.Sp, Tb.N);
micro-CT guidelines: Bouxsein et al., J Bone Miner Res 2010;25:1468–1486.

* BV/TV — bone voxels / volume-of-interest voxels.
* Tb.Th — mean local thickness of the bone (Hildebrand & Rüegsegger 1997), i.e. the
  mean over bone voxels of the largest-inscribed-sphere diameter.
* Tb.Sp — the same measured on the marrow phase (VOI minus bone) (Hildebrand et al.,
  J Bone Miner Res 1999;14:1167–1174).
* Tb.N — ``tb_n_per_mm`` = 1 / (Tb.Th + Tb.Sp), the inverse of the mean distance
  between the mid-axes of the plates or rods (Hildebrand et al. 1999 define Tb.N as the
  inverse mean mid-axis distance; Tb.Th + Tb.Sp is that distance when both are measured
  by local thickness). ``tb_n_plate_per_mm`` = BV/TV / Tb.Th is the parallel-plate
  relation (Parfitt et al., J Clin Invest 1983;72:1396–1409), which is how CTAn (used by
  Li et al. 2022) reports 3D Tb.N from its sphere-fitting Tb.Th.

The border of the VOI counts as a boundary for both phases (spheres stay in the VOI);
the border of the array does not (structures continue beyond it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume
from studies.microarchitecture.local_thickness import local_thickness_array


@dataclass
class Morphometry:
    """Trabecular indices of one volume of interest (lengths in mm)."""

    bvtv: float
    tb_th_mm: float
    tb_sp_mm: float
    tb_n_per_mm: float
    tb_n_plate_per_mm: float
    tb_th_sd_mm: float
    tb_sp_sd_mm: float
    tv_mm3: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return float("nan"), float("nan")
    return float(values.mean(dtype=np.float64)), float(values.std(dtype=np.float64))


def morphometry(
    bone: Volume, voi: Volume | None = None, *, ridge_tolerance: float = 0.25
) -> Morphometry:
    """BV/TV, Tb.Th, Tb.Sp and Tb.N of a boolean bone volume within ``voi`` (default: all)."""
    b = bone.array.astype(bool, copy=False)
    if voi is None:
        v = np.ones(b.shape, dtype=bool)
    else:
        if not voi.same_geometry(bone):
            raise InputError("the volume of interest is not on the bone volume's grid")
        v = voi.array.astype(bool, copy=False)
    n_tv = int(v.sum())
    if n_tv == 0:
        raise InputError("the volume of interest is empty")
    trab = b & v
    marrow = v & ~b
    if not trab.any() or not marrow.any():
        raise InputError("the volume of interest holds only bone or only marrow")
    sp = bone.spacing_zyx
    tb_th, tb_th_sd = _mean_sd(
        local_thickness_array(trab, sp, ridge_tolerance=ridge_tolerance)[trab]
    )
    tb_sp, tb_sp_sd = _mean_sd(
        local_thickness_array(marrow, sp, ridge_tolerance=ridge_tolerance)[marrow]
    )
    bvtv = float(trab.sum()) / n_tv
    return Morphometry(
        bvtv=bvtv,
        tb_th_mm=tb_th,
        tb_sp_mm=tb_sp,
        tb_n_per_mm=1.0 / (tb_th + tb_sp),
        tb_n_plate_per_mm=bvtv / tb_th,
        tb_th_sd_mm=tb_th_sd,
        tb_sp_sd_mm=tb_sp_sd,
        tv_mm3=n_tv * bone.voxel_volume_mm3,
    )
