"""Content hashes that decide whether a case is already done (resumable batches).

A case's hash covers the *content* of its input files — every file the reader reads: the
CT file with the detached data files of a ``.nhdr``/``.mhd`` header
(:func:`osteoimaging.io_headers.data_files`), or every file of a DICOM folder; the mask
likewise; a calibration profile — the per-case inputs that change the
measurement (labels, seeds, level names, calibration), the job's identity, its
parameters and the software version. Covariates (age, group, …) are not hashed: they
are joined to the results at aggregation time, so editing them never forces a re-run.
Paths are not hashed either: moving the data does not invalidate finished cases.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from osteoimaging._version import __version__
from osteoimaging.io_headers import data_files

_CHUNK = 1 << 20


def file_digest(path: str | Path) -> str:
    """SHA-256 of everything the image reader reads for ``path``.

    A file: its bytes, then those of its detached data files (``.nhdr``/``.mhd``), each
    preceded by its name relative to the header's folder. A folder: its files (relative
    names + bytes, sorted).
    """
    path = Path(path)
    h = hashlib.sha256()
    base = path if path.is_dir() else path.parent
    files = data_files(path)
    for n, f in enumerate(files):
        if path.is_dir() or n > 0:
            try:
                name = f.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                name = f.name
            h.update(name.encode() + b"\0")
        with f.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal objects give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def case_hash(case: dict, params: dict, job_id: str) -> str:
    """The hash of everything that determines a case's results."""
    calibration = case.get("calibration", "none")
    inputs = {
        "ct": file_digest(case["ct"]),
        "mask": file_digest(case["mask"]) if case.get("mask") else None,
        "calibration": calibration
        if calibration == "none" or calibration.startswith("manual:")
        else file_digest(calibration),
    }
    record = {
        "software_version": __version__,
        "job": job_id,
        "params": params,
        "inputs": inputs,
        "labels": case.get("labels"),
        "seeds": case.get("seeds"),
        "levels": case.get("levels"),
    }
    return hashlib.sha256(canonical_json(record).encode()).hexdigest()
