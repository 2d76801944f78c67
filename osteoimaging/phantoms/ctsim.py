"""Routine-CT view of a high-resolution scene: point-spread blur, resampling, noise.

The scanner's point-spread function is modelled as a separable Gaussian with the
given full width at half maximum in-plane and along z (slice sensitivity profile);
σ = FWHM / (2 √(2 ln 2)). The blurred scene is sampled at the voxel centres of the
target grid by linear interpolation, then white Gaussian noise (σ in HU) is added and
values are rounded to integers as a scanner stores them. Real CT noise is spatially
correlated; white noise after blurring is a documented simplification.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from osteoimaging.volume import Volume

FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


@dataclass
class CTProtocol:
    """Acquisition and reconstruction of the simulated routine CT."""

    spacing_mm: tuple[float, float, float] = (0.4, 0.4, 0.7)
    fwhm_inplane_mm: float = 0.7
    slice_thickness_mm: float = 1.0
    noise_hu: float = 20.0
    seed: int = 1
    shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _rotation_matrix(angles_deg: tuple[float, float, float]) -> np.ndarray:
    ax, ay, az = np.deg2rad(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def simulate_ct(scene: Volume, protocol: CTProtocol | None = None) -> Volume:
    """Blur ``scene`` (HU) by the protocol's PSF and sample it on the protocol's grid.

    The output grid spans the scene, shifted by ``shift_mm`` and rotated by
    ``rotation_deg`` about the scene centre (for scan–rescan simulation); the scanner
    axes are the rotated ones, so the returned volume has non-identity direction
    cosines when a rotation is given.
    """
    protocol = protocol or CTProtocol()
    image = scene.to_sitk()
    if image.GetPixelID() != sitk.sitkFloat32:
        image = sitk.Cast(image, sitk.sitkFloat32)
    sigma = [protocol.fwhm_inplane_mm * FWHM_TO_SIGMA] * 2 + [
        protocol.slice_thickness_mm * FWHM_TO_SIGMA
    ]
    # The scene already carries its own voxel blur; remove it in quadrature.
    native = [s * FWHM_TO_SIGMA for s in scene.spacing]
    sigma = [math.sqrt(max(s**2 - n**2 / 3.0, 1e-6)) for s, n in zip(sigma, native, strict=True)]
    blurred = sitk.SmoothingRecursiveGaussian(image, sigma)
    extent = np.asarray(scene.size) * np.asarray(scene.spacing)
    out_spacing = np.asarray(protocol.spacing_mm, dtype=float)
    size = np.maximum(np.floor(extent / out_spacing).astype(int), 2)
    rot = scene.direction @ _rotation_matrix(protocol.rotation_deg)
    centre = scene.index_to_physical((np.asarray(scene.size) - 1) / 2.0)
    centre = centre + np.asarray(protocol.shift_mm)
    origin = centre - rot @ (out_spacing * (size - 1) / 2.0)
    ref = sitk.Image([int(n) for n in size], sitk.sitkFloat32)
    ref.SetSpacing(tuple(out_spacing))
    ref.SetOrigin(tuple(origin))
    ref.SetDirection(tuple(rot.ravel()))
    fat = float(np.percentile(scene.array[:, :, :2], 50))
    out = sitk.Resample(blurred, ref, sitk.Transform(), sitk.sitkLinear, fat)
    arr = sitk.GetArrayFromImage(out)
    if protocol.noise_hu > 0:
        rng = np.random.default_rng(protocol.seed)
        arr = arr + rng.normal(0.0, protocol.noise_hu, arr.shape).astype(np.float32)
    arr = np.clip(np.rint(arr), -1024, 3071).astype(np.int16)
    return Volume(
        arr,
        spacing=tuple(out_spacing),
        origin=tuple(origin),
        direction=rot,
        metadata={"modality": "CT", "phantom": True},
    )
