"""The module's "Save report": the study report of the levels measured on a CT.

The same page ``osteo focal`` writes (:func:`osteoimaging.case.outputs.case_report_html`),
from the levels measured in this session; no patient identifier is written.
"""

from __future__ import annotations

from pathlib import Path

from osteoimaging.atomic import write_text
from osteoimaging.errors import InputError


def save_report(ct_node, path: str | Path) -> Path:
    """Write the study report of ``ct_node``'s measured levels to ``path`` (atomically)."""
    from osteoimaging.case.outputs import case_report_html
    from osteoimaging.case.pipeline import merge_cases
    from osteoimaging.mrml.focal_workflow import measured_cases

    cases = measured_cases(ct_node) if ct_node is not None else []
    if not cases:
        raise InputError("measure a vertebra of this CT first")
    return write_text(path, case_report_html(merge_cases(cases)))
