"""A 3D image: a numpy array plus its physical geometry.

Conventions (the same as SimpleITK/ITK, so conversions are exact):

* ``array`` is indexed ``[k, j, i]`` = (z, y, x);
* ``spacing`` and ``origin`` are given in (x, y, z) order, in mm;
* ``direction`` is the 3×3 matrix whose *columns* are the physical directions of the
  i, j, k axes, in the LPS patient frame (DICOM/ITK). Slicer works in RAS; the flip is
  done in :mod:`osteoimaging.mrml` only.

Physical point of voxel index (i, j, k): ``origin + direction @ (spacing * (i, j, k))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import SimpleITK as sitk


@dataclass
class Volume:
    """A 3D image with exact physical geometry (see the module docstring)."""

    array: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spacing = tuple(float(s) for s in self.spacing)  # type: ignore[assignment]
        self.origin = tuple(float(o) for o in self.origin)  # type: ignore[assignment]
        self.direction = np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (z, y, x)."""
        return tuple(self.array.shape)  # type: ignore[return-value]

    @property
    def size(self) -> tuple[int, int, int]:
        """Image size in (x, y, z) order, as ITK reports it."""
        return tuple(int(n) for n in self.array.shape[::-1])  # type: ignore[return-value]

    @property
    def spacing_zyx(self) -> tuple[float, float, float]:
        """Spacing in array-axis order (z, y, x)."""
        return tuple(self.spacing[::-1])  # type: ignore[return-value]

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def index_to_physical(self, ijk: np.ndarray) -> np.ndarray:
        """Physical LPS points (…, 3) of continuous indices (…, 3) given in (i, j, k) order."""
        ijk = np.asarray(ijk, dtype=float)
        # einsum, not matmul: a (N, 3) @ (3, 3) product goes through multi-threaded BLAS,
        # which after numba's thread pool has run costs ~7× more for the same arithmetic.
        scaled = ijk * np.asarray(self.spacing)
        return np.asarray(self.origin) + np.einsum("...j,kj->...k", scaled, self.direction)

    def physical_to_index(self, xyz: np.ndarray) -> np.ndarray:
        """Continuous (i, j, k) indices of physical LPS points (…, 3)."""
        xyz = np.asarray(xyz, dtype=float)
        relative = xyz - np.asarray(self.origin)
        inverse = np.linalg.inv(self.direction)
        return np.einsum("...j,kj->...k", relative, inverse) / np.asarray(self.spacing)

    def with_array(self, array: np.ndarray, **metadata: Any) -> Volume:
        """The same geometry holding another array of the same shape."""
        if array.shape != self.array.shape:
            raise ValueError(f"shape {array.shape} differs from {self.array.shape}")
        return replace(self, array=array, metadata={**self.metadata, **metadata})

    def same_geometry(self, other: Volume, tol: float = 1e-4) -> bool:
        """True when ``other`` has the same grid (shape, spacing, origin, direction)."""
        return (
            self.shape == other.shape
            and np.allclose(self.spacing, other.spacing, rtol=tol, atol=tol)
            and np.allclose(self.origin, other.origin, rtol=tol, atol=tol * max(self.spacing))
            and np.allclose(self.direction, other.direction, atol=tol)
        )

    # -- SimpleITK ---------------------------------------------------------------------
    def to_sitk(self) -> sitk.Image:
        """The SimpleITK image with the same voxels and geometry."""
        array = self.array
        if array.dtype == bool:
            array = array.astype(np.uint8)
        image = sitk.GetImageFromArray(np.ascontiguousarray(array))
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(tuple(self.direction.ravel()))
        return image

    def reference_image(self) -> sitk.Image:
        """An empty (uint8) SimpleITK image on this volume's grid: a resampling reference
        that copies no voxels."""
        ref = sitk.Image([int(n) for n in self.size], sitk.sitkUInt8)
        ref.SetSpacing(self.spacing)
        ref.SetOrigin(self.origin)
        ref.SetDirection(tuple(self.direction.ravel()))
        return ref

    @classmethod
    def from_sitk(cls, image: sitk.Image, **metadata: Any) -> Volume:
        """Wrap a 3D SimpleITK image (the array is copied)."""
        return cls(
            array=sitk.GetArrayFromImage(image),
            spacing=image.GetSpacing(),
            origin=image.GetOrigin(),
            direction=np.asarray(image.GetDirection()).reshape(3, 3),
            metadata=dict(metadata),
        )

    def describe(self) -> str:
        """One line: size and spacing, e.g. ``512×512×20, 0.977×0.977×2.0 mm``."""
        return f"{format_triplet(self.size, 'd')}, {format_triplet(self.spacing)} mm"


#: Decimals kept by :func:`canonical_geometry`: 1e-9 mm for lengths, 1e-12 for cosines.
LENGTH_DECIMALS = 9
COSINE_DECIMALS = 12


def canonical_geometry(volume: Volume) -> Volume:
    """``volume`` with its spacing and origin rounded to 1e-9 mm and its direction
    cosines to 1e-12.

    The same scan read by different readers (SimpleITK from a file, Slicer's volume node
    through its IJK→RAS matrix) comes out with geometry differing in the last bit
    (~1e-16), enough to move an analysis grid or a crossing by a hair and change a result
    in the fourth digit. Rounding far below any physical precision makes the readers
    agree, so every front end of the case pipeline measures the same grid.
    """
    return replace(
        volume,
        spacing=tuple(round(float(v), LENGTH_DECIMALS) for v in volume.spacing),
        origin=tuple(round(float(v), LENGTH_DECIMALS) for v in volume.origin),
        direction=np.round(np.asarray(volume.direction, dtype=float), COSINE_DECIMALS),
    )


def format_triplet(values: tuple, kind: str = "g") -> str:
    """Format three numbers joined by ``×``: integers as is, floats to 3 decimals."""
    if kind == "d":
        return "×".join(str(int(v)) for v in values)
    out = []
    for v in values:
        text = f"{float(v):.3f}".rstrip("0")
        out.append(text + "0" if text.endswith(".") else text)
    return "×".join(out)
