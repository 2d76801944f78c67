"""Association of biomarkers with an outcome (e.g. prevalent vertebral fracture).

- Logistic regression (statsmodels ``Logit``, maximum likelihood): odds ratio per 1 SD
  of the biomarker (the biomarker is z-scored in the analysed sample with the sample SD),
  Wald 95% CI exp(β ± 1.96·SE) and Wald p. Li et al., JOR Spine 2022;5:e1195 report ORs
  "per SD" for focal BMC loss with and without adjustment for age, sex and BMD.
- Base model: the biomarker alone. Full model: + age, sex and BMD (BMD is left out when
  it is the biomarker itself; sex is left out within a sex subgroup).
- Conditional logistic regression (statsmodels ``ConditionalLogit``) for matched
  case–control sets: the likelihood conditions on each set's number of cases, so
  matched factors drop out (Breslow NE, Day NE. Statistical Methods in Cancer Research
  I, IARC 1980, ch. 7). Sets without both outcomes carry no information.
- ROC per biomarker with the shared DeLong implementation (:mod:`osteoimaging.stats.roc`;
  DeLong ER, DeLong DM, Clarke-Pearson DL. Biometrics 1988;44:837–845).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from osteoimaging.errors import InputError
from osteoimaging.stats.table import require_columns

Z95 = 1.959963984540054


def outcome_vector(df: pd.DataFrame, outcome: str, positive: str | None = None) -> pd.Series:
    """The outcome as 0/1 (NaN where missing): ``outcome == positive``, or a 0/1 column."""
    require_columns(df, [outcome])
    col = df[outcome]
    if positive is not None:
        y = (col.astype(str) == str(positive)).astype(float)
        y[col.isna()] = np.nan
        return y
    y = pd.to_numeric(col, errors="coerce")
    if (y.isna() & col.notna()).any() or not set(y.dropna().unique()) <= {0.0, 1.0}:
        raise InputError(
            f"outcome {outcome} is not coded 0/1; name the positive value "
            f"(values: {', '.join(map(str, col.dropna().unique()[:6]))})"
        )
    return y


def _design(
    df: pd.DataFrame, y: pd.Series, predictor: str, covariates: Sequence[str]
) -> tuple[np.ndarray, pd.DataFrame, float]:
    """Complete cases → (y, design with the z-scored predictor first, predictor SD)."""
    require_columns(df, [predictor, *covariates])
    data = df[[predictor, *covariates]].copy()
    data[predictor] = pd.to_numeric(data[predictor], errors="coerce")
    data["_y"] = y
    data = data.dropna()
    x = data[predictor].to_numpy(float)
    sd = float(x.std(ddof=1)) if x.size > 1 else 0.0
    if not sd > 0:
        raise InputError(f"{predictor} is constant in the analysed cases")
    design = pd.DataFrame({f"{predictor} (per SD)": (x - x.mean()) / sd}, index=data.index)
    for cov in covariates:
        numeric = pd.to_numeric(data[cov], errors="coerce")
        if numeric.notna().all():
            design[cov] = numeric
        else:  # categorical: indicators, first level (sorted) as reference
            dummies = pd.get_dummies(data[cov].astype(str), prefix=cov, drop_first=True)
            design = design.join(dummies.astype(float))
    return data["_y"].to_numpy(float), design, sd


def _or_row(result: Any, name: str, sd: float, y: np.ndarray) -> dict[str, Any]:
    beta, se = float(result.params.iloc[0]), float(result.bse.iloc[0])
    if abs(beta) + Z95 * se > 700:  # exp overflows: a separated fit, not an odds ratio
        raise InputError("model cannot be fitted (odds ratio diverges: separation?)")
    return {
        "biomarker": name,
        "n": int(y.size),
        "events": int(y.sum()),
        "sd": sd,
        "or_per_sd": float(np.exp(beta)),
        "ci_low": float(np.exp(beta - Z95 * se)),
        "ci_high": float(np.exp(beta + Z95 * se)),
        "p": float(result.pvalues.iloc[0]),
    }


def _fit(model: Any) -> Any:
    """Newton–Raphson fit; an unfittable model (separation, no convergence) → InputError."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("error", category=RuntimeWarning)
        warnings.simplefilter("error", category=ConvergenceWarning)
        warnings.simplefilter("error", category=PerfectSeparationWarning)
        try:
            result = model.fit(method="newton", disp=0, maxiter=100)
        except (np.linalg.LinAlgError, Warning, ValueError) as exc:
            raise InputError(f"model cannot be fitted ({exc})") from exc
    if not getattr(result, "mle_retvals", {}).get("converged", True):
        raise InputError("model cannot be fitted (no convergence: separation?)")
    if not np.all(np.isfinite(result.bse)):
        raise InputError("model cannot be fitted (infinite standard errors: separation?)")
    return result


def logistic_or(
    df: pd.DataFrame,
    outcome: str,
    predictor: str,
    covariates: Sequence[str] = (),
    positive: str | None = None,
) -> dict[str, Any]:
    """Odds ratio of ``outcome`` per 1 SD of ``predictor``, adjusted for ``covariates``."""
    import statsmodels.api as sm

    y, design, sd = _design(df, outcome_vector(df, outcome, positive), predictor, covariates)
    if y.min() == y.max():
        raise InputError(f"outcome {outcome} has a single class in the analysed cases")
    design = sm.add_constant(design, prepend=False, has_constant="add")
    row = _or_row(_fit(sm.Logit(y, design)), predictor, sd, y)
    return {**row, "model": "full" if covariates else "base", "covariates": ", ".join(covariates)}


def conditional_logistic_or(
    df: pd.DataFrame,
    outcome: str,
    predictor: str,
    match: str,
    covariates: Sequence[str] = (),
    positive: str | None = None,
) -> dict[str, Any]:
    """Odds ratio per 1 SD from conditional logistic regression within matched sets."""
    from statsmodels.discrete.conditional_models import ConditionalLogit

    require_columns(df, [match])
    sub = df[df[match].notna()]
    y, design, sd = _design(sub, outcome_vector(sub, outcome, positive), predictor, covariates)
    groups = sub.loc[design.index, match].astype(str).to_numpy()
    informative = pd.Series(y).groupby(groups).agg(lambda v: 0 < v.sum() < len(v))
    if not informative.any():
        raise InputError(f"no matched set ({match}) holds both a case and a control")
    keep = design.columns[design.nunique() > 1]
    inside = informative.reindex(groups).to_numpy(bool)
    with warnings.catch_warnings():  # sets without both outcomes: dropped, as documented
        warnings.simplefilter("ignore")
        model = ConditionalLogit(y[inside], design[keep][inside], groups=groups[inside])
    row = _or_row(_fit(model), predictor, sd, y[inside])
    return {
        **row,
        "model": "conditional full" if covariates else "conditional",
        "covariates": ", ".join(covariates),
        "matched_sets": int(informative.sum()),
    }


def association_table(
    df: pd.DataFrame,
    outcome: str,
    biomarkers: Sequence[str],
    *,
    positive: str | None = None,
    age: str | None = "age",
    sex: str | None = "sex",
    bmd: str | None = None,
    match: str | None = None,
    by_sex: bool = True,
) -> pd.DataFrame:
    """Base and full models (and conditional ones with ``match``) for each biomarker,
    in all cases and, with ``by_sex``, in each sex. A model that cannot be fitted
    gives a row with empty numbers and its reason in ``note``; the columns are always
    the same."""
    require_columns(df, [outcome, *biomarkers, age, sex, bmd, match])
    outcome_vector(df, outcome, positive)  # a coding error fails here, not in every row
    subgroups: list[tuple[str, pd.DataFrame]] = [("all", df)]
    if by_sex and sex and sex in df.columns:
        subgroups += [(str(s), g) for s, g in df.groupby(sex, sort=True)]
    rows = []
    for name, part in subgroups:
        for marker in biomarkers:
            full = [c for c in (age, None if name != "all" else sex, bmd) if c and c != marker]
            specs: list[tuple[str, Any]] = [
                ("base", lambda p=part, m=marker: logistic_or(p, outcome, m, (), positive)),
                ("full", lambda p=part, m=marker, f=full: logistic_or(p, outcome, m, f, positive)),
            ]
            if match:
                specs += [
                    (
                        "conditional",
                        lambda p=part, m=marker: conditional_logistic_or(
                            p, outcome, m, match, (), positive
                        ),
                    ),
                    (
                        "conditional full",
                        lambda p=part, m=marker, f=full: conditional_logistic_or(
                            p, outcome, m, match, [c for c in f if c != sex], positive
                        ),
                    ),
                ]
            for model, fit in specs:
                try:
                    row = fit()
                    row["note"] = ""
                except InputError as exc:
                    row = {"biomarker": marker, "model": model, "note": str(exc)}
                rows.append({"subgroup": name, **row})
    columns = [
        "subgroup",
        "biomarker",
        "model",
        "covariates",
        "n",
        "events",
        "sd",
        "or_per_sd",
        "ci_low",
        "ci_high",
        "p",
        "matched_sets",
        "note",
    ]
    if not match:
        columns.remove("matched_sets")
    # Every column even when no model could be fitted (then the numbers are empty and
    # ``note`` says why), so that readers of the table never meet a missing column.
    return pd.DataFrame.from_records(rows).reindex(columns=columns)


def roc_table(
    df: pd.DataFrame, outcome: str, biomarkers: Sequence[str], positive: str | None = None
) -> pd.DataFrame:
    """AUC with DeLong 95% CI per biomarker (shared ``stats.roc``).

    The AUC is reported in the direction that discriminates (``direction`` says whether
    higher or lower values go with the outcome), as is usual for BMD-like markers.
    """
    from osteoimaging.stats.roc import auc_delong

    y_all = outcome_vector(df, outcome, positive)
    rows = []
    for marker in biomarkers:
        x = pd.to_numeric(df[marker], errors="coerce")
        keep = x.notna() & y_all.notna()
        y, score = y_all[keep].to_numpy(int), x[keep].to_numpy(float)
        res = dict(auc_delong(y, score))
        direction = "higher"
        if res["auc"] < 0.5:
            res, direction = dict(auc_delong(y, -score)), "lower"
        rows.append(
            {
                "biomarker": marker,
                "n": int(y.size),
                "events": int(y.sum()),
                "direction": direction,
                "auc": res["auc"],
                "se": res.get("se"),
                "ci_low": res["ci_low"],
                "ci_high": res["ci_high"],
            }
        )
    return pd.DataFrame.from_records(rows)
