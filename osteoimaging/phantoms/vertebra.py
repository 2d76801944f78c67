"""A synthetic lumbar vertebra with known trabecular microarchitecture and focal defects.

Geometry (physical mm, LPS axes, body centre at the origin): the vertebral body is an
elliptic cylinder (width along x, depth along y, height along z; anterior is −y) with a
cortical shell, filled with trabecular bone from :mod:`.trabecular`; optional posterior
elements (pedicles, laminae, spinous process) attached to the posterior wall; discs
above and below; the end plates of the neighbouring vertebrae; muscle around the spine
and fat beyond. Densities are in mg/cm³ hydroxyapatite for bone and HU for soft tissue;
bone is converted to HU through the phantom's calibration (BMD = slope·HU + intercept).

Bone tissue is 1200 mg/cm³ by default, the density of intact bone tissue used by
Li et al., JOR Spine 2022;5:e1195, so that a void's focal BMD loss is known exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from osteoimaging.phantoms.trabecular import gaussian_shell_field, plate_model
from osteoimaging.volume import Volume

FAT_HU = -100.0
MUSCLE_HU = 45.0
DISC_HU = 90.0
CSF_HU = 10.0


@dataclass
class FocalDefect:
    """An ellipsoidal region of removed (``remaining_bvtv_fraction`` = 0) or thinned bone.

    ``center_mm`` is relative to the body centre in (x, y, z) LPS mm; ``radii_mm`` are
    the ellipsoid's semi-axes along x, y, z.
    """

    center_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    radii_mm: tuple[float, float, float] = (4.0, 4.0, 4.0)
    remaining_bvtv_fraction: float = 0.0


@dataclass
class VertebraSpec:
    """Parameters of :func:`make_vertebra` (lengths in mm, densities in mg/cm³ HA)."""

    width_mm: float = 40.0
    depth_mm: float = 30.0
    height_mm: float = 25.0
    cortical_mm: float = 0.8
    cortical_bmd: float = 900.0
    bvtv: float = 0.15
    tb_th_mm: float | None = 0.16
    tb_sp_mm: float | None = None
    tissue_bmd: float = 1200.0
    marrow_bmd: float = 0.0
    posterior_elements: bool = True
    posterior_bmd: float = 450.0
    discs_mm: float = 8.0
    neighbours: bool = True
    neighbour_bmd: float = 180.0
    defects: list[FocalDefect] = field(default_factory=list)
    hires_mm: float = 0.1
    scene_mm: float = 0.2
    calibration_slope: float = 0.8
    calibration_intercept: float = -5.0
    seed: int = 0

    def bmd_to_hu(self, bmd: np.ndarray | float) -> np.ndarray | float:
        return (np.asarray(bmd, dtype=np.float32) - self.calibration_intercept) / (
            self.calibration_slope
        )


@dataclass
class VertebraPhantom:
    """The high-resolution scene (HU), the body inside function and the ground truth."""

    scene: Volume
    spec: VertebraSpec
    truth: dict

    def body_mask_on(self, reference: Volume) -> Volume:
        """The exact body mask (incl. cortex) evaluated at the voxel centres of ``reference``."""
        k, j, i = np.meshgrid(
            *(np.arange(n, dtype=np.float32) for n in reference.shape), indexing="ij", sparse=True
        )
        o = np.asarray(reference.origin, dtype=np.float32)
        d = reference.direction.astype(np.float32)
        s = np.asarray(reference.spacing, dtype=np.float32)
        x = o[0] + d[0, 0] * s[0] * i + d[0, 1] * s[1] * j + d[0, 2] * s[2] * k
        y = o[1] + d[1, 0] * s[0] * i + d[1, 1] * s[1] * j + d[1, 2] * s[2] * k
        z = o[2] + d[2, 0] * s[0] * i + d[2, 1] * s[1] * j + d[2, 2] * s[2] * k
        return reference.with_array(_inside_body(self.spec, x, y, z))


def _inside_body(spec: VertebraSpec, x, y, z) -> np.ndarray:
    a, b = spec.width_mm / 2, spec.depth_mm / 2
    return ((x / a) ** 2 + (y / b) ** 2 <= 1.0) & (np.abs(z) <= spec.height_mm / 2)


def _distance_to_body_surface(spec: VertebraSpec, x, y, z) -> np.ndarray:
    """Signed distance inside the body (first-order for the elliptic wall, exact for end plates)."""
    a, b = spec.width_mm / 2, spec.depth_mm / 2
    r = np.sqrt((x / a) ** 2 + (y / b) ** 2) + 1e-9
    grad = np.sqrt((x / a**2) ** 2 + (y / b**2) ** 2) / r + 1e-9
    d_wall = (1.0 - r) / grad
    d_plate = spec.height_mm / 2 - np.abs(z)
    return np.minimum(d_wall, d_plate)


def _surroundings_hu(spec: VertebraSpec, x, y, z) -> np.ndarray:
    """Soft tissue, discs, neighbours and posterior elements (HU), without the body."""
    a, b, h = spec.width_mm / 2, spec.depth_mm / 2, spec.height_mm / 2
    x, y, z = np.broadcast_arrays(x, y, z)
    hu = np.full(x.shape, FAT_HU, dtype=np.float32)
    muscle = ((x / (a + 18)) ** 2 + ((y - 12) / (b + 28)) ** 2) <= 1.0
    hu[muscle] = MUSCLE_HU
    cross = (x / a) ** 2 + (y / b) ** 2 <= 1.0
    disc = cross & (np.abs(z) > h) & (np.abs(z) <= h + spec.discs_mm)
    hu[disc] = DISC_HU
    if spec.neighbours:
        neigh = cross & (np.abs(z) > h + spec.discs_mm)
        plate = neigh & (np.abs(z) <= h + spec.discs_mm + spec.cortical_mm)
        hu[neigh] = spec.bmd_to_hu(spec.neighbour_bmd)
        hu[plate] = spec.bmd_to_hu(spec.cortical_bmd)
    if spec.posterior_elements:
        canal_r = 0.22 * spec.width_mm
        canal_y = b + canal_r + 1.0
        canal = (x**2 + (y - canal_y) ** 2 <= canal_r**2) & (np.abs(z) <= h + spec.discs_mm)
        hu[canal] = CSF_HU
        in_z = np.abs(z) <= 0.8 * h
        ped_x = canal_r + 3.5
        pedicle = (
            (((np.abs(x) - ped_x) / 4.0) ** 2 + ((z - 0.1 * h) / (0.5 * h)) ** 2 <= 1.0)
            & (y >= 0.6 * b)
            & (y <= canal_y + 0.7 * canal_r)
        )
        lamina = (
            (np.abs(x) <= ped_x + 3.0)
            & (y >= canal_y + 0.5 * canal_r)
            & (y <= canal_y + canal_r + 5.0)
            & in_z
            & ~(x**2 + (y - canal_y) ** 2 <= canal_r**2)
        )
        spinous = (
            (np.abs(x) <= 3.0)
            & (y >= canal_y + canal_r)
            & (y <= canal_y + canal_r + 25.0)
            & (np.abs(z) <= 0.6 * h)
        )
        post = (pedicle | lamina | spinous) & ~cross
        hu[post] = spec.bmd_to_hu(spec.posterior_bmd)
    return hu


def _body_bmd_hires(
    spec: VertebraSpec, origin: np.ndarray, shape: tuple[int, int, int]
) -> tuple[np.ndarray, dict]:
    """Body BMD (mg/cm³) on the high-resolution box; NaN outside the body."""
    s = spec.hires_mm
    z = (origin[2] + s * np.arange(shape[0], dtype=np.float32))[:, None, None]
    y = (origin[1] + s * np.arange(shape[1], dtype=np.float32))[None, :, None]
    x = (origin[0] + s * np.arange(shape[2], dtype=np.float32))[None, None, :]
    model = plate_model(spec.bvtv, spec.tb_th_mm, spec.tb_sp_mm)
    k0 = np.pi * np.sqrt(3.0) * model["tb_n_per_mm"]
    absf = np.abs(gaussian_shell_field(shape, s, k0, seed=spec.seed))
    dist = _distance_to_body_surface(spec, x, y, z)
    inside = dist >= 0
    trab = dist >= spec.cortical_mm
    t = np.quantile(absf[trab][::7], spec.bvtv)
    bone = absf < t
    in_defect = np.zeros(shape, dtype=bool)
    for defect in spec.defects:
        c, r = np.asarray(defect.center_mm), np.asarray(defect.radii_mm)
        ell = (
            ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2
        ) <= 1.0
        ell &= trab
        in_defect |= ell
        if defect.remaining_bvtv_fraction > 0:
            td = np.quantile(absf[trab][::7], spec.bvtv * defect.remaining_bvtv_fraction)
            bone[ell] = absf[ell] < td
        else:
            bone[ell] = False
    del absf
    bmd = np.where(bone, spec.tissue_bmd, spec.marrow_bmd).astype(np.float32)
    bmd[inside & ~trab] = spec.cortical_bmd
    bmd[~inside] = np.nan
    n_trab = int(trab.sum())
    truth = {
        **{f"model_{k}": v for k, v in model.items()},
        "bvtv_trabecular": float(bone[trab].sum() / max(n_trab, 1)),
        "bvtv_outside_defects": float(
            bone[trab & ~in_defect].sum() / max(int((trab & ~in_defect).sum()), 1)
        ),
        "defect_volume_ml": float(in_defect.sum() * s**3 / 1000.0),
        "trabecular_bmd_mg_cm3": float(bmd[trab].mean()) if n_trab else float("nan"),
        "body_volume_ml": float(inside.sum() * s**3 / 1000.0),
    }
    return bmd, truth


def make_vertebra(spec: VertebraSpec | None = None) -> VertebraPhantom:
    """Build the high-resolution scene in HU (grid ``spec.scene_mm``) and the ground truth.

    The body is generated at ``spec.hires_mm`` and block-averaged onto the scene grid
    (``scene_mm`` must be an integer multiple of ``hires_mm``), i.e. partial-volume exact.
    """
    spec = spec or VertebraSpec()
    factor = round(spec.scene_mm / spec.hires_mm)
    if factor < 1 or abs(factor * spec.hires_mm - spec.scene_mm) > 1e-6:
        raise ValueError("scene_mm must be an integer multiple of hires_mm")
    a, b, h = spec.width_mm / 2, spec.depth_mm / 2, spec.height_mm / 2
    post = 60.0 if spec.posterior_elements else 8.0
    lo = np.array([-(a + 12.0), -(b + 8.0), -(h + spec.discs_mm + 4.0)])
    hi = np.array([a + 12.0, b + post, h + spec.discs_mm + 4.0])
    ss = spec.scene_mm
    shape_xyz = np.ceil((hi - lo) / ss).astype(int)
    z = (lo[2] + ss * (np.arange(shape_xyz[2], dtype=np.float32) + 0.5))[:, None, None]
    y = (lo[1] + ss * (np.arange(shape_xyz[1], dtype=np.float32) + 0.5))[None, :, None]
    x = (lo[0] + ss * (np.arange(shape_xyz[0], dtype=np.float32) + 0.5))[None, None, :]
    scene = _surroundings_hu(spec, x, y, z)
    # Body box on the scene grid, aligned so that one scene voxel = factor³ hires voxels.
    i0 = int(np.floor((-a - 1.0 - lo[0]) / ss))
    j0 = int(np.floor((-b - 1.0 - lo[1]) / ss))
    k0 = int(np.floor((-h - 1.0 - lo[2]) / ss))
    i1 = int(np.ceil((a + 1.0 - lo[0]) / ss))
    j1 = int(np.ceil((b + 1.0 - lo[1]) / ss))
    k1 = int(np.ceil((h + 1.0 - lo[2]) / ss))
    box_shape = ((k1 - k0) * factor, (j1 - j0) * factor, (i1 - i0) * factor)
    hs = spec.hires_mm
    box_origin = lo + ss * np.array([i0, j0, k0]) + hs / 2
    bmd, truth = _body_bmd_hires(spec, box_origin, box_shape)
    hz = (box_origin[2] + hs * np.arange(box_shape[0], dtype=np.float32))[:, None, None]
    hy = (box_origin[1] + hs * np.arange(box_shape[1], dtype=np.float32))[None, :, None]
    hx = (box_origin[0] + hs * np.arange(box_shape[2], dtype=np.float32))[None, None, :]
    hu_box = np.where(np.isnan(bmd), _surroundings_hu(spec, hx, hy, hz), spec.bmd_to_hu(bmd))
    del bmd
    if factor > 1:
        kz, ky, kx = (n // factor for n in box_shape)
        hu_box = hu_box.reshape(kz, factor, ky, factor, kx, factor).mean(axis=(1, 3, 5))
    scene[k0:k1, j0:j1, i0:i1] = hu_box
    volume = Volume(
        scene.astype(np.float32),
        spacing=(ss, ss, ss),
        origin=tuple(lo + ss / 2),
        metadata={"modality": "CT", "phantom": True},
    )
    truth.update({"spec": _spec_dict(spec)})
    return VertebraPhantom(scene=volume, spec=spec, truth=truth)


def _spec_dict(spec: VertebraSpec) -> dict:
    d = asdict(spec)
    d["defects"] = [asdict(df) for df in spec.defects]
    return d


def demo_case():
    """The demo of ``osteo demo`` and of Slicer's sample data: (VertebraSpec, CTProtocol) of
    an L1-sized body, BV/TV 0.15, one 5 mm focal void, at the paper's scan protocol."""
    from osteoimaging.phantoms.ctsim import CTProtocol

    spec = VertebraSpec(defects=[FocalDefect((3.0, -4.0, 2.0), (5.0, 5.0, 5.0))], seed=7)
    return spec, CTProtocol(seed=8)


def small_case() -> VertebraSpec:
    """A small vertebra (36×28×18 mm, no posterior elements, one 4 mm void) for quick
    checks: the Slicer module's self-test and the harness flows."""
    return VertebraSpec(
        width_mm=36,
        depth_mm=28,
        height_mm=18,
        posterior_elements=False,
        hires_mm=0.2,
        defects=[FocalDefect((5.0, -2.0, 0.0), (4.0, 4.0, 3.0))],
    )


def vertebra_ct(spec: VertebraSpec | None = None, protocol=None) -> tuple[Volume, Volume, dict]:
    """The routine-CT view of a synthetic vertebra: (CT in HU, body mask, ground truth).

    ``protocol`` is a :class:`~osteoimaging.phantoms.ctsim.CTProtocol` (default: in-plane
    PSF FWHM 0.7 mm, 1 mm slices, 0.4×0.4×0.7 mm voxels, 20 HU noise).
    """
    from osteoimaging.phantoms.ctsim import CTProtocol, simulate_ct

    protocol = protocol or CTProtocol()
    phantom = make_vertebra(spec)
    ct = simulate_ct(phantom.scene, protocol)
    mask = phantom.body_mask_on(ct)
    truth = dict(phantom.truth)
    truth["protocol"] = asdict(protocol)
    truth["calibration"] = {
        "slope": phantom.spec.calibration_slope,
        "intercept": phantom.spec.calibration_intercept,
    }
    truth["mask_volume_ml"] = float(mask.array.sum() * ct.voxel_volume_mm3 / 1000.0)
    return ct, mask, truth
