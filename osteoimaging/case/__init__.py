"""One case pipeline for every front end: inputs → body → alignment → calibration → focal
maps → sub-regions → quality checks → rows, maps and files.

* :class:`CaseRequest`/:class:`BodySource` — what a front end gathers;
* :func:`measure_case` — the measurement (:mod:`.pipeline`);
* :func:`write_case_outputs` — the files (:mod:`.outputs`).
"""

from osteoimaging.case.density import DensityScale, resolve_density
from osteoimaging.case.pipeline import CaseResult, LevelResult, measure_case
from osteoimaging.case.quality import Flag, QualityLimits
from osteoimaging.case.request import BodySource, CaseRequest
from osteoimaging.case.rows import COLUMNS

__all__ = [
    "COLUMNS",
    "BodySource",
    "CaseRequest",
    "CaseResult",
    "DensityScale",
    "Flag",
    "LevelResult",
    "QualityLimits",
    "measure_case",
    "resolve_density",
]
