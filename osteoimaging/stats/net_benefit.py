"""Decision-curve analysis: net benefit of a risk model, treat-all and treat-none.

Vickers AJ, Elkin EB. Decision curve analysis: a novel method for evaluating prediction models.
Medical Decision Making 2006;26(6):565–574. At threshold probability p_t a case is "treated"
(called positive) when its predicted risk is ≥ p_t, and

    net benefit = TP/n − FP/n · p_t / (1 − p_t);

treat-all: prevalence − (1 − prevalence) · p_t / (1 − p_t); treat-none: 0.
"""

from __future__ import annotations

import numpy as np

from osteoimaging.errors import InputError


def _check(y, prob, thresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    p = np.asarray(prob, dtype=float)
    t = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if y.shape != p.shape or y.ndim != 1:
        raise InputError(f"labels {y.shape} and probabilities {p.shape} must be 1-D, same length")
    if not set(np.unique(y).tolist()) <= {0.0, 1.0}:
        raise InputError("labels must be 0/1")
    if np.any((t <= 0) | (t >= 1)):
        raise InputError("threshold probabilities must lie strictly between 0 and 1")
    return y, p, t


def net_benefit(y, prob, thresholds) -> np.ndarray:
    """Net benefit of the rule ``prob >= p_t`` at each threshold ``p_t`` (Vickers & Elkin 2006)."""
    y, p, t = _check(y, prob, thresholds)
    n = len(y)
    positive = p[None, :] >= t[:, None]
    tp = (positive & (y[None, :] == 1)).sum(axis=1)
    fp = (positive & (y[None, :] == 0)).sum(axis=1)
    return tp / n - fp / n * t / (1.0 - t)


def net_benefit_treat_all(y, thresholds) -> np.ndarray:
    """Net benefit of treating everyone: prevalence − (1 − prevalence) · p_t / (1 − p_t)."""
    y, _, t = _check(y, np.zeros(len(np.asarray(y))), thresholds)
    prevalence = y.mean()
    return prevalence - (1.0 - prevalence) * t / (1.0 - t)


def decision_curve(y, prob, thresholds=None) -> dict[str, np.ndarray]:
    """Thresholds (default 0.01…0.99) with the model's, treat-all and treat-none net benefit."""
    if thresholds is None:
        thresholds = np.round(np.arange(0.01, 1.0, 0.01), 2)
    t = np.asarray(thresholds, dtype=float)
    return {
        "threshold": t,
        "model": net_benefit(y, prob, t),
        "treat_all": net_benefit_treat_all(y, t),
        "treat_none": np.zeros_like(t),
    }
