"""The RadiomicsMRI module's workflow on a real MRML scene (extraction passed in as a function)."""

from __future__ import annotations

import numpy as np
import pytest
from mrml_harness import oblique_direction

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

pd = pytest.importorskip("pandas")


def _scene(app):
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.volumes import volume_to_node

    rng = np.random.default_rng(2)
    t1 = Volume(
        rng.random((20, 12, 10)).astype(np.float32), (0.8, 0.8, 4.0), (1, 2, 3), oblique_direction()
    )
    # T2 on its own grid (another spacing and origin), as sagittal T1/T2 series usually are.
    t2 = Volume(
        rng.random((18, 14, 12)).astype(np.float32), (0.7, 0.7, 4.4), (0.5, 1.5, 2.0), t1.direction
    )
    seg = new_segmentation_node(app.scene, "vertebrae", None)
    boxes = {}
    for n, level in enumerate(("L4", "L2", "L1", "L3")):  # drawn out of order
        mask = t1.with_array(np.zeros(t1.shape, bool))
        z = {"L1": 1, "L2": 5, "L3": 9, "L4": 13}[level]
        mask.array[z : z + 3, 3 + n % 2 : 9, 2:8] = True
        mask_to_segment(mask, seg, level)
        boxes[level] = mask
    return volume_to_node(t1, app.scene, "T1"), volume_to_node(t2, app.scene, "T2"), seg, t1, boxes


def _extract(t1, t2, labels, label_values, preset, t2_labels=None, progress=None):
    """Known features: voxel count and mean T1 per level; T2 labels must be on T2's grid."""
    assert labels.same_geometry(t1) and t2_labels.same_geometry(t2)
    assert set(np.unique(t2_labels.array)) <= {0, *label_values.values()}
    assert all((t2_labels.array == v).any() for v in label_values.values())
    rows = {
        level: {
            "voxels": float((labels.array == v).sum()),
            "t1_mean": float(t1.array[labels.array == v].mean()),
            "preset": preset,
        }
        for level, v in label_values.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def test_label_map_and_features_table(slicer_app):
    from osteoimaging.mrml.radiomics_workflow import label_map, run_extraction, run_model
    from osteoimaging.mrml.tables import table_rows

    t1_node, t2_node, seg, t1, boxes = _scene(slicer_app)
    labels, values = label_map(seg, t1_node)
    assert values == {"L1": 1, "L2": 2, "L3": 3, "L4": 4}
    for level, value in values.items():
        np.testing.assert_array_equal(labels.array == value, boxes[level].array)

    table = run_extraction(
        t1_node, t2_node, seg, "reference", second_rater_node=seg, extract=_extract
    )
    rows = table_rows(table)
    assert [(r["level"], r["region"]) for r in rows] == [
        (lv, rater) for rater in ("rater 1", "rater 2") for lv in ("L1", "L2", "L3", "L4")
    ]
    assert rows[2]["voxels"] == boxes["L3"].array.sum()
    assert rows[2]["t1_mean"] == pytest.approx(t1.array[boxes["L3"].array].mean())
    assert rows[0]["preset"] == "reference"

    def apply(model, features):
        assert list(features["level"]) == ["L1", "L2", "L3", "L4"]
        score = features["t1_mean"].mean() * model["scale"]
        return pd.DataFrame({"level": ["patient"], "radscore": [score], "predicted": [1]})

    scores = run_model(table, {"scale": 2.0}, apply=apply)
    [row] = table_rows(scores)
    expected = 2.0 * np.mean([t1.array[boxes[lv].array].mean() for lv in ("L1", "L2", "L3", "L4")])
    assert row["level"] == "patient" and row["radscore"] == pytest.approx(expected)
    assert row["predicted"] == 1 and row["call"] == "abnormal bone mass"


def test_overlap_and_missing_inputs(slicer_app):
    from osteoimaging.mrml.radiomics_workflow import label_map, run_extraction
    from osteoimaging.mrml.segmentations import mask_to_segment

    t1_node, _, seg, _, boxes = _scene(slicer_app)
    mask_to_segment(boxes["L1"], seg, "L1 copy")
    with pytest.raises(InputError, match="vertebrae: segment L1 overlaps another level"):
        label_map(seg, t1_node, levels=("L1 copy", "L2", "L1"))
    with pytest.raises(InputError, match="no segment named 'L5'"):
        label_map(seg, t1_node, levels=("L5",))
    with pytest.raises(InputError, match="select the T1WI"):
        run_extraction(t1_node, None, seg, "reference", extract=_extract)


def test_rater_icc_table(slicer_app):
    from osteoimaging.mrml.radiomics_workflow import run_extraction, run_icc
    from osteoimaging.mrml.tables import table_rows

    t1_node, t2_node, seg, _, _ = _scene(slicer_app)
    only_one = run_extraction(t1_node, t2_node, seg, "reference", extract=_extract)
    with pytest.raises(InputError, match="has no rows of rater 2"):
        run_icc(only_one)
    table = run_extraction(
        t1_node, t2_node, seg, "reference", second_rater_node=seg, extract=_extract
    )
    seen = {}

    def icc(a, b):
        seen["a"], seen["b"] = a, b
        return pd.DataFrame(
            {"feature": ["voxels", "t1_mean"], "icc": [1.0, 0.5], "kept": [True, False]}
        )

    rows = table_rows(run_icc(table, icc=icc))
    assert list(seen["a"]["level"]) == ["L1", "L2", "L3", "L4"]
    assert set(seen["a"]["case_id"]) == {"this case"}
    np.testing.assert_array_equal(seen["a"]["voxels"], seen["b"]["voxels"])
    assert rows == [
        {"feature": "voxels", "icc": 1.0, "kept": "True"},
        {"feature": "t1_mean", "icc": 0.5, "kept": "False"},
    ]


def test_real_extraction_through_the_bridge(slicer_app):
    """The logic layer's pyradiomics extraction on nodes: one row per level + patient row."""
    import osteoimaging.radiomics as logic

    pytest.importorskip("radiomics", reason="pyradiomics not installed")
    from osteoimaging.mrml.radiomics_workflow import LEVELS, run_extraction, run_model
    from osteoimaging.mrml.tables import table_rows

    t1_node, t2_node, seg, _, _ = _scene(slicer_app)
    table = run_extraction(t1_node, t2_node, seg, "reference-9")
    rows = table_rows(table)
    assert [r["level"] for r in rows] == [*LEVELS, "patient"]
    features = [c for c in rows[0] if c.startswith(("T1_", "T2_"))]
    assert features and all(np.isfinite(rows[0][c]) for c in features)

    model = logic.published_model()
    # Raw features are not z-scores of the study's (unpublished) training set: refused.
    with pytest.raises(InputError, match=r"outside the model.s range"):
        run_model(table, model)

    # The bridge's arithmetic, with the range check lifted on purpose.
    def unchecked(m, f):
        return logic.apply_model(m, f, max_abs_z=float("inf"))

    scores = {r["level"]: r for r in table_rows(run_model(table, model, apply=unchecked))}
    assert set(scores) == {*LEVELS, "patient"}
    frame = pd.DataFrame(rows).drop(columns=["region"])
    expected = unchecked(model, frame).set_index("level")
    for level, row in scores.items():
        assert row["radscore"] == pytest.approx(expected.loc[level, "radscore"])
        called = "abnormal bone mass" if expected.loc[level, "predicted"] else "normal"
        assert row["call"] == called
