"""What one case measurement needs: the CT, each level's body and the settings.

Every front end (``osteo focal``, the batch, the Slicer module, the browser station)
only turns its inputs into a :class:`CaseRequest`; :func:`osteoimaging.case.measure_case`
does the rest. A level's body comes from exactly one of three sources
(:class:`BodySource`): a click (GrowCut from a seed point in RAS mm, Slicer's
convention), a label value in the case's label map, or a ready mask.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.case.quality import QualityLimits
from osteoimaging.errors import InputError
from osteoimaging.focal.parameters import FocalParameters
from osteoimaging.geometry import point_tuple
from osteoimaging.segmentation.labels import check_level
from osteoimaging.volume import Volume

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Alignment choices by name (or a rotation: 3×3 matrix or three angles in degrees).
ALIGNMENTS = ("endplates", "pca", "none")


@dataclass(frozen=True)
class BodySource:
    """One level's vertebral body: exactly one of ``seed_ras``, ``label`` or ``mask``.

    ``level`` is a vertebra level name (T11, L1 …) or None; ``tag`` names a body without
    a level in tables and folders (e.g. a manifest's ``label20``; default ``vertebra``).
    ``description`` says where it came from in the results table's ``source`` column
    (it is derived for clicks and labels when left empty).
    """

    level: str | None = None
    seed_ras: tuple[float, float, float] | None = None
    label: int | None = None
    mask: Volume | None = field(default=None, compare=False, repr=False)
    description: str = ""
    tag: str = ""

    def __post_init__(self) -> None:
        given = sum(x is not None for x in (self.seed_ras, self.label, self.mask))
        if given != 1:
            raise InputError("give each vertebra one of: a seed point, a label value, a mask")
        object.__setattr__(self, "level", check_level(self.level))
        if self.tag and not _SAFE_NAME.fullmatch(self.tag):
            raise InputError(
                f"vertebra name '{self.tag}' may hold only letters, digits, '.', '_' and '-'"
            )
        if self.seed_ras is not None:
            seed = point_tuple(self.seed_ras)
            if not all(np.isfinite(seed)):
                raise InputError(f"seed point {self.seed_ras} is not three finite numbers")
            object.__setattr__(self, "seed_ras", seed)
        if self.label is not None:
            object.__setattr__(self, "label", check_label_value(self.label))

    @property
    def name(self) -> str:
        """The level name, else the tag, else ``vertebra`` (safe as a folder name)."""
        return self.level or self.tag or "vertebra"


def check_label_value(value: Any) -> int:
    """A label value as a positive integer (``20``, ``"20"``, ``20.0``), else InputError."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"label value '{value}' is not a number") from exc
    if not np.isfinite(number) or number != int(number) or number <= 0:
        raise InputError(f"label value '{value}' is not a positive integer")
    return int(number)


def check_align(align: Any) -> str | np.ndarray:
    """An alignment choice: a name of :data:`ALIGNMENTS` (``auto`` = endplates), a 3×3
    rotation or three angles in degrees (as an array)."""
    if isinstance(align, str):
        key = align.strip().lower()
        key = "endplates" if key == "auto" else key
        if key not in ALIGNMENTS:
            raise InputError(
                f"unknown alignment '{align}' (endplates, pca, none, or angles RX,RY,RZ)"
            )
        return key
    arr = np.asarray(align, dtype=float)
    if arr.shape not in {(3,), (3, 3)} or not np.all(np.isfinite(arr)):
        raise InputError("alignment must be a name, three angles or a 3×3 rotation")
    return arr


@dataclass
class CaseRequest:
    """The inputs of :func:`osteoimaging.case.measure_case`.

    ``labels`` (and ``body_labels``, 1 = body part) are label maps on the CT grid for the
    bodies given by label value. ``input_units``/``material`` declare what the CT holds
    (:func:`osteoimaging.case.density.resolve_density`). ``growcut`` replaces the
    GrowCut kernel (the Slicer module passes Slicer's own). ``input_name`` names the CT
    in reports (a file name; never read from DICOM patient fields).
    """

    ct: Volume
    bodies: Sequence[BodySource]
    labels: Volume | None = None
    body_labels: Volume | None = None
    labels_name: str = "label map"
    calibration: LinearCalibration | None = None
    input_units: str = "HU"
    material: str | None = None
    align: str | np.ndarray | Sequence[float] = "endplates"
    params: FocalParameters = field(default_factory=FocalParameters)
    left_right: bool = False
    segmentation: Any = None
    growcut: Callable | None = None
    limits: QualityLimits = field(default_factory=QualityLimits)
    input_name: str = ""
    input_sha256: str | None = None

    def __post_init__(self) -> None:
        if not self.bodies:
            raise InputError("no vertebra to measure: give a seed point, a label or a mask")
        names = [b.name for b in self.bodies]
        if len(set(names)) != len(names):
            raise InputError("two vertebrae have the same level name; give distinct levels")
        if any(b.label is not None for b in self.bodies) and self.labels is None:
            raise InputError("a vertebra is given by label value but there is no label map")
        self.align = check_align(self.align)
        if not isinstance(self.params, FocalParameters):
            raise InputError(f"params must be FocalParameters, got {type(self.params).__name__}")
