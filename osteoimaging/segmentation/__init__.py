"""Vertebral-body segmentation: one-click GrowCut and existing label maps."""

from osteoimaging.segmentation.fastgrowcut import fast_growcut
from osteoimaging.segmentation.growcut import (
    GrowCut,
    SegmentationParameters,
    SegmentationResult,
    dice,
    segment_vertebral_body,
)
from osteoimaging.segmentation.labels import (
    ANALYSIS_LEVELS,
    LABEL_SCHEMES,
    body_mask_from_labels,
    check_level,
    label_for_level,
    parse_levels,
)
from osteoimaging.segmentation.refine import RefineParameters
from osteoimaging.segmentation.seeds import SeedingParameters, SeedReport

__all__ = [
    "ANALYSIS_LEVELS",
    "LABEL_SCHEMES",
    "GrowCut",
    "RefineParameters",
    "SeedReport",
    "SeedingParameters",
    "SegmentationParameters",
    "SegmentationResult",
    "body_mask_from_labels",
    "check_level",
    "dice",
    "fast_growcut",
    "label_for_level",
    "parse_levels",
    "segment_vertebral_body",
]
