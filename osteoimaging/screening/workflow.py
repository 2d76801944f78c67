"""Cohort-level steps behind ``osteo screen prepare | train | apply``.

``prepare``: manifest → ``inputs.npy`` (model inputs, float16), ``planes.npz`` (body and
muscle masks on the input grid), ``measures.csv`` (one row per case: outcome and
covariates, SMI, L1 HU), ``screen.json`` (the parameters), ``errors.csv`` (failed cases,
never dropped silently). ``train``: stratified test split, then a stratified validation
split of the rest (:func:`osteoimaging.stats.splits.stratified_split`), training with early
stopping, ``predictions.csv`` (every case, with its ``subset``; Grad-CAM fractions on the
input grid for the test cases) and the saved model. ``apply``: a saved model on a
manifest → ``results.csv`` and per-case Grad-CAM maps on the CT grid.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from osteoimaging.atomic import atomic_path, write_json, write_text
from osteoimaging.cohort.manifest import read_manifest
from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, report, sub_progress
from osteoimaging.screening.pipeline import ScreenParams, apply_to_case, screen_case
from osteoimaging.stats.roc import auc_delong, youden_cutoff
from osteoimaging.stats.splits import stratified_split


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path, suffix=".npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)


def _case_row(case: dict, summary: dict) -> dict:
    row = {"case_id": case["case_id"]}
    row.update(case.get("covariates", {}))
    row.update(summary)
    return row


def prepare_cohort(
    manifest, out_dir, params: ScreenParams | None = None, progress: ProgressCallback | None = None
) -> pd.DataFrame:
    """Prepare every case of a batch manifest (see the module docstring)."""
    params = params or ScreenParams()
    cases = read_manifest(manifest)
    out = Path(out_dir)
    images, bodies, muscles, rows, errors = [], [], [], [], []
    for n, case in enumerate(cases):
        d = case.to_dict()
        try:
            res = screen_case(d, params)
        except InputError as exc:
            logger.warning("%s: %s", case.case_id, exc)
            errors.append({"case_id": case.case_id, "error": str(exc)})
            continue
        images.append(res.prepared.image.astype(np.float16))
        bodies.append(res.prepared.body)
        muscles.append(res.prepared.muscle)
        rows.append(_case_row(d, res.summary))
        report(progress, (n + 1) / len(cases), f"prepared {n + 1}/{len(cases)}")
    if not rows:
        raise InputError("no case could be prepared (see errors.csv)", out)
    _save_npy(out / "inputs.npy", np.stack(images))
    with atomic_path(out / "planes.npz", suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, body=np.stack(bodies), muscle=np.stack(muscles))
    table = pd.DataFrame(rows)
    write_text(out / "measures.csv", table.to_csv(index=False))
    write_text(
        out / "errors.csv", pd.DataFrame(errors, columns=["case_id", "error"]).to_csv(index=False)
    )
    write_json(out / "screen.json", params.to_dict())
    return table


def load_prepared(folder) -> tuple[np.ndarray, dict, pd.DataFrame, ScreenParams]:
    folder = Path(folder)
    try:
        images = np.load(folder / "inputs.npy").astype(np.float32)
        planes = dict(np.load(folder / "planes.npz"))
        table = pd.read_csv(folder / "measures.csv")
        params = ScreenParams.from_dict(json.loads((folder / "screen.json").read_text("utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"not a prepared screening folder ({exc})", folder) from exc
    return images, planes, table, params


def split_cases(y, test_fraction: float, val_fraction: float, seed: int) -> np.ndarray:
    """'train' / 'validation' / 'test' per case, stratified by outcome, reproducible."""
    y = np.asarray(y, int)
    rest, test = stratified_split(y, test_fraction, seed)
    tr, va = stratified_split(y[rest], val_fraction / (1 - test_fraction), seed + 1)
    subset = np.empty(len(y), dtype=object)
    subset[test], subset[rest[tr]], subset[rest[va]] = "test", "train", "validation"
    return subset


def train_cohort(
    prepared_dir,
    out_dir,
    config,
    outcome: str = "osteoporosis",
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    progress: ProgressCallback | None = None,
) -> dict:
    """Split, train, predict, Grad-CAM on the test cases, save the model (module docstring)."""
    from osteoimaging.screening.figures import training_png
    from osteoimaging.screening.gradcam import grad_cam, mass_fractions
    from osteoimaging.screening.model import cam_class_index, predict, save_model, train_model

    images, planes, table, params = load_prepared(prepared_dir)
    if outcome not in table:
        raise InputError(f"measures.csv has no outcome column '{outcome}'", prepared_dir)
    y = table[outcome].astype(int).to_numpy()
    subset = split_cases(y, test_fraction, val_fraction, config.seed)
    idx = {s: np.flatnonzero(subset == s) for s in ("train", "validation", "test")}
    t0 = time.perf_counter()
    model, history = train_model(
        images,
        y,
        idx["train"],
        idx["validation"],
        config,
        params.prep.windows,
        sub_progress(progress, 0, 0.9),
    )
    prob = predict(model, images)
    t_cam = time.perf_counter()
    maps, _classes = grad_cam(model, images[idx["test"]], config.cam_layer, cam_class_index(config))
    cam_seconds = (time.perf_counter() - t_cam) / max(len(idx["test"]), 1)
    pred = table[["case_id", outcome]].copy()
    pred["subset"] = subset
    pred["cnn_probability"] = prob
    cam_rows = [
        mass_fractions(m, {"body": planes["body"][i], "muscle": planes["muscle"][i]})
        for m, i in zip(maps, idx["test"], strict=True)
    ]
    cams = pd.DataFrame(cam_rows, index=idx["test"])
    pred = pred.join(cams)
    out = Path(out_dir)
    write_text(out / "predictions.csv", pred.to_csv(index=False))
    test_auc = auc_delong(y[idx["test"]], prob[idx["test"]])
    # The operating point travels with the model: Youden's J on the validation cases (the
    # test cases stay untouched for the reported AUC).
    val = idx["validation"]
    cutoff = youden_cutoff(y[val], prob[val]) if len(set(y[val].tolist())) == 2 else None
    counts = {s: {"n": len(i), "positives": int(y[i].sum())} for s, i in idx.items()}
    info = {
        "data": {
            "description": f"prepared cases from {Path(prepared_dir).resolve().name}",
            "counts": counts,
            "outcome": outcome,
        },
        "training": {k: v for k, v in history.items()},
        "test": {**test_auc, "gradcam_seconds_per_image": cam_seconds},
        "screen": params.to_dict(),
        "total_seconds": time.perf_counter() - t0,
    }
    if cutoff is not None:
        info["cutoff"] = {
            "probability": cutoff["threshold"],
            "method": "Youden's J on the validation cases",
            "sensitivity": cutoff["sensitivity"],
            "specificity": cutoff["specificity"],
        }
    save_model(out, model, config, params.prep, info)
    training_png(history["epochs"], out / "training.png")
    report(progress, 1.0, "saved")
    return {
        "model_dir": out,
        "test_auc": test_auc,
        "history": history,
        "predictions": pred,
        "maps": maps,
        "test_index": idx["test"],
        "model": model,
    }


def apply_cohort(
    model_dir,
    manifest,
    out_dir,
    params: ScreenParams | None = None,
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Apply a saved model (and the baselines) to every case of a manifest."""
    from osteoimaging.screening.model import load_model

    model, config, prep, _ = load_model(model_dir)
    params = params or ScreenParams()
    params.prep = prep
    cases = read_manifest(manifest)
    out = Path(out_dir)
    rows, errors = [], []
    for n, case in enumerate(cases):
        d = case.to_dict()
        try:
            res = screen_case(d, params)
            values = apply_to_case(res, model, config, out / "cases" / case.case_id)
        except InputError as exc:
            logger.warning("%s: %s", case.case_id, exc)
            errors.append({"case_id": case.case_id, "error": str(exc)})
            continue
        rows.append({**_case_row(d, res.summary), **values})
        report(progress, (n + 1) / len(cases), f"applied {n + 1}/{len(cases)}")
    table = pd.DataFrame(rows)
    write_text(out / "results.csv", table.to_csv(index=False))
    write_text(
        out / "errors.csv", pd.DataFrame(errors, columns=["case_id", "error"]).to_csv(index=False)
    )
    return table
