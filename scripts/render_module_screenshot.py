"""Render the FocalOsteoDefect screenshot for the Extensions Index: what a user sees.

Runs the module headless through the Slicer harness (Testing/slicer_harness, Slicer 5.12.3's
Python layer on slicer-core): the demo vertebra from Sample Data, a click in the body, Apply.
Then composes what the views show: the axial and sagittal slice views (slice logic's blended
CT + focal BMC loss map, as Slicer draws them without annotations), the map's colour legend
(its colour table, range and title from the legend display node) and the results table.
Pillow draws the composition (Slicer's annotations need an OpenGL view, which CI lacks).

    python scripts/render_module_screenshot.py [Resources/Screenshots/focal_module.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Testing"))

from PIL import Image, ImageDraw  # noqa: E402
from slicer_harness import SlicerSession, flows  # noqa: E402

COLUMNS = (
    "region",
    "focal_bmc_loss_mm",
    "focal_bmd_loss",
    "intercept_width_mm",
    "trabecular_bmd_mg_cm3",
)
HEADINGS = ("region", "BMC loss (mm)", "BMD loss", "width (mm)", "BMD (mg/cm3)")


def _view(session, name: str, centred_on) -> Image.Image:
    """The slice view ``name`` centred on a node, as the view shows it."""
    from osteoimaging.mrml.views import render_slice

    logic = session.app.layout_manager.sliceWidget(name).sliceLogic()
    bounds = [0.0] * 6
    centred_on.GetRASBounds(bounds)
    centre = [(bounds[2 * i] + bounds[2 * i + 1]) / 2 for i in range(3)]
    return Image.fromarray(render_slice(logic, centre, 70.0, pixels=360)[..., :3])


def _legend(map_node, height: int) -> Image.Image:
    from osteoimaging.mrml.maps import legend_node

    display = map_node.GetDisplayNode()
    table = display.GetColorNode()
    low, high = display.GetWindowLevelMin(), display.GetWindowLevelMax()
    legend = legend_node(map_node)
    image = Image.new("RGB", (150, height), (40, 40, 40))
    draw = ImageDraw.Draw(image)
    top, bottom = 40, height - 30
    n = table.GetNumberOfColors()
    for y in range(top, bottom):
        rgba = [0.0] * 4
        table.GetColor(round((bottom - 1 - y) / (bottom - 1 - top) * (n - 1)), rgba)
        draw.line([(20, y), (50, y)], fill=tuple(int(255 * c) for c in rgba[:3]))
    for value in np.linspace(low, high, 6):
        y = bottom - 1 - (value - low) / (high - low) * (bottom - 1 - top)
        draw.text((58, y - 6), legend.GetLabelFormat() % value, fill=(255, 255, 255))
    draw.text((8, 8), legend.GetTitleText(), fill=(255, 255, 255))
    return image


def _table(rows, width: int) -> Image.Image:
    line = 18
    image = Image.new("RGB", (width, line * (len(rows) + 2) + 10), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    xs = [10 + i * (width - 20) // len(COLUMNS) for i in range(len(COLUMNS))]
    for x, heading in zip(xs, HEADINGS, strict=True):
        draw.text((x, 6), heading, fill=(0, 0, 0))
    for r, row in enumerate(rows, start=1):
        for x, column in zip(xs, COLUMNS, strict=True):
            value = row.get(column, "")
            text = f"{value:.3g}" if isinstance(value, float) else str(value)
            draw.text((x, 6 + r * line), text, fill=(30, 30, 30))
    return image


def render(out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        session = flows.start(SlicerSession("5.12.3", workdir=tmp))
        try:
            result = flows.focal_flow(session, Path(tmp) / "out")
            ct = session.slicer.util.getNode("OsteoImagingDemoVertebra")
            map_node = session.slicer.modules.FocalOsteoDefectWidget.logic.mapNode(
                ct, "L1", "focal_bmc_loss"
            )
            red, yellow = _view(session, "Red", map_node), _view(session, "Yellow", map_node)
            legend = _legend(map_node, red.height)
            rows = [r for r in result.rows if r["level"] == "L1"]
            table = _table(rows, red.width + yellow.width + legend.width)
        finally:
            session.close()
    canvas = Image.new("RGB", (table.width, red.height + table.height), (255, 255, 255))
    canvas.paste(red, (0, 0))
    canvas.paste(yellow, (red.width, 0))
    canvas.paste(legend, (red.width + yellow.width, 0))
    canvas.paste(table, (0, red.height))
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    return out


if __name__ == "__main__":
    default = ROOT / "Resources/Screenshots/focal_module.png"
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    print(render(target))
