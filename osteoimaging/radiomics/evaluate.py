"""Evaluate radscores on one labelled set: ROC/AUC (DeLong CI), Youden cut-off, metrics at a
fixed cut-off, paired DeLong tests between models, calibration (Hosmer–Lemeshow) and decision
curves. The statistics live in :mod:`osteoimaging.stats` (cited there).

Hosmer–Lemeshow uses 10 risk groups when a set has ≥ 50 cases and ``n // 5`` (at least 3)
otherwise, so that groups keep about five cases or more.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from osteoimaging.errors import InputError
from osteoimaging.stats.hosmer_lemeshow import hosmer_lemeshow
from osteoimaging.stats.net_benefit import decision_curve
from osteoimaging.stats.roc import (
    auc_delong,
    confusion_at,
    delong_test,
    roc_curve,
    youden_cutoff,
)

ID = "case_id"


def hl_groups(n: int) -> int:
    """Number of Hosmer–Lemeshow groups for a set of n cases (see the module docstring)."""
    return 10 if n >= 50 else max(3, n // 5)


def evaluate_scores(
    y,
    scores: dict[str, np.ndarray],
    probabilities: dict[str, np.ndarray | None] | None = None,
    cutoffs: dict[str, float] | None = None,
) -> dict:
    """All metrics of one or more scores (higher = abnormal) on the same cases ``y`` (0/1)."""
    y = np.asarray(y).astype(int)
    if not scores:
        raise InputError("no score to evaluate")
    probabilities = probabilities or {}
    cutoffs = cutoffs or {}
    models = {}
    for name, score in scores.items():
        score = np.asarray(score, dtype=float)
        fpr, tpr, _ = roc_curve(y, score)
        result = {
            **auc_delong(y, score),
            "youden": youden_cutoff(y, score),
            "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()},
        }
        if name in cutoffs and cutoffs[name] is not None:
            result["at_cutoff"] = confusion_at(y, score, cutoffs[name])
        prob = probabilities.get(name)
        if prob is not None and np.all(np.isfinite(prob)):
            prob = np.asarray(prob, dtype=float)
            try:
                hl = hosmer_lemeshow(y, prob, hl_groups(len(y)))
                result["hosmer_lemeshow"] = {
                    k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in hl.items()
                }
            except InputError as exc:
                result["hosmer_lemeshow"] = {"error": str(exc)}
            dc = decision_curve(y, prob)
            result["decision_curve"] = {k: v.tolist() for k, v in dc.items()}
        models[name] = result
    comparisons = [
        {"a": a, "b": b, **delong_test(y, scores[a], scores[b])}
        for a, b in itertools.combinations(scores, 2)
    ]
    return {
        "n": len(y),
        "n_abnormal": int(y.sum()),
        "models": models,
        "comparisons": comparisons,
    }


def score_columns(table: pd.DataFrame) -> list[str]:
    """Score columns of an ``apply`` output: ``radscore`` and any ``radscore_<name>``."""
    return [c for c in table.columns if c == "radscore" or c.startswith("radscore_")]


def evaluate_table(
    scores: pd.DataFrame, labels: pd.DataFrame, cutoffs: dict[str, float] | None = None
) -> dict:
    """Evaluate every score column of ``scores`` against ``labels`` (joined on case_id)."""
    merged = join_labels(scores, labels)
    columns = score_columns(merged)
    if not columns:
        raise InputError("scores table has no 'radscore' column")
    probs = {
        c: merged[c.replace("radscore", "probability", 1)].to_numpy(dtype=float)
        if c.replace("radscore", "probability", 1) in merged
        else None
        for c in columns
    }
    return evaluate_scores(
        merged["label"].to_numpy(),
        {c: merged[c].to_numpy(dtype=float) for c in columns},
        probs,
        cutoffs,
    )


def join_labels(table: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Inner join on ``case_id``; InputError listing cases that have no label (or no row)."""
    for name, t in (("features/scores", table), ("labels", labels)):
        if ID not in t.columns:
            raise InputError(f"{name} table has no '{ID}' column")
    if "label" not in labels.columns:
        raise InputError("labels table has no 'label' column (or DXA columns to derive it)")
    if labels[ID].duplicated().any():
        raise InputError("labels table lists a case_id more than once")
    left = table.assign(**{ID: table[ID].astype(str)})
    right = labels[[ID, "label"]].assign(**{ID: labels[ID].astype(str)})
    unlabelled = sorted(set(left[ID]) - set(right[ID]))
    if unlabelled:
        raise InputError(
            f"{len(unlabelled)} case(s) have no label: {', '.join(unlabelled[:5])}"
            + (" …" if len(unlabelled) > 5 else "")
        )
    if "label" in left.columns:
        left = left.drop(columns="label")
    return left.merge(right, on=ID, how="inner", validate="many_to_one")
