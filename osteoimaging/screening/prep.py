"""The CNN's input: a 2D axial slab around one vertebral level, the same for training and use.

Choice (docs/screening.md): a **2D axial slab**, not a 3D crop. The skeletal muscle index is
defined on one axial slice, chest CTs come with 0.6–5 mm slices (a 3D crop would mostly
learn the slice thickness), and a 2D DenseNet121 trains 4× faster than a 3D one on a CPU
(../shared/notes/performance-2026-12.md: 23–26 vs 5.9 images/s). The slab is
``slab_mm`` thick, centred on the vertebral body's centroid; it is resampled (trilinear, by
SimpleITK) onto a square grid of ``size_px`` pixels of ``pixel_mm`` aligned with the patient
axes (columns → patient left, rows → posterior, i.e. LPS x and y, whatever the CT's own
direction cosines), and averaged along z, which lowers noise and makes 1 mm and 5 mm
slices look alike. The field of view (128 × 1.5 mm = 192 mm by default) holds the
vertebra, the paraspinal muscles and the surrounding trunk.

Channels: the slab mean in HU through fixed windows, each mapped linearly to [0, 1] and
clipped: soft tissue (−150…250 HU: muscle, fat), trabecular (−50…450 HU: the range of
vertebral trabecular attenuation, Pickhardt et al., Ann Intern Med 2013;158:588–595) and bone
(−450…1050 HU: cortex and posterior elements).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import SimpleITK as sitk

from osteoimaging.errors import InputError
from osteoimaging.segmentation.labels import check_level
from osteoimaging.volume import Volume

AIR_HU = -1024.0
DEFAULT_WINDOWS: tuple[tuple[float, float], ...] = (
    (-150.0, 250.0),
    (-50.0, 450.0),
    (-450.0, 1050.0),
)


@dataclass
class PrepParams:
    """How a CT becomes the model input (saved with every model, applied unchanged)."""

    level: str = "T12"
    size_px: int = 128
    pixel_mm: float = 1.5
    slab_mm: float = 10.0
    slab_step_mm: float = 1.0
    windows: tuple[tuple[float, float], ...] = field(default_factory=lambda: DEFAULT_WINDOWS)

    def __post_init__(self) -> None:
        self.level = check_level(self.level) or "T12"
        self.windows = tuple((float(a), float(b)) for a, b in self.windows)
        if self.size_px < 16 or self.pixel_mm <= 0 or self.slab_mm <= 0 or self.slab_step_mm <= 0:
            raise InputError("preparation needs size_px ≥ 16 and positive pixel/slab sizes")
        if any(b <= a for a, b in self.windows):
            raise InputError(f"each window must be (low, high) with low < high: {self.windows}")

    @property
    def n_slices(self) -> int:
        """Number of planes averaged over the slab (≥ 1)."""
        return max(1, round(self.slab_mm / self.slab_step_mm))

    @property
    def channels(self) -> int:
        return len(self.windows)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["windows"] = [list(w) for w in self.windows]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> PrepParams:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "windows" in known:
            known["windows"] = tuple(tuple(w) for w in known["windows"])
        return cls(**known)


@dataclass
class PreparedInput:
    """One case's model input and the geometry needed to map results back onto the CT."""

    image: np.ndarray  # (channels, size, size) float32 in [0, 1]
    hu: np.ndarray  # (size, size) slab mean in HU
    body: np.ndarray  # (size, size) bool: body mask on the slab (≥ half its planes)
    muscle: np.ndarray | None  # (size, size) bool, when a muscle mask was given
    centre_lps: tuple[float, float, float]
    params: PrepParams


def body_centre_lps(mask: Volume) -> np.ndarray:
    """Physical (LPS mm) centroid of a mask's voxel centres."""
    idx = np.argwhere(np.asarray(mask.array, dtype=bool))
    if idx.size == 0:
        raise InputError("vertebral body mask is empty")
    return mask.index_to_physical(idx.mean(axis=0)[::-1])


def slab_reference(centre_lps, params: PrepParams, n_slices: int | None = None) -> Volume:
    """The slab's sampling grid: (n_slices, size, size), LPS-aligned, centred on the point.

    Pixel (row r, column c) of the input sits at ``centre + ((c − (N−1)/2)·p,
    (r − (N−1)/2)·p, 0)`` mm.
    """
    n = params.size_px
    nz = params.n_slices if n_slices is None else n_slices
    p, s = params.pixel_mm, params.slab_step_mm
    half = np.array([(n - 1) / 2 * p, (n - 1) / 2 * p, (nz - 1) / 2 * s])
    origin = np.asarray(centre_lps, dtype=float) - half
    return Volume(np.zeros((nz, n, n), np.uint8), (p, p, s), tuple(origin), np.eye(3))


def resample_onto(volume: Volume, grid: Volume, *, nearest: bool = False, default=AIR_HU):
    """``volume``'s values at ``grid``'s voxel centres (linear or nearest), as an array."""
    image = volume.to_sitk()
    if nearest:
        if image.GetPixelID() not in (sitk.sitkUInt8, sitk.sitkInt16, sitk.sitkUInt16):
            image = sitk.Cast(image, sitk.sitkInt32)
        interp = sitk.sitkNearestNeighbor
    else:
        image = sitk.Cast(image, sitk.sitkFloat32)
        interp = sitk.sitkLinear
    out = sitk.Resample(image, grid.reference_image(), sitk.Transform(), interp, float(default))
    return sitk.GetArrayFromImage(out)


def window_channels(hu: np.ndarray, windows) -> np.ndarray:
    """(channels, …) float32: ``(hu − low) / (high − low)`` clipped to [0, 1] per window."""
    out = [np.clip((hu - lo) / (hi - lo), 0.0, 1.0) for lo, hi in windows]
    return np.stack(out).astype(np.float32)


def prepare_input(
    ct: Volume,
    body_mask: Volume,
    params: PrepParams | None = None,
    muscle_mask: Volume | None = None,
) -> PreparedInput:
    """The model input around the body of ``body_mask`` (same grid as ``ct``); the body
    (and muscle) masks are carried onto the input grid for Grad-CAM statistics."""
    params = params or PrepParams()
    if not body_mask.same_geometry(ct):
        raise InputError("the body mask is not on the CT grid")
    centre = body_centre_lps(body_mask)
    grid = slab_reference(centre, params)
    slab = resample_onto(ct, grid).astype(np.float32)
    hu = slab.mean(axis=0)
    body = _mask_on_plane(body_mask, grid)
    muscle = None if muscle_mask is None else _mask_on_plane(muscle_mask, grid)
    return PreparedInput(
        image=window_channels(hu, params.windows),
        hu=hu,
        body=body,
        muscle=muscle,
        centre_lps=tuple(float(c) for c in centre),  # type: ignore[arg-type]
        params=params,
    )


def _mask_on_plane(mask: Volume, grid: Volume) -> np.ndarray:
    slab = resample_onto(
        mask.with_array(np.asarray(mask.array, bool).astype(np.uint8)),
        grid,
        nearest=True,
        default=0,
    )
    return slab.mean(axis=0) >= 0.5


def map_to_ct(map2d: np.ndarray, centre_lps, params: PrepParams, ct: Volume) -> Volume:
    """A 2D map on the input grid → float32 Volume on the CT grid (NaN outside the slab).

    Every CT voxel whose centre lies within ``slab_mm / 2`` of the slab's central plane and
    inside the field of view takes the map's bilinear value at its (x, y) position; the
    map is constant across the slab, as the input averaged over it.
    """
    map2d = np.asarray(map2d, dtype=np.float32)
    if map2d.shape != (params.size_px, params.size_px):
        raise InputError(f"map shape {map2d.shape} is not the input grid {params.size_px}²")
    # One extra plane beyond each face so that voxels up to slab_mm/2 interpolate inside.
    nz = params.n_slices + 2
    grid = slab_reference(centre_lps, params, n_slices=nz)
    image = sitk.GetImageFromArray(np.repeat(map2d[None], nz, axis=0))
    image.SetSpacing(grid.spacing)
    image.SetOrigin(grid.origin)
    image.SetDirection(tuple(grid.direction.ravel()))
    ref = (
        ct.to_sitk()
        if ct.array.dtype != bool
        else ct.with_array(ct.array.astype(np.uint8)).to_sitk()
    )
    out = sitk.Resample(
        image, ref, sitk.Transform(), sitk.sitkLinear, float("nan"), sitk.sitkFloat32
    )
    arr = sitk.GetArrayFromImage(out)
    arr[~slab_voxels(ct, centre_lps, params)] = np.nan
    return Volume(arr, ct.spacing, ct.origin, ct.direction, {"units": "relative"})


def slab_voxels(ct: Volume, centre_lps, params: PrepParams) -> np.ndarray:
    """Bool array on the CT grid: voxel centres inside the slab and the field of view."""
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in ct.shape), indexing="ij")
    d = ct.direction.astype(np.float32) * np.asarray(ct.spacing, dtype=np.float32)
    offset = (np.asarray(ct.origin) - np.asarray(centre_lps)).astype(np.float32)
    half_fov = (params.size_px - 1) * params.pixel_mm / 2
    inside = np.ones(ct.shape, bool)
    for axis, half in ((0, half_fov), (1, half_fov), (2, params.slab_mm / 2)):
        coord = offset[axis] + d[axis, 0] * i + d[axis, 1] * j + d[axis, 2] * k
        inside &= np.abs(coord) <= half + 1e-4
    return inside
