"""A synthetic chest-CT cohort at the thoracolumbar junction with a known osteoporosis class.

No labelled chest-CT cohort is available to the project, so the CNN, the skeletal muscle
index (SMI) and the L1-attenuation rule are compared on synthetic cases whose truth is
known. Every assumption is listed here and in docs/screening.md; none is a clinical fact
about a population.

Anatomy (axial cross-sections extruded along z, LPS mm, T12 body centre at the origin of the
scene's anatomy): an elliptic trunk (semi-axes scaled by a habitus factor) with
subcutaneous fat of random thickness, a band of wall muscle (chest/abdominal wall) inside
it, visceral fat, liver (right), spleen/stomach (left, with a gas bubble), aorta and IVC,
kidneys at L1, posterior lung recesses above the T12 mid-plane, ribs at T12, and the spine:
T11–L2 vertebral bodies (elliptic cylinders with a cortical shell and end plates), discs,
pedicles, laminae, spinous and transverse processes, spinal canal; paraspinal muscles
(erector spinae + multifidus, one ellipse each side) and psoas at L1.

Bone: trabecular BMD (mg/cm³ HA) = BV/TV × 1200 mg/cm³ (bone tissue, as in
:mod:`osteoimaging.phantoms.vertebra`; marrow 0), converted to HU through the phantom
calibration of :class:`~osteoimaging.phantoms.VertebraSpec` (BMD = 0.8·HU − 5, so the ACR
QCT threshold of 80 mg/cm³ lies at 106 HU, close to Pickhardt's 110 HU). Sub-voxel
trabecular texture is correlated Gaussian noise whose SD grows with √(BV/TV·(1−BV/TV)).
The vertebral bodies' cortical shell and end plates are 600 + BMD mg/cm³; the posterior arches
and the ribs 250 + 1.5·BMD (their level's BMD), so by default the whole skeleton in view
carries the class — osteoporosis is systemic — with a steeper slope than the bodies;
``skeleton_follows_bmd=False`` gives arches and ribs the density of a 100 mg/cm³ case in
every case, so that only the vertebral bodies carry it.
Label: osteoporosis when the mean trabecular BMD of T12 and L1 is below 80 mg/cm³ (ACR
Practice Parameter for QCT, 2018) — the BMD drives the label by construction.

Draws per case (independent unless stated): T12 BMD ~ N(100, 40²) mg/cm³ clipped to
[25, 250]; L1 = T12 − 3 + N(0, 6²); muscle size factor z_m = ρ·z_bmd + √(1−ρ²)·ε with
ρ = ``muscle_bmd_correlation`` (0.3: a modest positive association as reported between
muscle mass and BMD; set 0 for independence); all muscle areas scale by exp(0.25·z_m) and
by height² (so SMI = area/height² carries z_m, not height); height ~ N(1.68, 0.09²) m;
habitus factor exp(N(0, 0.1²)); subcutaneous fat 8–40 mm; muscle attenuation N(45, 5²) HU;
scanner HU offset N(0, 8²); noise SD U(10, 30) HU; slice thickness one of 1, 2, 3 mm; the
spine's in-plane position ±10 mm. The CT is made by :func:`osteoimaging.phantoms.simulate_ct`
(Gaussian PSF, slice profile, resampling, white noise, integer HU).
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from osteoimaging.atomic import write_json, write_text
from osteoimaging.imageio import write_image
from osteoimaging.phantoms.vertebra import CSF_HU, DISC_HU, FAT_HU, VertebraSpec
from osteoimaging.segmentation.labels import LABEL_SCHEMES
from osteoimaging.volume import Volume

#: Label value of skeletal muscle in the synthetic label maps (vertebral bodies carry
#: TotalSegmentator v2 numbers: T11 = 33, T12 = 32, L1 = 31, L2 = 30).
MUSCLE_LABEL = 200
LEVELS = ("T11", "T12", "L1", "L2")
OSTEOPOROSIS_BMD = 80.0  # mg/cm³, ACR QCT
TISSUE_BMD = 1200.0
_CAL = VertebraSpec()  # calibration BMD = 0.8·HU − 5


@dataclass
class CohortSpec:
    """Cohort-level settings of the generator (see the module docstring)."""

    bmd_mean: float = 100.0
    bmd_sd: float = 40.0
    muscle_bmd_correlation: float = 0.3
    scene_mm: float = 1.0
    inplane_mm: tuple[float, float] = (0.8, 1.0)
    thicknesses_mm: tuple[float, ...] = (1.0, 2.0, 3.0)
    noise_hu: tuple[float, float] = (10.0, 30.0)
    seed: int = 0
    skeleton_follows_bmd: bool = True


@dataclass
class CaseParams:
    """One synthetic case's draws (all the truth a case has)."""

    bmd: dict
    muscle_z: float
    height_m: float
    habitus: float
    fat_mm: float
    muscle_hu: float
    hu_offset: float
    noise_hu: float
    thickness_mm: float
    inplane_mm: float
    shift_mm: tuple[float, float]
    body_w: float
    body_d: float
    body_h: float
    seed: int


def draw_case(spec: CohortSpec, index: int) -> CaseParams:
    """The draws of case ``index`` (reproducible from ``spec.seed`` and ``index``)."""
    rng = np.random.default_rng([spec.seed, index])
    z_b = rng.normal()
    t12 = float(np.clip(spec.bmd_mean + spec.bmd_sd * z_b, 25, 250))
    bmd = {"T12": t12, "L1": float(np.clip(t12 - 3 + rng.normal(0, 6), 20, 250))}
    bmd["T11"] = float(np.clip(t12 + 3 + rng.normal(0, 6), 20, 250))
    bmd["L2"] = float(np.clip(bmd["L1"] - 3 + rng.normal(0, 6), 20, 250))
    rho = spec.muscle_bmd_correlation
    return CaseParams(
        bmd=bmd,
        muscle_z=float(rho * z_b + math.sqrt(1 - rho**2) * rng.normal()),
        height_m=float(np.clip(rng.normal(1.68, 0.09), 1.45, 1.95)),
        habitus=float(np.exp(rng.normal(0, 0.1))),
        fat_mm=float(rng.uniform(8, 40)),
        muscle_hu=float(rng.normal(45, 5)),
        hu_offset=float(rng.normal(0, 8)),
        noise_hu=float(rng.uniform(*spec.noise_hu)),
        thickness_mm=float(rng.choice(spec.thicknesses_mm)),
        inplane_mm=float(rng.uniform(*spec.inplane_mm)),
        shift_mm=(float(rng.uniform(-10, 10)), float(rng.uniform(-10, 10))),
        body_w=float(rng.uniform(38, 46)),
        body_d=float(rng.uniform(28, 34)),
        body_h=float(rng.uniform(22, 27)),
        seed=int(rng.integers(2**31)),
    )


def _ell(x, y, cx, cy, a, b):
    return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0


def _levels_z(p: CaseParams) -> dict[str, tuple[float, float]]:
    """(z_low, z_high) of each body; discs of 7 mm between; T12 centred at 0."""
    h, disc = p.body_h, 7.0
    out, top = {}, None
    for n, level in enumerate(LEVELS):
        hh = h * (1 + 0.03 * (n - 1))  # bodies grow slightly downwards
        centre = 0.0 if level == "T12" else None
        if level == "T11":
            centre = h / 2 + disc + hh / 2
        if centre is None:
            centre = top - disc - hh / 2  # type: ignore[operator]
        out[level] = (centre - hh / 2, centre + hh / 2)
        top = out[level][0]
    return out


@dataclass
class _Layout:
    a: float
    b: float
    muscle_scale: float
    sx: float
    sy: float  # spine body centre (x, y)
    pa: float
    pb: float  # paraspinal semi-axes


def _layout(p: CaseParams) -> _Layout:
    a, b = 150.0 * p.habitus, 110.0 * p.habitus
    scale = math.sqrt(math.exp(0.25 * p.muscle_z)) * (p.height_m / 1.68)
    pa, pb = 24.0 * scale, 18.0 * scale
    sy = b - p.fat_mm - 2 * pb - p.body_d / 2 - 20.0
    return _Layout(a, b, scale, p.shift_mm[0], sy + p.shift_mm[1], pa, pb)


def _scene(p: CaseParams, x, y, z, rng=None, skeleton_follows_bmd: bool = True):
    """HU and label arrays (z, y, x) on the separable grid of 1-D axes ``x``, ``y``, ``z``
    (mm), before the scanner model. Cross-sections are 2-D masks filled over z ranges.
    With ``rng``, the bodies get trabecular texture (Gaussian noise smoothed to ≈ 0.7 mm)."""
    lay = _layout(p)
    x, y, z = (np.asarray(v, np.float32) for v in (x, y, z))
    yy, xx = y[:, None], x[None, :]
    a, b = lay.a, lay.b
    sx, sy, w, d = lay.sx, lay.sy, p.body_w, p.body_d
    zl = _levels_z(p)

    def zr(lo, hi):  # slice of z indices with lo < z < hi
        k = np.flatnonzero((z > lo) & (z < hi))
        return slice(int(k[0]), int(k[-1]) + 1) if k.size else slice(0, 0)

    base = np.full((len(y), len(x)), -1000.0, np.float32)
    trunk = _ell(xx, yy, 0, 0, a, b)
    base[trunk] = FAT_HU
    ia, ib = a - p.fat_mm, b - p.fat_mm
    wall_t = 8.0 * lay.muscle_scale
    visc = _ell(xx, yy, 0, 0, ia - wall_t, ib - wall_t)
    wall = _ell(xx, yy, 0, 0, ia, ib) & ~visc
    base[visc] = -90.0
    for region, value in (
        (_ell(xx, yy, -0.42 * a, -0.15 * b, 0.45 * a, 0.55 * b), 55.0),  # liver
        (_ell(xx, yy, 0.5 * a, -0.05 * b, 0.25 * a, 0.3 * b), 45.0),  # spleen / stomach
        (_ell(xx, yy, 0.45 * a, -0.3 * b, 0.08 * a, 0.08 * b), -900.0),  # gas
        (_ell(xx, yy, sx + 15, sy - d / 2 - 14, 12, 12), 40.0),  # aorta
        (_ell(xx, yy, sx - 20, sy - d / 2 - 18, 10, 10), 35.0),  # IVC
    ):
        base[region & visc] = value
    para_y = sy + d / 2 + 20.0 + lay.pb
    para = _ell(xx, yy, sx - lay.pa - 3, para_y, lay.pa, lay.pb)
    para |= _ell(xx, yy, sx + lay.pa + 3, para_y, lay.pa, lay.pb)
    muscle = (wall | para) & trunk
    hu = np.repeat(base[None], len(z), axis=0)
    label = np.zeros(hu.shape, np.uint8)
    # z-dependent soft tissue: lungs above the T12 mid-plane, kidneys and psoas at L1
    lungs = _ell(xx, yy, sx - 0.5 * a, sy + 10, 0.3 * a, 0.35 * b)
    lungs |= _ell(xx, yy, sx + 0.5 * a, sy + 10, 0.3 * a, 0.35 * b)
    hu[zr(4.0, np.inf)][:, lungs & visc] = -850.0
    kidneys = _ell(xx, yy, sx - w / 2 - 48, sy + 5, 22, 34)
    kidneys |= _ell(xx, yy, sx + w / 2 + 48, sy + 5, 22, 34)
    hu[zr(zl["L2"][0], zl["L1"][1] + 3.5)][:, kidneys & visc] = 30.0
    psoas_r = 9.0 * lay.muscle_scale
    psoas = _ell(xx, yy, sx - w / 2 - psoas_r, sy, psoas_r, psoas_r * 1.2)
    psoas |= _ell(xx, yy, sx + w / 2 + psoas_r, sy, psoas_r, psoas_r * 1.2)
    hu[:, muscle] = p.muscle_hu
    label[:, muscle] = MUSCLE_LABEL
    low = zr(-np.inf, zl["T12"][0])
    hu[low][:, psoas & trunk] = p.muscle_hu
    label[low][:, psoas & trunk] = MUSCLE_LABEL
    # ribs at T12
    ribs = _ell(xx, yy, sx - 0.55 * a, sy + 25, 9, 6) | _ell(xx, yy, sx + 0.55 * a, sy + 25, 9, 6)
    t12 = zr(*zl["T12"])
    rib_bmd = p.bmd["T12"] if skeleton_follows_bmd else 100.0
    hu[t12][:, ribs] = _CAL.bmd_to_hu(250.0 + 1.5 * rib_bmd)
    label[t12][:, ribs] = 0
    # spine: discs, bodies (cortex, end plates, trabecular texture), arches, canal
    canal_r = 0.22 * w
    canal_y = sy + d / 2 + canal_r + 1.0
    cross = _ell(xx, yy, sx, sy, w / 2, d / 2)
    hu[zr(zl["L2"][0] - 7, zl["T11"][1] + 7)][:, cross] = DISC_HU
    rim = cross & (np.sqrt(((xx - sx) / (w / 2)) ** 2 + ((yy - sy) / (d / 2)) ** 2) > 1 - 2 / d)
    ped_x = canal_r + 3.5
    ax = np.abs(xx - sx)
    pedicle = (
        (((ax - ped_x) / 4.0) ** 2 <= 1.0) & (yy >= sy + 0.3 * d) & (yy <= canal_y + 0.7 * canal_r)
    )
    lamina = (ax <= ped_x + 3.0) & (yy >= canal_y + 0.5 * canal_r) & (yy <= canal_y + canal_r + 5)
    spinous = (ax <= 3.0) & (yy >= canal_y + canal_r) & (yy <= canal_y + canal_r + 30)
    transverse = (ax <= ped_x + 28) & (np.abs(yy - canal_y) <= 4.0)
    canal = _ell(xx, yy, sx, canal_y, canal_r, canal_r)
    arch = (pedicle | lamina | spinous | transverse) & ~cross & ~canal
    texture = None
    if rng is not None:
        rows, cols = np.flatnonzero(cross.any(axis=1)), np.flatnonzero(cross.any(axis=0))
        box = (slice(None), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        step = float(abs(x[1] - x[0])) if len(x) > 1 else 1.0
        field = rng.standard_normal((len(z), len(rows), len(cols))).astype(np.float32)
        field = ndi.gaussian_filter(field, 0.7 / step)
        texture = np.zeros(hu.shape, np.float32)
        texture[box] = field / max(float(field.std()), 1e-6)
    for name, (z0, z1) in zl.items():
        zs = zr(z0, z1)
        bmd = p.bmd[name]
        bvtv = bmd / TISSUE_BMD
        values = np.float32(_CAL.bmd_to_hu(bmd))
        block = hu[zs]
        if texture is not None:
            tex_sd = 0.08 * TISSUE_BMD / _CAL.calibration_slope * math.sqrt(bvtv * (1 - bvtv))
            block[:, cross] = values + np.float32(tex_sd) * texture[zs][:, cross]
        else:
            block[:, cross] = values
        cortical = np.float32(_CAL.bmd_to_hu(600.0 + bmd))
        block[:, rim] = cortical
        zk = z[zs]
        plates = np.flatnonzero((zk - z0 < 1.0) | (z1 - zk < 1.0))
        for k in plates:
            block[k][cross] = cortical
        label[zs][:, cross] = LABEL_SCHEMES["totalseg_v2"][name]
        zc, hz = (z0 + z1) / 2, (z1 - z0) / 2
        za = zr(zc - 0.8 * hz, zc + 0.8 * hz)
        arch_bmd = bmd if skeleton_follows_bmd else 100.0
        hu[za][:, arch] = _CAL.bmd_to_hu(250.0 + 1.5 * arch_bmd)
        label[za][:, arch] = 0
    span = zr(zl["L2"][0] - 7, zl["T11"][1] + 7)
    hu[span][:, canal & ~cross] = CSF_HU
    label[span][:, canal & ~cross] = 0
    return hu, label


def _axes(origin, spacing, shape):
    """1-D x, y, z coordinates (mm) of an axis-aligned grid of array shape (z, y, x)."""
    z = origin[2] + spacing[2] * np.arange(shape[0], dtype=np.float32)
    y = origin[1] + spacing[1] * np.arange(shape[1], dtype=np.float32)
    x = origin[0] + spacing[0] * np.arange(shape[2], dtype=np.float32)
    return x, y, z


def synth_case(spec: CohortSpec, index: int) -> tuple[Volume, Volume, dict]:
    """Case ``index``: (CT in HU, label map on the CT grid, truth).

    Scanner model (that of :func:`osteoimaging.phantoms.simulate_ct`, on an axis-aligned
    grid so that no resampling is needed): the scene is built at the CT's pixel size and at
    ``spec.scene_mm`` along z, blurred by a Gaussian PSF (in-plane FWHM max(0.8 mm, pixel),
    slice profile FWHM = slice thickness), sampled every slice thickness along z, plus
    white Gaussian noise, rounded to integer HU.
    """
    from osteoimaging.phantoms.ctsim import FWHM_TO_SIGMA

    p = draw_case(spec, index)
    lay = _layout(p)
    zl = _levels_z(p)
    px, dz = p.inplane_mm, spec.scene_mm
    lo = np.array([-lay.a - 5, -lay.b - 5, zl["L1"][0] - 10.0])
    hi = np.array([lay.a + 5, lay.b + 5, zl["T12"][1] + 10.0])
    shape_xyz = np.ceil((hi - lo) / np.array([px, px, dz])).astype(int)
    origin = lo + np.array([px, px, dz]) / 2
    x, y, z = _axes(origin, (px, px, dz), shape_xyz[::-1])
    rng = np.random.default_rng(p.seed)
    hu, labels = _scene(p, x, y, z, rng, spec.skeleton_follows_bmd)
    hu += np.float32(p.hu_offset) * (hu > -500)
    sigma_z = p.thickness_mm * FWHM_TO_SIGMA / dz
    hu = ndi.gaussian_filter1d(hu, sigma_z, axis=0, truncate=3.0)
    step = max(1, round(p.thickness_mm / dz))
    keep = np.arange(step // 2, hu.shape[0], step)
    hu = hu[keep]
    sigma_xy = max(0.8, px) * FWHM_TO_SIGMA / px
    hu = ndi.gaussian_filter(hu, (0, sigma_xy, sigma_xy), truncate=3.0)
    hu += rng.normal(0.0, p.noise_hu, hu.shape).astype(np.float32)
    arr = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    ct_origin = (origin[0], origin[1], float(z[keep[0]]))
    ct = Volume(arr, (px, px, step * dz), ct_origin, metadata={"modality": "CT", "phantom": True})
    lab = ct.with_array(np.ascontiguousarray(labels[keep]))
    truth = _truth(p, lay, ct, lab)
    return ct, lab, truth


def _truth(p: CaseParams, lay: _Layout, ct: Volume, labels: Volume) -> dict:
    """Known values: BMDs, class, muscle area at the T12 mid-plane (exact ellipse areas)."""
    wall_t = 8.0 * lay.muscle_scale
    ia, ib = lay.a - p.fat_mm, lay.b - p.fat_mm
    area_mm2 = math.pi * (ia * ib - (ia - wall_t) * (ib - wall_t)) + 2 * math.pi * lay.pa * lay.pb
    k = round(float(ct.physical_to_index([lay.sx, lay.sy, 0.0])[2]))
    plane = labels.array[k] == MUSCLE_LABEL
    mean_bmd = (p.bmd["T12"] + p.bmd["L1"]) / 2
    return {
        "osteoporosis": int(mean_bmd < OSTEOPOROSIS_BMD),
        "bmd_t12": p.bmd["T12"],
        "bmd_l1": p.bmd["L1"],
        "bvtv_t12": p.bmd["T12"] / TISSUE_BMD,
        "hu_l1_true": float(_CAL.bmd_to_hu(p.bmd["L1"]) + p.hu_offset),
        "muscle_area_t12_cm2": area_mm2 / 100.0,
        "muscle_area_t12_voxels_cm2": float(plane.sum() * ct.spacing[0] * ct.spacing[1] / 100),
        "smi_true": area_mm2 / 100.0 / p.height_m**2,
        "height_m": p.height_m,
        "muscle_z": p.muscle_z,
        "slice_thickness_mm": p.thickness_mm,
        "noise_hu": p.noise_hu,
        "params": asdict(p),
    }


def write_cohort(
    out_dir: str | Path, n: int, spec: CohortSpec | None = None, progress=None
) -> Path:
    """Write ``n`` cases (``cases/synth_NNNN/{ct,labels}.nii.gz``, ``truth.json``) and a
    batch manifest ``manifest.csv`` (levels T12;L1, labels 32;31, covariates
    ``osteoporosis``, ``height_m`` and the truth). Returns the manifest path."""
    from osteoimaging.progress import report

    spec = spec or CohortSpec()
    out = Path(out_dir)
    rows = []
    for i in range(n):
        ct, labels, truth = synth_case(spec, i)
        case_id = f"synth_{i:04d}"
        folder = out / "cases" / case_id
        write_image(ct, folder / "ct.nii.gz")
        write_image(labels, folder / "labels.nii.gz")
        write_json(folder / "truth.json", truth)
        row = {
            "case_id": case_id,
            "ct": f"cases/{case_id}/ct.nii.gz",
            "mask": f"cases/{case_id}/labels.nii.gz",
            "label": "32;31",
            "level": "T12;L1",
        }
        row.update({k: v for k, v in truth.items() if not isinstance(v, dict)})
        rows.append(row)
        report(progress, (i + 1) / n, f"case {i + 1}/{n}")
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_json(out / "cohort.json", {"n": n, "spec": asdict(spec), "muscle_label": MUSCLE_LABEL})
    return write_text(out / "manifest.csv", buf.getvalue())
