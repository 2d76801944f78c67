"""Lumbar MRI radiomics screening for abnormal bone mass (the reference study's pipeline).

Public functions (also used by the RadiomicsMRI Slicer module):

* :func:`extract_features` — pyradiomics features per vertebra and per patient (T1_/T2_);
* :func:`train_model`, :func:`apply_model`, :func:`save_model`, :func:`load_model`,
  :func:`published_model` — the z-score + LASSO radscore;
* :func:`run_study` — split, train, compare T1/T2/T1+T2, evaluate, report;
* :func:`evaluate` — ROC/DeLong, Youden, calibration, decision curves of score tables.

Imports are lazy so that ``import osteoimaging.radiomics`` does not load pyradiomics.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "extract_features": "osteoimaging.radiomics.extract",
    "aggregate_patient": "osteoimaging.radiomics.extract",
    "three_layer_roi": "osteoimaging.radiomics.roi",
    "read_volume": "osteoimaging.radiomics.matio",
    "load_preset": "osteoimaging.radiomics.presets",
    "train_model": "osteoimaging.radiomics.model",
    "apply_model": "osteoimaging.radiomics.model",
    "save_model": "osteoimaging.radiomics.model",
    "load_model": "osteoimaging.radiomics.model",
    "published_model": "osteoimaging.radiomics.model",
    "RadscoreModel": "osteoimaging.radiomics.model",
    "run_study": "osteoimaging.radiomics.study",
    "evaluate": "osteoimaging.radiomics.study",
    "evaluate_scores": "osteoimaging.radiomics.evaluate",
    "feature_icc": "osteoimaging.radiomics.reproducibility",
    "labels_from_dxa": "osteoimaging.radiomics.dxa",
    "dxa_group": "osteoimaging.radiomics.dxa",
    "write_report": "osteoimaging.radiomics.report",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'osteoimaging.radiomics' has no attribute {name!r}")
