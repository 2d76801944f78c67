"""Calibration-phantom presets: known insert densities, shipped as JSON package data.

Each ``presets/<key>.json`` holds ``name``, ``material`` (HA = hydroxyapatite, K2HPO4 =
dipotassium phosphate), ``units``, ``model`` (``linear`` or ``mindways``) and the
``inserts`` (``name``, ``density`` and, for Mindways, ``water_density``). Values are
nominal or one certificate's; a phantom's own certificate always wins (pass
``densities=`` to override).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from osteoimaging.errors import InputError


@dataclass(frozen=True)
class PhantomPreset:
    """A calibration phantom: its inserts' known densities and the fit model."""

    key: str
    name: str
    material: str
    model: str
    inserts: tuple[dict[str, Any], ...]
    units: str = "mg/cm3"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def densities(self) -> list[float]:
        return [float(i["density"]) for i in self.inserts]

    @property
    def water_densities(self) -> list[float] | None:
        if self.model != "mindways":
            return None
        return [float(i["water_density"]) for i in self.inserts]


def _preset_files() -> dict[str, Any]:
    folder = resources.files("osteoimaging.calibration") / "presets"
    return {p.name[:-5]: p for p in folder.iterdir() if p.name.endswith(".json")}


def list_presets() -> list[str]:
    """Keys of the shipped presets, sorted."""
    return sorted(_preset_files())


def load_preset(key: str) -> PhantomPreset:
    """The preset named by its key (e.g. ``qrm_bdc_6``) or display name (``QRM-BDC 6-rod``)."""
    files = _preset_files()
    if key not in files:
        by_name = {}
        for k, p in files.items():
            by_name[json.loads(p.read_text(encoding="utf-8"))["name"].lower()] = k
        if key.lower() not in by_name:
            raise InputError(f"unknown phantom preset '{key}' (known: {', '.join(sorted(files))})")
        key = by_name[key.lower()]
    data = json.loads(files[key].read_text(encoding="utf-8"))
    return PhantomPreset(
        key=key,
        name=data["name"],
        material=data["material"],
        model=data["model"],
        inserts=tuple(data["inserts"]),
        units=data.get("units", "mg/cm3"),
        note=data.get("note", ""),
        extra={k: v for k, v in data.items() if k not in {"name", "material", "model", "inserts"}},
    )
