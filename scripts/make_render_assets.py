"""Assets of :mod:`osteoimaging.render`: its colour tables, and the figures shown in the docs.

Run from the repository root:

* ``python scripts/make_render_assets.py colormaps`` — writes
  ``osteoimaging/render/colormaps.json`` (needs matplotlib: a developer tool only; the
  package never imports it). The tables are *magma* and *viridis* by Nathaniel J. Smith,
  Stéfan van der Walt and (viridis) Eric Firing, "mpl-colormaps"
  (https://github.com/BIDS/colormap), released under CC0 1.0; matplotlib ships the same
  256 × RGB values in ``matplotlib/_cm_listed.py``.
* ``python scripts/make_render_assets.py figures`` — measures T12–L4 of the TotalSegmentator
  example CT in ``../shared/data`` (about a minute) and writes ``docs/figures/render_*.png``:
  the focal BMC loss overlay of L1, its sub-region grid, the mid slices and a bar chart of
  trabecular BMD across levels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LUT_FILE = ROOT / "osteoimaging" / "render" / "colormaps.json"
NAMES = ("magma", "viridis")
DATA = ROOT.parent / "shared" / "data" / "ct" / "totalseg-example"
DOCS = ROOT / "docs" / "figures"


def colormaps() -> None:
    import matplotlib

    maps = {}
    for name in NAMES:
        colors = matplotlib.colormaps[name].colors
        if len(colors) != 256:
            raise SystemExit(f"{name}: expected 256 entries, got {len(colors)}")
        maps[name] = [[round(float(c), 6) for c in rgb] for rgb in colors]
    doc = {
        "source": "mpl-colormaps by Nathaniel J. Smith, Stefan van der Walt and (viridis) "
        "Eric Firing, https://github.com/BIDS/colormap; values as in matplotlib "
        f"{matplotlib.__version__} (_cm_listed.py)",
        "licence": "CC0-1.0",
        "format": "256 RGB triplets in [0, 1], index 0 = low end",
        "maps": maps,
    }
    text = json.dumps(doc, indent=None, separators=(",", ":"))
    LUT_FILE.write_text(text.replace("]],", "]],\n") + "\n", encoding="utf-8")
    print(f"wrote {LUT_FILE} ({', '.join(NAMES)})")


def figures() -> None:
    import numpy as np

    from osteoimaging.figures import mid_slices_png
    from osteoimaging.imageio import read_image
    from osteoimaging.render import Outline, Overlay, bar_chart, save_png, slice_figure
    from osteoimaging.subregions import subregion_figure
    from osteoimaging.vertebrae import measure_vertebrae, resolve_vertebrae

    ct_path = DATA / "example_ct.nii.gz"
    labels = DATA / "totalseg_vertebrae_pp_refined.nii.gz"
    ct = read_image(ct_path)
    levels = ["T12", "L1", "L2", "L3", "L4"]
    items = resolve_vertebrae(ct, levels=levels, labels_path=labels)
    case = measure_vertebrae(ct, items, left_right=True)
    l1 = case.results["L1"]
    name = ct_path.name
    mid_slices_png(
        ct,
        DOCS / "render_mid_slices.png",
        items[1].mask,
        title=f"L1 - {name}",
        mask_label="L1 body (TotalSegmentator label 20)",
    )
    erosion = l1.parameters.erosion_mm
    figure = slice_figure(
        ct,
        overlays=[Overlay(l1.maps["focal_bmc_loss"], "focal BMC loss", "mm", clear_below=0.0)],
        outlines=[Outline(l1.roi, f"ROI (vertebral body eroded {erosion:g} mm)")],
        planes="volume",
        grid=l1.roi,
        title=f"L1 - {name} - focal BMC loss (uncalibrated: HU scale)",
    )
    save_png(figure.image, DOCS / "render_focal_overlay.png")
    subregion_figure(
        case.subregions["L1"],
        "focal_bmc_loss",
        DOCS / "render_subregions.png",
        title=f"L1 - {name} - focal BMC loss by sub-region",
        units="mm",
    )
    values = [case.results[lv].values.get("trabecular_bmd_mg_cm3", np.nan) for lv in levels]
    chart = bar_chart(
        levels,
        values,
        title=f"Trabecular mean by level - {name}",
        label="trabecular mean",
        units="HU, uncalibrated",
    )
    save_png(chart, DOCS / "render_bar_chart.png")
    print(f"wrote {DOCS}/render_*.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("colormaps", "figures"))
    args = parser.parse_args()
    {"colormaps": colormaps, "figures": figures}[args.what]()


if __name__ == "__main__":
    main()
