"""OsteoImaging: headless logic for quantitative osteoporosis imaging.

The package is pure Python on numpy arrays and SimpleITK images. It never imports
``slicer``, ``qt`` or ``ctk`` except in :mod:`osteoimaging.mrml`, the bridge to
Slicer's MRML scene, which needs only ``slicer-core``.

``Volume`` is imported on first use, so that ``osteo --version`` and ``osteo --help``
start without loading numpy and SimpleITK.
"""

from typing import Any

from osteoimaging._version import __version__
from osteoimaging.errors import InputError
from osteoimaging.log import logger

__all__ = ["InputError", "Volume", "__version__", "logger"]


def __getattr__(name: str) -> Any:
    if name == "Volume":
        from osteoimaging.volume import Volume

        return Volume
    raise AttributeError(f"module 'osteoimaging' has no attribute {name!r}")
