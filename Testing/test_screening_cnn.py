"""The CNN on synthetic chest CT (small DenseNet, CI-sized): AUC, Grad-CAM, save/load, CLI.

Configuration from ../shared/notes/performance-2026-12.md: small DenseNet at 128², fixed
epochs (not a time budget, so results repeat), one thread (robust on a loaded machine).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("monai")

from osteoimaging.screening.gradcam import grad_cam, mass_fractions
from osteoimaging.screening.model import (
    ModelConfig,
    load_model,
    predict,
    save_model,
    train_model,
)
from osteoimaging.screening.prep import PrepParams, prepare_input
from osteoimaging.screening.synth import MUSCLE_LABEL, CohortSpec, synth_case
from osteoimaging.screening.workflow import split_cases
from osteoimaging.stats.roc import auc_delong

N_CASES = 200
COARSE = {"scene_mm": 2.0, "inplane_mm": (1.8, 2.0)}
CONFIG = ModelConfig(architecture="small", epochs=10, patience=10, seed=0, threads=1)


@pytest.fixture(scope="module")
def cohort():
    spec = CohortSpec(seed=11, **COARSE)
    prep = PrepParams(size_px=128, pixel_mm=1.5, slab_mm=10.0)
    images, y, body, muscle = [], [], [], []
    for i in range(N_CASES):
        ct, labels, truth = synth_case(spec, i)
        p = prepare_input(
            ct, ct.with_array(labels.array == 32), prep, ct.with_array(labels.array == MUSCLE_LABEL)
        )
        images.append(p.image)
        body.append(p.body)
        muscle.append(p.muscle)
        y.append(truth["osteoporosis"])
    return np.stack(images), np.asarray(y), np.stack(body), np.stack(muscle), prep


@pytest.fixture(scope="module")
def trained(cohort):
    images, y, *_, prep = cohort
    subset = split_cases(y, 0.25, 0.2, seed=0)
    idx = {s: np.flatnonzero(subset == s) for s in ("train", "validation", "test")}
    model, history = train_model(images, y, idx["train"], idx["validation"], CONFIG, prep.windows)
    return model, history, idx


def test_training_reaches_auc_on_held_out_cases(cohort, trained):
    images, y, *_ = cohort
    model, history, idx = trained
    assert 0.2 < y.mean() < 0.5  # both classes well represented
    prob = predict(model, images[idx["test"]])
    auc = auc_delong(y[idx["test"]], prob)
    assert auc["auc"] >= 0.8, (auc, history["epochs"])
    assert history["best_val_auc"] == pytest.approx(max(e["val_auc"] for e in history["epochs"]))


def test_gradcam_mass_concentrates_on_the_body(cohort, trained):
    images, _, body, muscle, _ = cohort
    model, _, idx = trained
    test = idx["test"]
    maps, classes = grad_cam(model, images[test], CONFIG.cam_layer)
    assert maps.shape == (len(test), 128, 128)
    assert np.all((maps >= 0) & (maps <= 1)) and np.allclose(maps.max(axis=(1, 2)), 1.0)
    assert np.array_equal(classes, (predict(model, images[test]) >= 0.5).astype(int))
    fr = pd.DataFrame(
        [
            mass_fractions(m, {"body": body[i], "muscle": muscle[i]})
            for m, i in zip(maps, test, strict=True)
        ]
    )
    # the map's share on the body is at least twice the body's share of the image
    assert fr["cam_enrichment_body"].median() >= 2.0, fr.describe()
    # not inverted: the peak lies on the body more often than the body's area share
    assert fr["cam_peak_in_body"].mean() > 3 * fr["cam_area_body"].mean()
    # evidence for normal bone (class 0) lies on the body for every case, both true classes
    maps0, classes0 = grad_cam(model, images[test], CONFIG.cam_layer, class_idx=0)
    assert (classes0 == 0).all()
    enrich0 = [
        mass_fractions(m, {"body": body[i]})["cam_enrichment_body"]
        for m, i in zip(maps0, test, strict=True)
    ]
    assert np.nanmedian(enrich0) >= 2.0


def test_save_load_round_trip_gives_identical_predictions(cohort, trained, tmp_path):
    images, *_, prep = cohort
    model, history, _ = trained
    save_model(tmp_path, model, CONFIG, prep, {"training": history})
    loaded, config, prep2, meta = load_model(tmp_path)
    assert config == CONFIG and prep2 == prep
    assert np.array_equal(predict(model, images[:20]), predict(loaded, images[:20]))
    assert (tmp_path / "MODEL_CARD.md").read_text().startswith("# Model card")
    assert meta["training"]["best_epoch"] == history["best_epoch"]


def test_cli_prepare_train_apply_evaluate(tmp_path):
    from osteoimaging.cli.main import main
    from osteoimaging.imageio import read_image

    cohort, prep, model, out, rep = (tmp_path / n for n in ("c", "p", "m", "a", "r"))
    assert (
        main(
            [
                "screen",
                "synth",
                "--out",
                str(cohort),
                "--n",
                "30",
                "--scene-mm",
                "2",
                "--inplane-mm",
                "1.8,2.0",
                "--seed",
                "5",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "screen",
                "prepare",
                str(cohort / "manifest.csv"),
                "--out",
                str(prep),
                "--muscle-labels",
                str(MUSCLE_LABEL),
            ]
        )
        == 0
    )
    measures = pd.read_csv(prep / "measures.csv")
    assert len(measures) == 30 and measures["smi_cm2_m2"].notna().all()
    assert (
        main(
            [
                "screen",
                "train",
                str(prep),
                "--out",
                str(model),
                "--architecture",
                "small",
                "--epochs",
                "2",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    pred = pd.read_csv(model / "predictions.csv")
    assert set(pred["subset"]) == {"train", "validation", "test"}
    # The operating point travels with the model: Youden's J on the validation cases.
    from osteoimaging.screening.model import read_model_info
    from osteoimaging.stats.roc import youden_cutoff

    info = read_model_info(model)
    val = pred[pred["subset"] == "validation"]
    expected = youden_cutoff(val["osteoporosis"].to_numpy(), val["cnn_probability"].to_numpy())
    assert info["cutoff"] == pytest.approx(expected["threshold"])
    assert info["cutoff_source"] == "Youden's J on the validation cases"
    lines = (cohort / "manifest.csv").read_text().splitlines()
    (cohort / "few.csv").write_text("\n".join(lines[:4]) + "\n")
    assert main(["screen", "apply", str(model), str(cohort / "few.csv"), "--out", str(out)]) == 0
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 3 and results["cnn_probability"].between(0, 1).all()
    assert results["cam_mass_body"].between(0, 1).all()
    cam = read_image(out / "cases" / "synth_0000" / "gradcam.nrrd")
    ct = read_image(cohort / "cases" / "synth_0000" / "ct.nii.gz")
    assert cam.same_geometry(ct) and np.nanmax(cam.array) <= 1.0
    assert (out / "cases" / "synth_0000" / "gradcam.png").exists()
    # the batch job gives one row per level: CNN at T12, the attenuation rule at L1
    from osteoimaging.cohort.manifest import read_manifest
    from osteoimaging.screening import screen_job

    case = read_manifest(cohort / "few.csv")[0].to_dict()
    rows = screen_job(case, tmp_path / "job", {"model": str(model)})
    assert len(rows) == 2 and rows[0]["cnn_probability"] == pytest.approx(
        results["cnn_probability"][0], abs=1e-6
    )
    assert {"below_110_hu", "below_135_hu"} <= set(rows[1]) and "cnn_probability" not in rows[1]
    assert (tmp_path / "job" / "T12" / "gradcam.nrrd").exists()
    assert (
        main(
            [
                "screen",
                "evaluate",
                str(model / "predictions.csv"),
                "--measures",
                str(prep / "measures.csv"),
                "--subset",
                "all",
                "--out",
                str(rep),
            ]
        )
        == 0
    )
    html = (rep / "report.html").read_text()
    assert "Paired DeLong" in html and "Hosmer" in html
    metrics = pd.read_csv(rep / "tables" / "metrics.csv")
    assert {"CNN", "SMI", "L1 HU"} <= set(metrics["method"])
    assert len(pd.read_csv(rep / "tables" / "delong.csv")) == 3
