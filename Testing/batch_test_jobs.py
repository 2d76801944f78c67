"""A deliberately slow batch job for the kill-and-resume test (imported by Dask workers)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from osteoimaging.cohort.jobs import mask_stats_job


def slow_mask_stats(case: dict, case_dir: Path, params: dict) -> list[dict]:
    """Write a partial file, wait, then run the real mask-statistics job."""
    (Path(case_dir) / "partial.txt").write_text("in progress\n")
    time.sleep(float(params.get("delay_s", 0.5)))
    return mask_stats_job(case, case_dir, params)


def crash_or_mask_stats(case: dict, case_dir: Path, params: dict) -> list[dict]:
    """Kill the worker process outright for the cases named in ``params["crash"]``."""
    if case["case_id"] in params.get("crash", []):
        os._exit(1)
    return mask_stats_job(case, case_dir, params)
