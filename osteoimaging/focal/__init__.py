"""Focal osteoporosis defect measurement (Li C et al., JOR Spine 2022;5(1):e1195).

Voxel maps of intercept width, focal BMD loss and focal BMC loss from a CT, a vertebral
body mask and a HU → BMD calibration; see ``docs/method.md``. Files and figures of a
measured case are written by :mod:`osteoimaging.case.outputs`.
"""

from osteoimaging.focal.parameters import FocalParameters
from osteoimaging.focal.pipeline import FocalResult, measure_focal

__all__ = ["FocalParameters", "FocalResult", "measure_focal"]
