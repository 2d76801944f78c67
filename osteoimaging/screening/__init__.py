"""Opportunistic osteoporosis screening on chest CT: a DenseNet CNN with Grad-CAM, against the
skeletal muscle index and the L1-attenuation rule (docs/screening.md).

Background: a multicentre study trained DenseNet121 on unenhanced chest CT (vertebral body
and skeletal muscle) and reported AUC > 0.85 on every external test set, better than the
skeletal muscle index, with Grad-CAM on the vertebral body and muscles (Insights into
Imaging 2025; read here through a secondary summary, ../shared/papers/).

Importing this package needs only the core install; torch and MONAI (the ``screen`` extra)
are imported inside :mod:`.model`, :mod:`.gradcam` and the training/application steps.
"""

from osteoimaging.screening.baselines import (
    PICKHARDT_THRESHOLDS_HU,
    MuscleRegionParams,
    height_from_dicom,
    l1_attenuation,
    l1_rule,
    muscle_area_cm2,
    muscle_mask_threshold,
    smi,
)
from osteoimaging.screening.pipeline import ScreenParams, screen_case, screen_job
from osteoimaging.screening.prep import PreparedInput, PrepParams, map_to_ct, prepare_input

__all__ = [
    "PICKHARDT_THRESHOLDS_HU",
    "MuscleRegionParams",
    "PrepParams",
    "PreparedInput",
    "ScreenParams",
    "height_from_dicom",
    "l1_attenuation",
    "l1_rule",
    "map_to_ct",
    "muscle_area_cm2",
    "muscle_mask_threshold",
    "prepare_input",
    "screen_case",
    "screen_job",
    "smi",
]
