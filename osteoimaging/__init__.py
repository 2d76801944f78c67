"""OsteoImaging: headless logic for quantitative osteoporosis imaging.

The package is pure Python on numpy arrays and SimpleITK images. It never imports
``slicer``, ``qt`` or ``ctk`` except in :mod:`osteoimaging.mrml`, the bridge to
Slicer's MRML scene, which needs only ``slicer-core``.
"""

from osteoimaging._version import __version__
from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.volume import Volume

__all__ = ["InputError", "Volume", "__version__", "logger"]
