"""Seedable synthetic phantoms: trabecular bone, a vertebra, and its routine-CT view."""

from osteoimaging.phantoms.ctsim import CTProtocol, simulate_ct
from osteoimaging.phantoms.trabecular import plate_model, trabecular_bone
from osteoimaging.phantoms.vertebra import (
    FocalDefect,
    VertebraPhantom,
    VertebraSpec,
    demo_case,
    make_vertebra,
    small_case,
    vertebra_ct,
)

__all__ = [
    "CTProtocol",
    "FocalDefect",
    "VertebraPhantom",
    "VertebraSpec",
    "demo_case",
    "make_vertebra",
    "plate_model",
    "simulate_ct",
    "small_case",
    "trabecular_bone",
    "vertebra_ct",
]
