"""LASSO radscore, model JSON, published preset, DXA grouping, ICC filter, evaluation report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from osteoimaging.errors import InputError
from osteoimaging.radiomics.dxa import (
    BELOW_Z,
    LOW,
    NORMAL,
    OSTEOPOROSIS,
    WITHIN_Z,
    dxa_group,
    labels_from_dxa,
)
from osteoimaging.radiomics.model import (
    apply_model,
    load_model,
    published_model,
    save_model,
    train_model,
)
from osteoimaging.radiomics.reproducibility import feature_icc
from osteoimaging.radiomics.study import run_study
from osteoimaging.stats.roc import auc_delong


def synthetic_cohort(n: int, seed: int, p: int = 20) -> tuple[pd.DataFrame, np.ndarray]:
    """Abnormal bone mass depends on two features only (T1_f1 and T2_f1, the latter on a
    large raw scale so z-scoring matters); the rest is noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    columns = [f"T1_f{i}" for i in range(p // 2)] + [f"T2_f{i}" for i in range(p - p // 2)]
    table = pd.DataFrame(x, columns=columns)
    table["T2_f1"] = 1000 + 250 * table["T2_f1"]
    logit = 3.0 * table["T1_f1"].to_numpy() - 3.0 * (table["T2_f1"].to_numpy() - 1000) / 250
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    table.insert(0, "case_id", [f"s{seed}-{i:03d}" for i in range(n)])
    return table, y


@pytest.fixture(scope="module")
def trained():
    table, y = synthetic_cohort(160, seed=1)
    return train_model(table, y, seed=0), table, y


def test_lasso_picks_the_informative_features(trained):
    model, _, _ = trained
    coef = dict(zip(model.features, model.coefficients, strict=True))
    assert {"T1_f1", "T2_f1"} <= set(coef)
    top_two = sorted(coef, key=lambda f: -abs(coef[f]))[:2]
    assert set(top_two) == {"T1_f1", "T2_f1"}
    assert coef["T1_f1"] > 0 > coef["T2_f1"]
    others = [abs(c) for f, c in coef.items() if f not in {"T1_f1", "T2_f1"}]
    assert max(others, default=0.0) < 0.25 * min(abs(coef["T1_f1"]), abs(coef["T2_f1"]))
    # Generalises: AUC on a fresh cohort from the same model.
    new, y_new = synthetic_cohort(200, seed=2)
    assert auc_delong(y_new, model.radscore(new))["auc"] > 0.9
    # z-score parameters are the training data's (sample SD).
    i = model.features.index("T2_f1")
    assert model.sds[i] == pytest.approx(trained[1]["T2_f1"].std(ddof=1))


def test_model_json_round_trip(trained, tmp_path):
    model, table, _ = trained
    path = save_model(model, tmp_path / "model.json")
    data = json.loads(path.read_text())
    assert data["format"] == "osteoimaging-radscore-model"
    assert {"scikit-learn", "pyradiomics", "numpy", "osteoimaging"} <= set(data["software"])
    again = load_model(path)
    np.testing.assert_array_equal(apply_model(again, table), apply_model(model, table))
    # radscore = intercept + Σ β z, by hand for one row
    row = table.iloc[0]
    z = [(row[f] - m) / s for f, m, s in zip(model.features, model.means, model.sds, strict=True)]
    expected = model.intercept + float(np.dot(model.coefficients, z))
    assert apply_model(again, table)["radscore"].iloc[0] == pytest.approx(expected, rel=1e-12)


def test_bad_training_inputs(tmp_path):
    table, y = synthetic_cohort(60, seed=3, p=6)
    constant = table.assign(T1_f2=5.0)
    with pytest.raises(InputError, match=r"constant feature.*T1_f2"):
        train_model(constant, y)
    model = train_model(constant, y, drop_constant=True)
    assert "T1_f2" not in model.features
    with pytest.raises(InputError, match="single class"):
        train_model(table, np.ones(len(table), int))
    with pytest.raises(InputError, match="lacks 1 model feature"):
        apply_model(model, table.drop(columns=model.features[0]))
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="not an OsteoImaging radscore model"):
        load_model(tmp_path / "x.json")


def test_published_model_formula():
    model = published_model()
    assert "not publish" in model.warning
    row = {f: 1.0 for f in model.features}
    row["T1_original_shape_MeshVolume"] = 3.0
    out = apply_model(model, pd.DataFrame([row]))
    expected = 0.538 + (0.035 + 0.013 + 0.009 + 0.004 - 0.003 - 0.015 - 0.019 - 0.027) - 0.006
    assert out["radscore"].iloc[0] == pytest.approx(expected)
    assert out["predicted"].iloc[0] == int(expected >= 0.525)
    assert np.isnan(out["probability"].iloc[0])


@pytest.mark.parametrize(
    ("t", "z", "sex", "age", "group"),
    [
        (-2.5, None, "F", 45, OSTEOPOROSIS),  # boundary: ≤ −2.5
        (-2.4, None, "F", 45, LOW),
        (-1.0, None, "M", 50, NORMAL),  # boundary: ≥ −1 is normal; 50 uses T
        (-1.1, None, "M", 70, LOW),
        (-3.0, -2.0, "M", 49, BELOW_Z),  # men < 50 by Z; boundary −2 is abnormal
        (-3.0, -1.9, "M", 49, WITHIN_Z),
        (-2.4999999999999, None, "F", 60, OSTEOPOROSIS),  # float noise at the boundary
    ],
)
def test_dxa_grouping(t, z, sex, age, group):
    assert dxa_group(t, z, sex, age) == group


def test_dxa_labels_table():
    table = pd.DataFrame(
        {
            "case_id": ["a", "b", "c"],
            "t_score": [-2.6, -0.5, -1.5],
            "z_score": [0, 0, -1.0],
            "sex": ["F", "M", "M"],
            "age": [60, 30, 30],
        }
    )
    assert labels_from_dxa(table)["label"].tolist() == [1, 0, 0]
    with pytest.raises(InputError, match="row 1"):
        labels_from_dxa(table.assign(sex=["X", "M", "M"]))


def test_icc_filter_keeps_reproducible_features():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(30, 2))
    a = pd.DataFrame({"case_id": range(30), "T1_good": truth[:, 0], "T1_bad": truth[:, 1]})
    b = a.copy()
    b["T1_good"] += rng.normal(scale=0.05, size=30)
    b["T1_bad"] = rng.normal(size=30)  # second rater unrelated
    result = feature_icc(a, b).set_index("feature")
    assert result.loc["T1_good", "kept"] and result.loc["T1_good", "icc"] > 0.95
    assert not result.loc["T1_bad", "kept"]


def test_study_workflow_and_report(tmp_path):
    table, y = synthetic_cohort(120, seed=7, p=8)
    labels = pd.DataFrame({"case_id": table["case_id"], "label": y})
    external, y_ext = synthetic_cohort(40, seed=8, p=8)
    labels = pd.concat([labels, pd.DataFrame({"case_id": external["case_id"], "label": y_ext})])
    model, result = run_study(table, labels, external=external, report_dir=tmp_path, seed=1)
    sections = result["sections"]
    assert model.name == "T1+T2" and model.training["test_fraction"] == 0.3
    assert list(sections) == ["training", "validation", "external"]
    assert sections["training"]["n"] == 84 and sections["validation"]["n"] == 36
    assert set(sections["validation"]["models"]) == {"T1+T2", "T1", "T2"}
    assert len(sections["validation"]["comparisons"]) == 3
    assert sections["external"]["models"]["T1+T2"]["auc"] > 0.85
    for name in (
        "index.html",
        "results.json",
        "roc_validation.png",
        "decision_curve_external.png",
        "calibration_training.png",
    ):
        assert (tmp_path / name).stat().st_size > 0
    html = (tmp_path / "index.html").read_text()
    assert "DeLong" in html and "Hosmer" in html and "s7-" not in html  # no case ids
    # One page on the shared layout: 3 data sets × (ROC, decision, calibration) embedded.
    assert html.count("data:image/png;base64,") == 9 and "@page { size: A4" in html
    auc = sections["external"]["models"]["T1+T2"]["auc"]
    assert f'<td class="num">{auc:.3f}</td>' in html


def test_published_radscore_refuses_features_that_are_not_z_scores(shared_data):
    """Regression (issue 13): the published radscore applied to reference-9 features of the
    test MRI (not z-scored with the study's unpublished training statistics) gave radscores
    of −15 489 … −2 723 and "predicted 0" (main at 4df79ae). It must refuse and say why."""
    from osteoimaging.radiomics.extract import extract_features
    from osteoimaging.radiomics.matio import read_volume

    path = shared_data("mri/lumbar-vb3/VB3_01.mat")
    image = read_volume(path, variable="I", spacing=(1.0, 1.0, 1.0))
    labels = read_volume(path, variable="GT", spacing=(1.0, 1.0, 1.0))
    table = extract_features(image, image, labels, [1, 2, 3, 4], "reference-9")
    with pytest.raises(InputError, match="outside the model's range") as info:
        apply_model(published_model(), table)
    message = str(info.value)
    assert "T1_original_shape_VoxelVolume" in message and "does not publish" in message
    # The same features z-scored with this (tiny) cohort's own statistics are accepted.
    columns = published_model().features
    z = table.copy()
    z[columns] = (table[columns] - table[columns].mean()) / table[columns].std(ddof=1)
    assert apply_model(published_model(), z)["radscore"].notna().all()


def test_range_check_of_a_trained_model():
    from osteoimaging.radiomics.model import MAX_ABS_Z, out_of_range

    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int)
    table = pd.DataFrame(x * [2.0, 10.0, 1.0] + [5.0, 100.0, 0.0], columns=["T1_a", "T1_b", "T2_c"])
    model = train_model(table, y, seed=0)
    assert model.features
    assert out_of_range(model, table, max_abs_z=MAX_ABS_Z) == []
    far = table.iloc[:2].copy()
    feature = model.features[0]
    i = model.features.index(feature)
    far.loc[far.index[1], feature] = model.means[i] + 6.0 * model.sds[i]
    [hit] = out_of_range(model, far)
    assert (hit["row"], hit["feature"]) == (2, feature) and hit["z"] == pytest.approx(6.0)
    with pytest.raises(InputError, match=r"row 2 .* \(z = 6\)\. Refused.*--max-abs-z"):
        apply_model(model, far)
    assert len(apply_model(model, far, max_abs_z=7.0)) == 2
    assert len(apply_model(model, far, max_abs_z=None)) == 2


def test_published_model_cites_the_study():
    from osteoimaging.radiomics.model import PUBLISHED_REFERENCE

    model = published_model()
    reference = model.notes["reference"]
    for word in ("T1WI", "T2WI", "DXA", "160 patients", "LASSO", "35 patients"):
        assert word in reference
    assert reference == PUBLISHED_REFERENCE
