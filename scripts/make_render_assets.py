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
    """The docs' figures, drawn by the product's own code (the case pipeline's figures)."""
    from osteoimaging.case import BodySource, CaseRequest, measure_case
    from osteoimaging.case.figures import bar_chart_pngs, overlay_png, subregion_pngs
    from osteoimaging.figures import mid_slices_png
    from osteoimaging.imageio import read_image
    from osteoimaging.segmentation.labels import label_for_level

    ct_path = DATA / "example_ct.nii.gz"
    ct = read_image(ct_path)
    levels = ["T12", "L1", "L2", "L3", "L4"]
    request = CaseRequest(
        ct=ct,
        bodies=[BodySource(lv, label=label_for_level(lv, "verse")) for lv in levels],
        labels=read_image(DATA / "totalseg_vertebrae_pp_refined.nii.gz"),
        labels_name="totalseg_vertebrae_pp_refined.nii.gz",
        left_right=True,
        input_name=ct_path.name,
    )
    case = measure_case(request)
    l1 = case.level("L1")
    mid_slices_png(
        ct,
        DOCS / "render_mid_slices.png",
        l1.body,
        title=f"L1 - {ct_path.name}",
        mask_label="L1 body (TotalSegmentator label 20)",
    )
    (DOCS / "render_focal_overlay.png").write_bytes(overlay_png(l1, ct, ct_path.name))
    (DOCS / "render_subregions.png").write_bytes(subregion_pngs(l1, case.density.units)[0][2])
    (DOCS / "render_bar_chart.png").write_bytes(bar_chart_pngs(case)[3][1])
    print(f"wrote {DOCS}/render_*.png")


def report() -> None:
    """A screenshot of the study report of T12–L4 of the example CT (headless Chromium)."""
    import subprocess
    import tempfile

    from osteoimaging.case import BodySource, CaseRequest, measure_case
    from osteoimaging.case.outputs import write_case_outputs
    from osteoimaging.imageio import read_image
    from osteoimaging.segmentation.labels import label_for_level

    levels = ["T12", "L1", "L2", "L3", "L4"]
    request = CaseRequest(
        ct=read_image(DATA / "example_ct.nii.gz"),
        bodies=[BodySource(lv, label=label_for_level(lv, "verse")) for lv in levels],
        labels=read_image(DATA / "totalseg_vertebrae_pp_refined.nii.gz"),
        labels_name="totalseg_vertebrae_pp_refined.nii.gz",
        input_name="example_ct.nii.gz",
    )
    with tempfile.TemporaryDirectory() as folder:
        page = write_case_outputs(measure_case(request), folder)["report"]
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={folder}/profile", "--window-size=1100,2200",
             f"--screenshot={DOCS / 'study_report.png'}", page.as_uri()],
            check=True, capture_output=True,
        )  # fmt: skip
    print(f"wrote {DOCS / 'study_report.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("colormaps", "figures", "report"))
    args = parser.parse_args()
    {"colormaps": colormaps, "figures": figures, "report": report}[args.what]()


if __name__ == "__main__":
    main()
