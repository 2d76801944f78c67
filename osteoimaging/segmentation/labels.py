"""Vertebra level names and masks from existing label maps.

A level name (``T11``, ``T12``, ``L1`` … ``L5``; more generally C1–C7, T1–T12, L1–L6,
S1) travels with every mask into the outputs. Label numbering differs between tools;
two common schemes are provided as conveniences (the user can always give the value):

* ``verse`` — VerSe challenge / TotalSegmentator v1 ``vertebrae`` task as in the
  ``totalseg-example`` test data: C1–C7 = 1–7, T1–T12 = 8–19, L1–L6 = 20–25 (Sekuboyina
  et al., Med Image Anal 2021;73:102166);
* ``totalseg_v2`` — TotalSegmentator v2 ``total`` task: S1 = 26, L5 = 27 … L1 = 31,
  T12 = 32 … T1 = 43, C7 = 44 … C1 = 50 (Wasserthal et al., Radiol Artif Intell
  2023;5:e230024).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.validation import mask_from_label
from osteoimaging.volume import Volume

_LEVEL = re.compile(r"^(C[1-7]|T([1-9]|1[0-2])|L[1-6]|S1)$")

#: Levels the focal-defect analysis is meant for (thoracolumbar junction and lumbar spine).
ANALYSIS_LEVELS = ("T11", "T12", "L1", "L2", "L3", "L4", "L5")

_ORDER = (
    [f"C{i}" for i in range(1, 8)]
    + [f"T{i}" for i in range(1, 13)]
    + [f"L{i}" for i in range(1, 7)]
)

LABEL_SCHEMES: dict[str, dict[str, int]] = {
    "verse": {name: n + 1 for n, name in enumerate(_ORDER)},
    "totalseg_v2": {
        "S1": 26,
        **{f"L{i}": 32 - i for i in range(1, 6)},
        **{f"T{i}": 44 - i for i in range(1, 13)},
        **{f"C{i}": 51 - i for i in range(1, 8)},
    },
}


def check_level(level: str | None) -> str | None:
    """The normalised level name (e.g. ``"l1"`` → ``"L1"``) or an InputError."""
    if level is None:
        return None
    name = level.strip().upper()
    if not _LEVEL.match(name):
        raise InputError(
            f"'{level}' is not a vertebra level name (expected e.g. T11, T12, L1 … L5)"
        )
    return name


def parse_levels(text: str) -> list[str]:
    """``"L1,L2"`` → ``["L1", "L2"]`` (validated, duplicates refused)."""
    levels = [check_level(t) for t in text.split(",") if t.strip()]
    if not levels:
        raise InputError("no vertebra level given")
    if len(set(levels)) != len(levels):
        raise InputError(f"a level is repeated in '{text}'")
    return levels  # type: ignore[return-value]


def label_for_level(level: str, scheme: str) -> int:
    """The label value of ``level`` in a known numbering ``scheme``."""
    if scheme not in LABEL_SCHEMES:
        raise InputError(
            f"unknown label scheme '{scheme}' (known: {', '.join(sorted(LABEL_SCHEMES))})"
        )
    table = LABEL_SCHEMES[scheme]
    name = check_level(level)
    if name not in table:
        raise InputError(f"level {name} has no label in scheme '{scheme}'")
    return table[name]


def body_mask_from_labels(
    labels: Volume,
    label: int,
    *,
    path: str | Path | None = None,
    body_labels: Volume | None = None,
    body_value: int = 1,
) -> Volume:
    """Boolean mask of ``label`` (InputError naming the file if absent).

    With ``body_labels`` (e.g. TotalSegmentator's ``vertebrae_body`` output: 1 = body,
    2 = rest) only the body part of the vertebra is kept.
    """
    mask = mask_from_label(labels, int(label), path)
    if body_labels is not None:
        if not body_labels.same_geometry(labels):
            raise InputError("body label map is not on the grid of the vertebra labels", path)
        arr = mask.array & (np.rint(body_labels.array) == body_value)
        if not arr.any():
            raise InputError(f"label {label} has no voxel in the body part", path)
        mask = mask.with_array(arr)
    return mask
