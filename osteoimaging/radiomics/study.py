"""The reference study's workflow on feature and label tables: ICC filter, stratified 7:3 split,
LASSO radscore on T1 + T2 (and T1-only and T2-only models for the DeLong comparison),
evaluation on training, validation and an optional external set, and the HTML report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, report
from osteoimaging.radiomics.evaluate import evaluate_scores, join_labels
from osteoimaging.radiomics.extract import feature_columns
from osteoimaging.radiomics.model import RadscoreModel, apply_model, train_model
from osteoimaging.radiomics.report import write_report
from osteoimaging.radiomics.reproducibility import feature_icc
from osteoimaging.stats.splits import stratified_split


def _sequence_features(columns: list[str], sequences: list[str]) -> list[str]:
    return [c for c in columns if c.split("_", 1)[0] in sequences]


def run_study(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    sequences: tuple[str, ...] = ("T1", "T2"),
    test_fraction: float | None = 0.3,
    seed: int = 0,
    cv_folds: int = 5,
    rater_b: pd.DataFrame | None = None,
    icc_threshold: float = 0.75,
    drop_constant: bool = False,
    compare_sequences: bool = True,
    external: pd.DataFrame | None = None,
    report_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[RadscoreModel, dict]:
    """Train the radscore the way the study did; return the model and the evaluations.

    ``features`` holds one row per patient (``case_id`` + ``T1_…``/``T2_…`` columns); ``labels``
    ``case_id`` + ``label``. ``test_fraction=None`` trains on all cases (no validation set).
    """
    data = join_labels(features, labels)
    candidates = _sequence_features(feature_columns(data), list(sequences))
    if not candidates:
        raise InputError(f"no {'/'.join(sequences)} feature columns in the features table")
    info: dict = {"n_candidate_features": len(candidates)}
    if rater_b is not None:
        icc_table = feature_icc(features, rater_b, threshold=icc_threshold)
        kept = set(icc_table.loc[icc_table["kept"], "feature"])
        candidates = [c for c in candidates if c in kept]
        info["icc"] = icc_table.to_dict(orient="list")
        logger.info("ICC(2,1) > %g kept %d features", icc_threshold, len(candidates))
        if not candidates:
            raise InputError(f"no feature has inter-rater ICC > {icc_threshold}")
    y = data["label"].to_numpy().astype(int)
    if len(set(y)) < 2:
        raise InputError(f"labels have a single class ({y[0]}) for all {len(y)} cases")
    if test_fraction:
        train_idx, test_idx = stratified_split(y, test_fraction, seed)
    else:
        train_idx, test_idx = range(len(y)), []
    train, test = data.iloc[list(train_idx)], data.iloc[list(test_idx)]
    variants = {"+".join(sequences): candidates}
    if compare_sequences and len(sequences) > 1:
        for s in sequences:
            subset = _sequence_features(candidates, [s])
            if subset:
                variants[s] = subset
    models: dict[str, RadscoreModel] = {}
    for i, (name, columns) in enumerate(variants.items()):
        report(progress, i / (len(variants) + 1), f"training {name}")
        models[name] = train_model(
            train,
            train["label"].to_numpy(),
            columns,
            cv_folds=cv_folds,
            seed=seed,
            drop_constant=drop_constant,
            name=name,
        )
    main = models["+".join(sequences)]
    main.training.update({"split_seed": seed, "test_fraction": test_fraction, **info})
    sets = {"training": train, "validation": test}
    if external is not None:
        sets["external"] = join_labels(external, labels)
    sections = {}
    for set_name, table in sets.items():
        if len(table) == 0:
            continue
        # The study's own sets: scored as they are (an outlier is part of the performance).
        applied = {n: apply_model(m, table, max_abs_z=None) for n, m in models.items()}
        scores = {n: a["radscore"].to_numpy() for n, a in applied.items()}
        probs = {n: a["probability"].to_numpy() for n, a in applied.items()}
        cutoffs = {n: m.cutoff for n, m in models.items()}
        sections[set_name] = evaluate_scores(table["label"].to_numpy(), scores, probs, cutoffs)
    if report_dir is not None:
        write_report(report_dir, sections, model=main.to_dict())
    report(progress, 1.0, "done")
    return main, {"sections": sections, "models": {n: m.to_dict() for n, m in models.items()}}


def evaluate(
    scores: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    cutoff: float | None = None,
    report_dir: str | Path | None = None,
    warning: str = "",
) -> dict:
    """Evaluate every ``radscore*`` column of an ``apply`` output; optionally write a report."""
    from osteoimaging.radiomics.evaluate import evaluate_table, score_columns

    cutoffs = None if cutoff is None else {c: cutoff for c in score_columns(scores)}
    result = evaluate_table(scores, labels, cutoffs)
    if report_dir is not None:
        write_report(report_dir, {"evaluation": result}, warning=warning)
    return result
