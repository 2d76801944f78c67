"""PNG output: atomically to a file (:mod:`osteoimaging.atomic`) or as bytes (HTML reports)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from osteoimaging.atomic import atomic_path


def png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def save_png(image: Image.Image, path: str | Path) -> Path:
    """Write the image as PNG under ``path`` atomically (temporary name, then rename)."""
    with atomic_path(path, suffix=".png") as tmp:
        image.save(tmp, format="PNG", optimize=True)
    return Path(path)
