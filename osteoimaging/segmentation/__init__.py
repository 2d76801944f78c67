"""Vertebral-body segmentation: one-click GrowCut and existing label maps."""

from osteoimaging.segmentation.growcut import (
    SegmentationParameters,
    SegmentationResult,
    dice,
    grow_cut,
    lps_to_ras,
    ras_to_lps,
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
from osteoimaging.segmentation.seeds import SeedingParameters, one_click_seeds

__all__ = [
    "ANALYSIS_LEVELS",
    "LABEL_SCHEMES",
    "SeedingParameters",
    "SegmentationParameters",
    "SegmentationResult",
    "body_mask_from_labels",
    "check_level",
    "dice",
    "grow_cut",
    "label_for_level",
    "lps_to_ras",
    "one_click_seeds",
    "parse_levels",
    "ras_to_lps",
    "segment_vertebral_body",
]
