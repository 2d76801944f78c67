"""Synthetic trabecular bone with controlled BV/TV and thickness (or separation).

Method: an isotropic, narrow-band Gaussian random field f (white noise filtered by a
spherical shell |k| ≈ k0 in Fourier space); bone is the band |f| < t around its zero
level set, a connected network of curved plates. ``t`` is the |f|-quantile that gives
the requested BV/TV exactly (up to one voxel).

Scale: for an isotropic Gaussian field with a narrow spectrum at wavenumber k0, the
mean number of zero crossings per unit length of a straight line is k0 / (π √3)
(Rice's formula, S.O. Rice, Bell Syst. Tech. J. 1944; Adler, *The Geometry of Random
Fields*, 1981). Each crossing is one plate, so in the parallel-plate model
(Parfitt et al., J Clin Invest 1983): Tb.N = k0 / (π √3), Tb.Th = BV/TV / Tb.N and
Tb.Sp = (1 − BV/TV) / Tb.N. The realised plate-model values are approximate (the
field's spectrum has a finite width); the model-independent local-thickness values
are measured by the validation tools, not assumed.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft


def plate_model(
    bvtv: float, tb_th_mm: float | None = None, tb_sp_mm: float | None = None
) -> dict[str, float]:
    """Parallel-plate model (Parfitt 1983): complete (BV/TV, Tb.Th, Tb.Sp, Tb.N) from two."""
    if not 0.0 < bvtv < 1.0:
        raise ValueError(f"BV/TV must be in (0, 1), got {bvtv}")
    if (tb_th_mm is None) == (tb_sp_mm is None):
        raise ValueError("give exactly one of tb_th_mm and tb_sp_mm")
    if tb_th_mm is not None:
        if tb_th_mm <= 0:
            raise ValueError("Tb.Th must be positive")
        tb_n = bvtv / tb_th_mm
    else:
        if tb_sp_mm <= 0:
            raise ValueError("Tb.Sp must be positive")
        tb_n = (1.0 - bvtv) / tb_sp_mm
    return {
        "bvtv": bvtv,
        "tb_th_mm": bvtv / tb_n,
        "tb_sp_mm": (1.0 - bvtv) / tb_n,
        "tb_n_per_mm": tb_n,
    }


def gaussian_shell_field(
    shape: tuple[int, int, int],
    spacing_mm: float,
    k0: float,
    rel_bandwidth: float = 0.25,
    seed: int | None = 0,
) -> np.ndarray:
    """Zero-mean, unit-variance isotropic random field with spectrum peaked at |k| = k0 (rad/mm)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(shape, dtype=np.float32)
    spec = scipy.fft.rfftn(noise, workers=-1)
    del noise
    freqs = [2 * np.pi * scipy.fft.fftfreq(n, d=spacing_mm).astype(np.float32) for n in shape[:-1]]
    freqs.append(2 * np.pi * scipy.fft.rfftfreq(shape[-1], d=spacing_mm).astype(np.float32))
    kz, ky, kx = np.meshgrid(*freqs, indexing="ij", sparse=True)
    kmag = np.sqrt(kz * kz + ky * ky + kx * kx)
    width = rel_bandwidth * k0
    spec *= np.exp(-0.5 * ((kmag - k0) / width) ** 2).astype(np.float32)
    del kmag
    field = scipy.fft.irfftn(spec, s=shape, workers=-1).astype(np.float32)
    field -= field.mean()
    field /= field.std() + 1e-12
    return field


def trabecular_bone(
    shape: tuple[int, int, int],
    spacing_mm: float,
    bvtv: float,
    tb_th_mm: float | None = None,
    tb_sp_mm: float | None = None,
    seed: int | None = 0,
    field: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean trabecular bone of the requested BV/TV on an isotropic grid.

    Give Tb.Th *or* Tb.Sp (mm); the other follows from the plate model
    (:func:`plate_model`). The grid spacing should be ≤ Tb.Th / 1.5 for plates of
    the requested thickness to be resolved (0.1 mm for typical vertebral bone).
    """
    model = plate_model(bvtv, tb_th_mm, tb_sp_mm)
    k0 = math.pi * math.sqrt(3.0) * model["tb_n_per_mm"]
    if field is None:
        field = gaussian_shell_field(shape, spacing_mm, k0, seed=seed)
    absf = np.abs(field)
    t = np.quantile(absf[:: max(1, shape[0] // 64)], bvtv)
    return absf < t
