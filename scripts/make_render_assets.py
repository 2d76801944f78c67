"""Write the colour lookup tables of :mod:`osteoimaging.render` (run once; the data is committed).

Run from the repository root with matplotlib installed (a developer tool only; the package
never imports matplotlib): ``python scripts/make_colormaps.py``.

The tables are *magma* and *viridis* by Nathaniel J. Smith, Stéfan van der Walt and (viridis)
Eric Firing, "mpl-colormaps" (https://github.com/BIDS/colormap), released under CC0 1.0;
matplotlib ships the same 256 × RGB values in ``matplotlib/_cm_listed.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "osteoimaging" / "render" / "colormaps.json"
NAMES = ("magma", "viridis")


def main() -> None:
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
    OUT.write_text(text.replace("]],", "]],\n") + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({', '.join(NAMES)})")


if __name__ == "__main__":
    main()
