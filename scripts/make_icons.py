"""Draw the extension and module icons (128×128 RGBA PNG) deterministically.

Run from the repository root: ``python scripts/make_icons.py``. The icons are committed;
re-run after changing the drawing.

* ``Resources/Icons/OsteoImaging.png`` — an axial vertebral body with trabecular texture
  and a hot-coloured focal defect;
* ``FocalOsteoDefect/.../FocalOsteoDefect.png`` — the same body with its defect map;
* ``RadiomicsMRI/.../RadiomicsMRI.png`` — a sagittal stack of four vertebral bodies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZE = 128


def _grid() -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(float) + 0.5
    return x / SIZE * 2 - 1, y / SIZE * 2 - 1  # [-1, 1], y down


def _texture(seed: int = 3) -> np.ndarray:
    """Smoothed random trabecular-looking pattern in [0, 1]."""
    from scipy import ndimage

    noise = np.random.default_rng(seed).normal(size=(SIZE, SIZE))
    field = ndimage.gaussian_filter(noise, 2.0)
    return (np.abs(field) < 0.35 * field.std()).astype(float)


def _rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.concatenate([rgb, alpha[..., None]], axis=-1).clip(0, 1)


def vertebra_icon(with_map: bool) -> np.ndarray:
    x, y = _grid()
    body = (x / 0.82) ** 2 + ((y + 0.12) / 0.62) ** 2 <= 1.0
    inner = (x / 0.74) ** 2 + ((y + 0.12) / 0.54) ** 2 <= 1.0
    canal = (x / 0.22) ** 2 + ((y - 0.72) / 0.18) ** 2 <= 1.0
    ring = ((x / 0.42) ** 2 + ((y - 0.7) / 0.3) ** 2 <= 1.0) & ~canal & (y > 0.45)
    defect = ((x - 0.22) / 0.26) ** 2 + ((y + 0.2) / 0.22) ** 2 <= 1.0
    grey = np.zeros((SIZE, SIZE))
    grey[inner] = 0.35 + 0.5 * _texture()[inner]
    grey[defect & inner] = 0.25
    grey[body & ~inner] = 0.95
    grey[ring] = 0.85
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    alpha = (body | ring).astype(float)
    if with_map:
        d = np.sqrt(((x - 0.22) / 0.26) ** 2 + ((y + 0.2) / 0.22) ** 2)
        heat = np.clip(1.2 - d, 0, 1)[..., None]
        colour = np.array([1.0, 0.55, 0.1]) * heat + np.array([0.85, 0.1, 0.2]) * (1 - heat)
        blend = (defect & inner)[..., None] * 0.75
        rgb = rgb * (1 - blend) + colour * blend
    return _rgba(rgb, alpha)


def spine_icon() -> np.ndarray:
    x, y = _grid()
    rgb = np.zeros((SIZE, SIZE, 3))
    alpha = np.zeros((SIZE, SIZE))
    for n, cy in enumerate(np.linspace(-0.72, 0.72, 4)):
        body = (np.abs(x + 0.1) <= 0.5) & (np.abs(y - cy) <= 0.15)
        tone = 0.45 + 0.12 * n
        rgb[body] = (tone, tone, tone * 1.1)
        alpha[body] = 1.0
    cord = (np.abs(x - 0.62) <= 0.1) & (np.abs(y) <= 0.95)
    rgb[cord] = (0.9, 0.9, 0.95)
    alpha[cord] = 1.0
    score = (np.abs(x + 0.1) <= 0.5) & (np.abs(y - 0.24) <= 0.15)
    rgb[score] = (0.95, 0.35, 0.15)
    return _rgba(rgb, alpha)


def write_png(rgba: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, rgba)


def main() -> None:
    write_png(vertebra_icon(with_map=True), ROOT / "Resources/Icons/OsteoImaging.png")
    write_png(
        vertebra_icon(with_map=True),
        ROOT / "FocalOsteoDefect/Resources/Icons/FocalOsteoDefect.png",
    )
    write_png(spine_icon(), ROOT / "RadiomicsMRI/Resources/Icons/RadiomicsMRI.png")


if __name__ == "__main__":
    main()
