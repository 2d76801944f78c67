"""What the RadiomicsMRI module's Logic does, on MRML nodes, testable headless.

T1- and T2-weighted volume nodes and a segmentation with one segment per vertebra
(L1–L4) become a label map on the T1 grid (segment *n* in ``levels`` order → label
*n*+1); the logic layer's ``extract_features`` gives one row per vertebra, stored in a
table node; ``apply_model`` adds the radscore and the abnormal-bone-mass call.

The radiomics functions are imported when called (pyradiomics is optional).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.mrml.segmentations import find_segment, segment_to_mask
from osteoimaging.mrml.tables import new_results_table, rows_table, set_result_row, table_rows
from osteoimaging.mrml.volumes import node_to_volume
from osteoimaging.progress import ProgressCallback, report, sub_progress
from osteoimaging.volume import Volume

LEVELS = ("L1", "L2", "L3", "L4")
FEATURES_TABLE = "OsteoImaging radiomics features"
ICC_TABLE = "OsteoImaging rater ICC"
SCORES_TABLE = "OsteoImaging radscore"


def label_map(segmentation_node, reference_node, levels=LEVELS) -> tuple[Volume, dict[str, int]]:
    """A label map on ``reference_node``'s grid: label i+1 inside ``levels[i]``'s segment.

    Raises InputError when a level has no segment or two segments overlap.
    """
    labels = None
    values: dict[str, int] = {}
    for value, level in enumerate(levels, start=1):
        mask = segment_to_mask(
            segmentation_node, find_segment(segmentation_node, level), reference_node
        )
        if labels is None:
            labels = mask.with_array(np.zeros(mask.shape, dtype=np.uint8))
        if np.any(labels.array[mask.array] != 0):
            raise InputError(f"segment {level} overlaps another level", segmentation_node.GetName())
        labels.array[mask.array] = value
        values[level] = value
    if labels is None:
        raise InputError("no vertebra levels given")
    return labels, values


def default_extract(t1, t2, labels, label_values, preset, t2_labels=None, progress=None):
    """The logic layer's extraction: one row per level plus the per-patient mean row."""
    from osteoimaging.radiomics import extract_features

    return extract_features(
        t1,
        t2,
        labels,
        list(label_values.values()),
        preset,
        level_names=list(label_values),
        t2_labels=t2_labels,
        progress=progress,
    )


def features_to_table(scene, features, rater: str = "rater 1", name: str = FEATURES_TABLE):
    """Store a features DataFrame (index or a ``level`` column = vertebra) in a table node."""
    node = scene.GetFirstNodeByName(name)
    if node is None:
        node = new_results_table(scene, name)
    if "level" not in features.columns:
        features = features.rename_axis("level").reset_index()
    for record in features.to_dict("records"):
        level = str(record.pop("level"))
        set_result_row(node, level, rater, {str(k): _plain(v) for k, v in record.items()})
    return node


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def run_extraction(
    t1_node,
    t2_node,
    segmentation_node,
    preset: str,
    second_rater_node=None,
    progress: ProgressCallback | None = None,
    extract: Callable = default_extract,
):
    """Extract features per level (and per rater); returns the features table node."""
    if t1_node is None or t2_node is None or segmentation_node is None:
        raise InputError("select the T1WI and T2WI volumes and the L1–L4 segmentation")
    t1, t2 = node_to_volume(t1_node), node_to_volume(t2_node)
    raters = [("rater 1", segmentation_node)]
    if second_rater_node is not None:
        raters.append(("rater 2", second_rater_node))
    node = None
    for i, (rater, seg) in enumerate(raters):
        report(progress, i / len(raters), f"features, {rater}")
        labels, values = label_map(seg, t1_node)
        t2_labels, _ = label_map(seg, t2_node)  # the same segments on the T2 grid
        features = extract(
            t1,
            t2,
            labels,
            values,
            preset,
            t2_labels=t2_labels,
            progress=sub_progress(progress, i / len(raters), (i + 1) / len(raters)),
        )
        node = features_to_table(t1_node.GetScene(), features, rater)
    report(progress, 1.0, "done")
    return node


def default_apply(model, features):
    from osteoimaging.radiomics import apply_model

    return apply_model(model, features)


def table_to_frame(table_node, rater: str = "rater 1"):
    """The rows of one rater in a features table as a DataFrame indexed by level."""
    import pandas as pd

    rows = [r for r in table_rows(table_node) if r["region"] == rater]
    if not rows:
        raise InputError(f"the features table has no rows of {rater}", table_node.GetName())
    return pd.DataFrame(rows).drop(columns=["region"]).set_index("level")


def run_model(features_node, model, apply: Callable = default_apply, name: str = SCORES_TABLE):
    """Apply a radiomics model to rater 1's features; store radscore and call in a table node.

    ``apply(model, features)`` returns a DataFrame with ``radscore`` and ``call`` columns
    (one row per level and the per-patient row), keyed by its ``level`` column (or index).
    A 0/1 ``predicted`` column becomes the ``call`` "abnormal bone mass" / "normal".
    """
    scores = apply(model, table_to_frame(features_node).reset_index())
    if "level" in scores.columns:
        scores = scores.set_index("level")
    if "predicted" in scores.columns:
        scores["call"] = ["abnormal bone mass" if p else "normal" for p in scores["predicted"]]
    scene = features_node.GetScene()
    node = scene.GetFirstNodeByName(name)
    if node is None:
        node = new_results_table(scene, name)
    for key, record in scores.to_dict("index").items():
        set_result_row(node, str(key), "model", {str(k): _plain(v) for k, v in record.items()})
    return node


def default_icc(rater_a, rater_b):
    from osteoimaging.radiomics import feature_icc

    return feature_icc(rater_a, rater_b)


def run_icc(features_node, icc: Callable = default_icc, case_id: str = "this case"):
    """ICC per feature between rater 1 and rater 2 over this case's levels, as a table node.

    ``icc(rater_a, rater_b)`` takes per-level tables with ``case_id`` and ``level`` columns
    and returns rows (``feature``, ``icc``, ``kept``). With one case the ICC is across its
    vertebrae only; the cohort tools give the study's ICC over cases.
    """
    frames = []
    for rater in ("rater 1", "rater 2"):
        frame = table_to_frame(features_node, rater).reset_index()
        frame = frame[frame["level"] != "patient"]
        frames.append(frame.assign(case_id=case_id))
    result = icc(*frames)
    rows = [{k: _plain(v) for k, v in r.items()} for r in result.to_dict("records")]
    return rows_table(features_node.GetScene(), ICC_TABLE, rows)
