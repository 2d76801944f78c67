"""Small phantoms with known answers for the focal-defect tests (shared by several files)."""

from __future__ import annotations

import functools

import numpy as np

from osteoimaging.volume import Volume

TISSUE = 1200.0


def slab_volume(
    shape: tuple[int, int, int],
    axis: int,
    void_px: int,
    plate_px: int,
    void_bmd: float,
    spacing: float = 0.3,
    offset_px: int = 0,
) -> Volume:
    """Parallel voids (``void_bmd``) between bone plates (1200), alternating along array
    ``axis`` (0 = z, 1 = y, 2 = x), on an isotropic grid with identity direction."""
    period = void_px + plate_px
    pos = (np.arange(shape[axis]) + offset_px) % period
    line = np.where(pos < void_px, void_bmd, TISSUE).astype(np.float32)
    view = [1, 1, 1]
    view[axis] = shape[axis]
    arr = np.broadcast_to(line.reshape(view), shape).copy()
    return Volume(arr, (spacing,) * 3, (0.0, 0.0, 0.0))


def box_mask(like: Volume, margin_px: int = 0) -> Volume:
    m = np.zeros(like.shape, bool)
    sl = tuple(slice(margin_px, n - margin_px) for n in like.shape)
    m[sl] = True
    return like.with_array(m)


@functools.lru_cache(maxsize=1)
def small_vertebra():
    """A small synthetic vertebra (scene, spec) with a 3 mm focal void; built once (~4 s)."""
    from osteoimaging.phantoms import FocalDefect, VertebraSpec, make_vertebra

    spec = VertebraSpec(
        width_mm=28,
        depth_mm=22,
        height_mm=22,
        posterior_elements=False,
        defects=[FocalDefect((2.0, -2.0, 0.0), (3.0, 3.0, 3.0))],
        seed=3,
    )
    return make_vertebra(spec)


def vertebra_scan(
    rotation_deg=(0.0, 0.0, 0.0), seed: int = 4, spacing_mm=(0.4, 0.4, 0.7)
) -> tuple[Volume, Volume]:
    """Routine-CT view (HU) and body mask of :func:`small_vertebra`, optionally rotated."""
    from osteoimaging.phantoms import CTProtocol, simulate_ct

    phantom = small_vertebra()
    protocol = CTProtocol(seed=seed, rotation_deg=rotation_deg, spacing_mm=spacing_mm)
    ct = simulate_ct(phantom.scene, protocol)
    return ct, phantom.body_mask_on(ct)
