"""Cohort research: manifest, resumable Dask batch and per-case jobs."""

from osteoimaging.cohort.batch import BatchSummary, run_batch
from osteoimaging.cohort.jobs import focal_job, mask_stats_job, resolve_job
from osteoimaging.cohort.manifest import Case, case_folder, read_manifest

__all__ = [
    "BatchSummary",
    "Case",
    "case_folder",
    "focal_job",
    "mask_stats_job",
    "read_manifest",
    "resolve_job",
    "run_batch",
]
