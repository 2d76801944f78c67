"""The two baselines of opportunistic screening: the skeletal muscle index and the L1 rule.

* **SMI** = skeletal muscle area (cm²) at the level's mid-plane / height² (m²), muscle =
  voxels of −29…150 HU inside a muscle mask (the standard CT muscle range: Mitsiopoulos et
  al., J Appl Physiol 1998;85:115–122; Prado et al., Lancet Oncol 2008;9:629–635). The mask
  comes from a label map (e.g. TotalSegmentator's muscle classes) or from
  :func:`muscle_mask_threshold`, a documented threshold-and-region method for the
  paraspinal muscles only. Height from DICOM PatientSize (0010,1020; metres) or a covariate.
* **L1 attenuation rule** (Pickhardt PJ et al., Ann Intern Med 2013;158:588–595): mean
  trabecular attenuation of L1 below 110 HU (more than 90 % specific for osteoporosis) or
  below 135 HU (balanced sensitivity and specificity); 160 HU was 90 % sensitive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from osteoimaging.errors import InputError
from osteoimaging.screening.prep import body_centre_lps
from osteoimaging.volume import Volume

MUSCLE_HU = (-29.0, 150.0)
PICKHARDT_THRESHOLDS_HU = (110.0, 135.0)


def l1_attenuation(ct: Volume, body_mask: Volume, erosion_mm: float = 6.0) -> dict:
    """Mean trabecular attenuation (HU) inside the vertebral body eroded by ``erosion_mm``.

    The trabecular ROI of the focal measurement itself
    (:func:`osteoimaging.focal.pipeline.trabecular_roi`: the CT on the 0.3 mm analysis grid
    in the scanner's axes, the body eroded by 6 mm — Li et al., JOR Spine 2022;5:e1195 —,
    which keeps cortex and partial volume out), so the L1 rule reads the same number as
    the focal results row's ``trabecular_bmd`` of an uncalibrated case measured without
    alignment. Pickhardt et al. (2013) placed one oval ROI in the anterior trabecular body
    on one axial slice; a volume ROI is less noisy and needs no placement.
    """
    from osteoimaging.focal.parameters import FocalParameters
    from osteoimaging.focal.pipeline import trabecular_roi

    if not body_mask.same_geometry(ct):
        raise InputError("the body mask is not on the CT grid")
    mask = ct.with_array(np.asarray(body_mask.array, dtype=bool))
    if not mask.array.any():
        raise InputError("vertebral body mask is empty")
    params = FocalParameters(erosion_mm=float(erosion_mm))
    hu, roi = trabecular_roi(ct, mask, params)
    values = hu.array[roi].astype(np.float64)
    return {
        "trabecular_hu": float(values.mean()),
        "trabecular_sd_hu": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
        "trabecular_roi_ml": float(values.size * params.spacing_mm**3 / 1000.0),
        "erosion_mm": float(erosion_mm),
        "trabecular_source": "focal trabecular ROI (0.3 mm grid, scanner axes)",
    }


def l1_rule(hu, threshold: float = 110.0) -> np.ndarray:
    """Pickhardt's rule: 1 (osteoporosis) where the L1 trabecular HU is below ``threshold``."""
    return (np.asarray(hu, dtype=float) < threshold).astype(int)


@dataclass
class MuscleRegionParams:
    """The threshold-and-region muscle method (paraspinal muscles; see the function)."""

    hu_low: float = MUSCLE_HU[0]
    hu_high: float = MUSCLE_HU[1]
    lateral_mm: float = 80.0
    medial_mm: float = 30.0
    slope: float = 1.0
    depth_mm: float = 130.0
    opening_mm: float = 2.0
    min_area_cm2: float = 3.0

    def to_dict(self) -> dict:
        return asdict(self)


def _check_axial(ct: Volume) -> None:
    if abs(ct.direction[2, 2]) < 0.98:
        raise InputError(
            "muscle area needs an axial CT (slice axis within 11° of the patient's z axis)"
        )


def muscle_mask_threshold(
    ct: Volume, body_mask: Volume, slices=None, params: MuscleRegionParams | None = None
) -> Volume:
    """Paraspinal muscle by threshold and region, per axial slice of the CT grid.

    On each slice (``slices``: k indices, default the slice through the mask's centroid):
    voxels of ``hu_low…hu_high`` HU, posterior to the vertebra mask's centroid (by at most
    ``depth_mm``) in a wedge opening backwards — at most ``medial_mm`` + ``slope`` × (depth
    behind the centroid) and at most ``lateral_mm`` from the midline, which keeps the
    posterior tips of liver and spleen out — outside the mask; opened by a disc of
    ``opening_mm`` (detaches skin, vessels and partial-volume rims) and kept as connected
    components of at least ``min_area_cm2`` (drops the spinal canal). The centroid, not the
    posterior wall, is the reference so that body-only masks and whole-vertebra masks
    (TotalSegmentator's) give the same region. This finds erector spinae, multifidus,
    quadratus lumborum and, in part, psoas and crura; the chest/abdominal wall is not
    included, so its SMI is a *paraspinal* index, lower than the whole-slice SMI of the
    sarcopenia literature, and organs of muscle attenuation beside the spine (kidney
    poles) can leak in. A label map gives the whole slice.
    """
    params = params or MuscleRegionParams()
    _check_axial(ct)
    body = np.asarray(body_mask.array, dtype=bool)
    centre = body_centre_lps(body_mask)
    if slices is None:
        slices = [round(float(ct.physical_to_index(centre)[2]))]
    out = np.zeros(ct.shape, bool)
    sx, sy = ct.spacing[0], ct.spacing[1]
    radius = max(1, round(params.opening_mm / min(sx, sy)))
    disk = np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius
    min_px = params.min_area_cm2 * 100.0 / (sx * sy)
    j, i = np.mgrid[0 : ct.shape[1], 0 : ct.shape[2]]
    for k in slices:
        if not 0 <= k < ct.shape[0]:
            continue
        pts = ct.index_to_physical(np.stack([i, j, np.full_like(i, k)], axis=-1).astype(float))
        rel = pts - centre
        depth = rel[..., 1]
        half_width = np.minimum(params.lateral_mm, params.medial_mm + params.slope * depth)
        region = (depth >= 0) & (depth <= params.depth_mm) & (np.abs(rel[..., 0]) <= half_width)
        hu = ct.array[k]
        cand = region & (hu >= params.hu_low) & (hu <= params.hu_high) & ~body[k]
        cand = ndi.binary_opening(cand, structure=disk)
        lab, n = ndi.label(cand)
        if n:
            sizes = ndi.sum(cand, lab, index=np.arange(1, n + 1))
            keep = np.flatnonzero(sizes >= min_px) + 1
            out[k] = np.isin(lab, keep)
    return ct.with_array(out)


def muscle_area_cm2(ct: Volume, muscle_mask: Volume, body_mask: Volume) -> dict:
    """Muscle area (cm²) on the axial slice through the body centroid: voxels of the mask
    with −29…150 HU, times the in-plane voxel area."""
    _check_axial(ct)
    if not muscle_mask.same_geometry(ct):
        raise InputError("the muscle mask is not on the CT grid")
    k = round(float(ct.physical_to_index(body_centre_lps(body_mask))[2]))
    if not 0 <= k < ct.shape[0]:
        raise InputError("the level's mid-plane is outside the CT")
    hu = ct.array[k]
    muscle = np.asarray(muscle_mask.array[k], bool) & (hu >= MUSCLE_HU[0]) & (hu <= MUSCLE_HU[1])
    return {
        "muscle_area_cm2": float(muscle.sum() * ct.spacing[0] * ct.spacing[1] / 100.0),
        "muscle_slice_k": k,
        "muscle_mean_hu": float(hu[muscle].mean()) if muscle.any() else float("nan"),
    }


def smi(area_cm2: float, height_m: float) -> float:
    """Skeletal muscle index, cm²/m² (Prado et al. 2008)."""
    if not (height_m and 1.0 <= float(height_m) <= 2.5):
        raise InputError(f"height {height_m} m is not plausible (1.0–2.5 m); SMI needs height")
    return float(area_cm2) / float(height_m) ** 2


def height_from_dicom(path: str | Path) -> float | None:
    """PatientSize (0010,1020; metres) of a DICOM series folder or file, or None.

    Only that tag is read (pydicom ``specific_tags``; SimpleITK's reader when pydicom is
    missing); no other patient field is touched.
    """
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for f in files[:5]:
        try:
            import pydicom

            ds = pydicom.dcmread(f, specific_tags=["PatientSize"], stop_before_pixels=True)
            value = ds.get("PatientSize")
        except ImportError:
            import SimpleITK as sitk

            reader = sitk.ImageFileReader()
            reader.SetFileName(str(f))
            try:
                reader.ReadImageInformation()
            except RuntimeError:
                continue
            value = reader.GetMetaData("0010|1020") if reader.HasMetaDataKey("0010|1020") else None
        except Exception:  # not DICOM
            continue
        try:
            height = float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            height = None
        return height if height and height > 0 else None
    return None
