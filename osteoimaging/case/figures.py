"""The pictures of a case: per-level overlay and sub-region grids, bar charts across levels.

Each function returns PNG bytes, written to disk and embedded in the study report by
:mod:`osteoimaging.case.outputs` (one rendering serves both).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from osteoimaging.case.pipeline import CaseResult, LevelResult
from osteoimaging.volume import Volume

#: Maps drawn as sub-region grids (key, title).
SUBREGION_FIGURES = (("focal_bmc_loss", "focal BMC loss"), ("bmd", "BMD"))


def _png_of(draw) -> bytes:
    with tempfile.TemporaryDirectory(prefix="osteo-fig-") as folder:
        path = Path(folder) / "figure.png"
        draw(path)
        return path.read_bytes()


def overlay_png(level: LevelResult, ct: Volume, input_name: str = "") -> bytes:
    """CT slices through the ROI with the focal BMC loss map in colour."""
    from osteoimaging.focal.outputs import overlay_png as draw

    return _png_of(lambda path: draw(level.focal, path, ct))


def subregion_pngs(level: LevelResult, bmd_units: str) -> list[tuple[str, str, bytes]]:
    """(map key, title, PNG) of each sub-region grid of :data:`SUBREGION_FIGURES`."""
    from osteoimaging.subregions import subregion_figure

    out = []
    for key, text in SUBREGION_FIGURES:
        units = bmd_units if key == "bmd" else level.focal.maps[key].metadata.get("units", "")
        title = f"{level.name}: {text} by sub-region ({units})"
        png = _png_of(
            lambda path, key=key, title=title, units=units: subregion_figure(
                level.subregions, key, path, title=title, units=units
            )
        )
        out.append((key, title, png))
    return out


def bar_chart_pngs(case: CaseResult) -> list[tuple[str, bytes]]:
    """(title, PNG) of each measure across the case's levels (only for several levels)."""
    return []
