"""Radscore model: train-only z-score, LASSO logistic regression with cross-validated strength.

radscore = intercept + Σ βᵢ · (xᵢ − meanᵢ) / SDᵢ, the linear predictor of an L1-penalised
(LASSO; Tibshirani R., J R Stat Soc B 1996;58:267–288) logistic regression, as in the reference
study. Means and SDs (sample SD, ddof = 1) come from the training set only. The penalty strength
C (= 1/λ) is chosen from a log grid by stratified k-fold cross-validation on the training set,
maximising the mean held-out log-likelihood (the "lambda.min" rule of glmnet's binomial
deviance). The folds reuse the training set's z-scoring (as glmnet standardises once on the
whole training set). Probability = 1 / (1 + exp(−radscore)); the cut-off is the Youden-optimal
radscore on the training set.

The model is a JSON file (features, means, SDs, coefficients, intercept, cut-off, link, training
details and software versions) that :func:`apply_model` applies to new patients.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from osteoimaging.atomic import write_json
from osteoimaging.errors import InputError
from osteoimaging.jsondoc import read_json_document
from osteoimaging.log import logger
from osteoimaging.stats.roc import youden_cutoff

FORMAT = "osteoimaging-radscore-model"
FORMAT_VERSION = 1
DEFAULT_CS = tuple(float(c) for c in np.logspace(-2, 2, 25))


@dataclass
class RadscoreModel:
    """A linear radscore on z-scored features (see the module docstring)."""

    features: list[str]
    means: list[float]
    sds: list[float]
    coefficients: list[float]
    intercept: float
    cutoff: float
    link: str = "logit"  # "logit": probability = expit(radscore); "none": no probability
    name: str = "radscore"
    training: dict = field(default_factory=dict)
    software: dict = field(default_factory=dict)
    warning: str = ""
    notes: dict = field(default_factory=dict)

    def radscore(self, table: pd.DataFrame) -> np.ndarray:
        """Radscore of each row of ``table`` (must hold every model feature, finite)."""
        x = _matrix(table, self.features, "feature table")
        z = (x - np.asarray(self.means)) / np.asarray(self.sds)
        return self.intercept + z @ np.asarray(self.coefficients, dtype=float)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}


def software_versions() -> dict[str, str]:
    """Versions of the software that produced a model (stored in its JSON)."""
    import radiomics
    import scipy
    import sklearn

    from osteoimaging._version import __version__

    return {
        "osteoimaging": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "pyradiomics": str(radiomics.__version__),
    }


def _matrix(table: pd.DataFrame, columns: list[str], what: str) -> np.ndarray:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{what} lacks {len(missing)} model feature(s): {', '.join(missing[:5])}"
            + (" …" if len(missing) > 5 else "")
        )
    try:
        x = table[columns].to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what}: non-numeric feature values ({exc})") from exc
    bad = [c for c, ok in zip(columns, np.isfinite(x).all(axis=0), strict=True) if not ok]
    if bad:
        raise InputError(f"{what}: missing or non-finite values in {', '.join(bad[:5])}")
    return x


def _labels(y, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise InputError(f"{y.shape[0] if y.ndim else 0} labels for {n} cases")
    if not set(np.unique(y).tolist()) <= {0, 1}:
        raise InputError("labels must be 0 (normal) or 1 (abnormal)")
    y = y.astype(int)
    counts = np.bincount(y, minlength=2)
    if counts.min() == 0:
        raise InputError(
            f"labels have a single class ({int(np.argmax(counts))} for all {n} cases); "
            "training needs both normal and abnormal cases"
        )
    return y


def zscore_parameters(
    x: np.ndarray, names: list[str], drop_constant: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training means, sample SDs (ddof = 1) and a mask of the features kept.

    A constant feature (SD 0) cannot be z-scored: InputError naming it, or dropped with a
    warning when ``drop_constant``.
    """
    means = x.mean(axis=0)
    sds = x.std(axis=0, ddof=1)
    constant = ~(sds > 1e-12 * np.maximum(1.0, np.abs(means)))
    if constant.any():
        names_c = [n for n, c in zip(names, constant, strict=True) if c]
        if not drop_constant:
            raise InputError(
                f"constant feature(s) in the training set cannot be z-scored: "
                f"{', '.join(names_c[:5])}{' …' if len(names_c) > 5 else ''} "
                "(remove them, or use --drop-constant)"
            )
        logger.warning("dropping %d constant feature(s): %s", len(names_c), ", ".join(names_c))
    return means, sds, ~constant


def _cv_choose_c(z: np.ndarray, y: np.ndarray, cs, folds: int, seed: int) -> tuple[float, list]:
    """C maximising the mean held-out log-likelihood over stratified folds."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = []
    for c in cs:
        fold_scores = []
        for train, test in splitter.split(z, y):
            fit = _lasso(c, seed).fit(z[train], y[train])
            p = np.clip(fit.predict_proba(z[test])[:, 1], 1e-12, 1 - 1e-12)
            fold_scores.append(np.mean(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)))
        scores.append(float(np.mean(fold_scores)))
    best = int(np.argmax(scores))
    return float(cs[best]), scores


def _lasso(c: float, seed: int):
    import sklearn
    from sklearn.linear_model import LogisticRegression

    # l1_ratio = 1 is the L1 (LASSO) penalty; `penalty=` is deprecated in scikit-learn ≥ 1.8.
    # Older releases (the only ones for Python 3.10) need penalty="elasticnet" for l1_ratio to
    # apply; with l1_ratio = 1 that is the same L1 objective.
    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    legacy = {"penalty": "elasticnet"} if (major, minor) < (1, 8) else {}
    return LogisticRegression(
        C=c, l1_ratio=1.0, solver="saga", max_iter=10000, tol=1e-4, random_state=seed, **legacy
    )


def train_model(
    features: pd.DataFrame,
    labels,
    feature_names: list[str] | None = None,
    *,
    cv_folds: int = 5,
    seed: int = 0,
    cs=DEFAULT_CS,
    drop_constant: bool = False,
    name: str = "radscore",
) -> RadscoreModel:
    """Fit the z-score + LASSO logistic radscore on a training table (rows = patients)."""
    names = list(feature_names) if feature_names is not None else _feature_columns(features)
    if not names:
        raise InputError("no feature columns (T1_…/T2_…) to train on")
    x = _matrix(features, names, "training features")
    y = _labels(labels, len(x))
    if np.bincount(y).min() < cv_folds:
        raise InputError(
            f"the smaller class has {np.bincount(y).min()} cases; {cv_folds}-fold "
            "cross-validation needs at least one per fold"
        )
    means, sds, keep = zscore_parameters(x, names, drop_constant)
    names = [n for n, k in zip(names, keep, strict=True) if k]
    means, sds, x = means[keep], sds[keep], x[:, keep]
    z = (x - means) / sds
    best_c, cv_scores = _cv_choose_c(z, y, list(cs), cv_folds, seed)
    fit = _lasso(best_c, seed).fit(z, y)
    coef = fit.coef_.ravel()
    selected = np.flatnonzero(coef != 0.0)
    if selected.size == 0:
        logger.warning("LASSO kept no feature at the cross-validated C; radscore is constant")
    model = RadscoreModel(
        features=[names[i] for i in selected],
        means=[float(means[i]) for i in selected],
        sds=[float(sds[i]) for i in selected],
        coefficients=[float(coef[i]) for i in selected],
        intercept=float(fit.intercept_[0]),
        cutoff=0.0,
        name=name,
        training={
            "n_cases": len(y),
            "n_abnormal": int(y.sum()),
            "n_candidate_features": len(names),
            "cv_folds": cv_folds,
            "seed": seed,
            "C": best_c,
            "C_grid": [float(c) for c in cs],
            "cv_mean_log_likelihood": cv_scores,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        software=software_versions(),
    )
    score = model.radscore(features)
    model.cutoff = youden_cutoff(y, score)["threshold"] if np.ptp(score) > 0 else float(score[0])
    return model


def _feature_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if str(c).startswith(("T1_", "T2_"))]


#: Range check of :func:`apply_model`: a feature more than this many training SDs from the
#: training mean is outside the model's range. By Chebyshev's inequality at most 1/5² = 4% of
#: any distribution lies that far out (for a normal one 6·10⁻⁷), so the training set itself has
#: almost no such values: the radscore there is an extrapolation of a linear predictor that was
#: never fitted nor validated, and a unit or preset mismatch (raw values given to a model that
#: expects z-scores) shows as |z| in the hundreds or thousands.
MAX_ABS_Z = 5.0


def out_of_range(
    model: RadscoreModel, features: pd.DataFrame, max_abs_z: float = MAX_ABS_Z
) -> list[dict]:
    """Each (row, feature) whose z = (value − mean)/SD lies beyond ± ``max_abs_z``.

    Rows are numbered from 1 in table order (case ids are not repeated in messages).
    """
    x = _matrix(features, model.features, "feature table")
    z = (x - np.asarray(model.means)) / np.asarray(model.sds)
    rows, cols = np.nonzero(np.abs(z) > max_abs_z)
    return [
        {
            "row": int(r) + 1,
            "feature": model.features[c],
            "value": float(x[r, c]),
            "z": float(z[r, c]),
        }
        for r, c in zip(rows, cols, strict=True)
    ]


def check_in_range(
    model: RadscoreModel, features: pd.DataFrame, max_abs_z: float = MAX_ABS_Z
) -> None:
    """InputError, saying why, when any feature value is outside the model's range."""
    bad = out_of_range(model, features, max_abs_z)
    if not bad:
        return
    shown = "; ".join(
        f"row {b['row']} {b['feature']} = {b['value']:.6g} (z = {b['z']:.3g})" for b in bad[:3]
    )
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    if model.name == PUBLISHED_NAME:
        why = (
            "the published radscore's coefficients apply to features z-scored with the study's "
            "training means and SDs, which the paper does not publish, so these features are "
            "not on its scale and its score and cut-off would be meaningless; z-score the "
            "features with your own cohort's means and SDs first, or train a model on your "
            "data (osteo radiomics train)"
        )
    else:
        why = (
            "the model was trained on values within a few SDs of its training means; check "
            "that the features come from the same preset, sequences and intensity scale, or "
            "accept extrapolation explicitly (a larger --max-abs-z)"
        )
    raise InputError(
        f"{len(bad)} feature value(s) outside the model's range |z| ≤ {max_abs_z:g} "
        f"(z = (value − training mean)/training SD): {shown}{more}. Refused because {why}"
    )


def apply_model(
    model: RadscoreModel, features: pd.DataFrame, max_abs_z: float | None = MAX_ABS_Z
) -> pd.DataFrame:
    """Radscore, probability (logit link only) and predicted class (radscore ≥ cut-off).

    Refuses (InputError) features outside the model's range, |z| > ``max_abs_z`` (see
    :data:`MAX_ABS_Z`); ``None`` skips the check (the study's own training and validation
    sets, whose scores define the model's published performance).
    """
    if max_abs_z is not None:
        check_in_range(model, features, max_abs_z)
    score = model.radscore(features)
    out = features[[c for c in ("case_id", "level") if c in features.columns]].copy()
    out["radscore"] = score
    out["probability"] = 1.0 / (1.0 + np.exp(-score)) if model.link == "logit" else np.nan
    out["predicted"] = (score >= model.cutoff).astype(int)
    return out.reset_index(drop=True)


def save_model(model: RadscoreModel, path: str | Path) -> Path:
    """Write the model JSON atomically."""
    return write_json(path, model.to_dict())


def load_model(path: str | Path) -> RadscoreModel:
    """Read a model JSON written by :func:`save_model` (InputError if it is not one)."""
    path = Path(path)
    data = read_json_document(path, FORMAT, "radscore model")
    fields = set(RadscoreModel.__dataclass_fields__)
    try:
        model = RadscoreModel(**{k: v for k, v in data.items() if k in fields})
    except TypeError as exc:
        raise InputError(f"incomplete model ({exc})", path) from exc
    lengths = {len(model.features), len(model.means), len(model.sds), len(model.coefficients)}
    if len(lengths) != 1:
        raise InputError("features, means, SDs and coefficients differ in length", path)
    if model.warning:
        logger.warning("%s", model.warning)
    return model


#: The MRI radiomics study whose radscore ships here (our copy: the project's shared papers,
#: mri-radiomics-lumbar-t1-t2.txt; its journal and authors are not part of that copy, so it is
#: cited by title and design as its abstract gives them).
PUBLISHED_REFERENCE = (
    "Multiparametric lumbar MRI radiomics (sagittal T1WI, T2WI and T1WI+T2WI) for screening "
    "patients with abnormal bone mass (osteoporosis or low bone mass) against DXA: retrospective "
    "study of 160 patients (86 abnormal, 74 normal bone mass), L1–L4 delineated on three "
    "mid-sagittal layers, ICC > 0.75 filter, z-score, LASSO radscore, ROC/DeLong and decision "
    "curves, external validation on 35 patients from another institution. Radscore formula in "
    "its Results (coefficients of Fig. 2); combined-model AUC 0.839 training, 0.860 validation, "
    "0.824 external."
)
PUBLISHED_NAME = "published-reference-study"
# The reference study's published radscore (abbreviations as in the paper → pyradiomics names).
PUBLISHED_TERMS = (
    ("T1-OSS", "T1_original_shape_SurfaceVolumeRatio", 0.035),
    ("T1-BGC", "T1_boxsigmaimage_glcm_Correlation", 0.013),
    ("T2-OSS", "T2_original_shape_SurfaceVolumeRatio", 0.009),
    ("T2-OGS", "T2_original_glszm_SmallAreaEmphasis", 0.004),
    ("T1-V", "T1_original_shape_MeshVolume", -0.002),
    ("T1-OSV", "T1_original_shape_VoxelVolume", -0.003),
    ("T2-WGW", "T2_wavelet-LLH_glszm_LargeAreaHighGrayLevelEmphasis", -0.015),
    ("T1-AGL", "T1_additivegaussiannoise_glszm_LowGrayLevelZoneEmphasis", -0.019),
    ("T2-LFL", "T2_log-sigma-4-0-mm-3D_firstorder_Median", -0.027),
)
PUBLISHED_WARNING = (
    "The published radscore's coefficients apply to features scaled in a way the paper does not "
    "publish (it says only that features were z-scored, without the cohort means and SDs). This "
    "preset applies them to the features exactly as given (mean 0, SD 1) and refuses features "
    "that are not z-scores (|value| > 5): standardise your features the same way the study "
    "did, or its scores and cut-offs are meaningless. Prefer a model trained on your own data."
)


def published_model() -> RadscoreModel:
    """The reference study's published radscore as a model (identity scaling; see warning).

    Source: :data:`PUBLISHED_REFERENCE` (kept in ``notes["reference"]`` of the model).
    """
    return RadscoreModel(
        features=[f for _, f, _ in PUBLISHED_TERMS],
        means=[0.0] * len(PUBLISHED_TERMS),
        sds=[1.0] * len(PUBLISHED_TERMS),
        coefficients=[c for _, _, c in PUBLISHED_TERMS],
        intercept=0.538,
        cutoff=0.525,
        link="none",
        name=PUBLISHED_NAME,
        software=software_versions(),
        warning=PUBLISHED_WARNING,
        notes={
            "reference": PUBLISHED_REFERENCE,
            "abbreviations": {a: f for a, f, _ in PUBLISHED_TERMS},
            "published_cutoffs": {"training": 0.525, "validation": 0.542, "external": 0.529},
            "published_auc_T1_T2": {"training": 0.839, "validation": 0.860, "external": 0.824},
        },
    )
