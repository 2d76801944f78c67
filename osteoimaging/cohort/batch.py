"""Resumable batch over a manifest on Dask (a local cluster or an existing one).

On-disk layout of ``DIR``::

    DIR/cases/<folder>/done.json    the "done" marker: hash of inputs+parameters, rows
    DIR/cases/<folder>/...          the job's per-case outputs (folder: the case id, or
                                    its safe form + a hash; see ``manifest.case_folder``)
    DIR/results.csv                 one row per case and level (atomic)
    DIR/errors.csv                  one row per failed case with the reason (atomic)
    DIR/batch.json                  job, parameters, counts, software version

Crash safety: a job writes into a fresh ``cases/.<folder>.tmp-*`` folder; its files are
flushed to disk, ``done.json`` is written there last (atomically, flushed); then the
folder is renamed onto ``cases/<folder>`` and ``cases/`` is flushed. A case is done only
if ``cases/<folder>/done.json`` exists and its hash matches, so a case killed at any
point (``kill -9``, power loss) is simply redone; finished cases never depend on the
aggregated CSVs, which are rebuilt from the markers at every run.

Ctrl-C (SIGINT): the workers ignore it; the batch stops submitting, writes
``results.csv``/``errors.csv`` with the cases finished so far, shuts the cluster down
quietly and raises :class:`~osteoimaging.errors.CancelledError` (``osteo`` exits 130).

Files and folders get the permissions of the user's umask (``osteoimaging.atomic``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osteoimaging._version import __version__
from osteoimaging.atomic import (
    check_output_path,
    fsync_dir,
    fsync_tree,
    make_temp_dir,
    write_json,
    write_text,
)
from osteoimaging.cohort.hashing import case_hash
from osteoimaging.cohort.jobs import Job, focal_job, job_id
from osteoimaging.cohort.manifest import Case, case_folder, check_plain_name
from osteoimaging.errors import CancelledError, InputError
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, report
from osteoimaging.tables import columns_of, table_text

DONE = "done.json"
#: Rewrite results.csv at most this often while the batch runs (seconds).
CHECKPOINT_S = 30.0


@dataclass
class BatchSummary:
    """What a batch did."""

    n_cases: int = 0
    computed: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    results_csv: Path | None = None
    errors_csv: Path | None = None
    errors: list[dict] = field(default_factory=list)
    cancelled: bool = False


# ---------------------------------------------------------------------------------------
# The per-case task (runs on a Dask worker)


def read_done(case_dir: Path) -> dict | None:
    """The case's done marker, or None if absent or unreadable (then the case is redone)."""
    try:
        return json.loads((case_dir / DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``: rename the old one aside, rename, delete the old."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def case_paths(case: dict, cases_root: Path) -> Path:
    """The case's folder in ``cases_root``; InputError if the case or a level would leave it.

    The manifest already refuses such values; this guards jobs given other dicts.
    """
    folder = case.get("folder") or case_folder(case["case_id"])
    try:
        check_plain_name(folder, "case folder")
        for level in case.get("levels") or []:
            check_plain_name(level, "level")
    except ValueError as exc:
        raise InputError(str(exc)) from None
    target = cases_root / folder
    if target.parent != cases_root:
        raise InputError(f"case folder '{folder}' is outside {cases_root}")
    return target


def run_case(case: dict, cases_root: str, params: dict, job: Job, job_name: str) -> dict:
    """Run (or skip) one case; never raises: failures come back as ``status="failed"``."""
    start = time.perf_counter()
    case_id = case["case_id"]
    tmp: Path | None = None
    try:
        target = case_paths(case, Path(cases_root))
        digest = case_hash(case, params, job_name)
        done = read_done(target)
        if done is not None and done.get("hash") == digest:
            return {"case_id": case_id, "status": "skipped", "rows": done["rows"]}
        tmp = make_temp_dir(cases_root, f".{target.name}.tmp-")
        rows = job(case, tmp, params)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise TypeError(f"job returned {type(rows).__name__}, not a list of dicts")
        seconds = time.perf_counter() - start
        marker = {
            "hash": digest,
            "case_id": case_id,
            "job": job_name,
            "params": params,
            "software_version": __version__,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "runtime_s": seconds,
            "rows": [dict(r, level=r.get("level", lvl)) for r, lvl in _with_levels(rows, case)],
        }
        fsync_tree(tmp)  # the outputs are on disk before the marker says they are done
        write_json(tmp / DONE, marker, durable=True)
        stored = read_done(tmp)  # the rows as JSON stores them (NaN → null), as a skip reads them
        _replace_dir(tmp, target)
        tmp = None
        fsync_dir(cases_root)
        return {"case_id": case_id, "status": "computed", "rows": stored["rows"]}
    except Exception as exc:
        reason = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
        logger.debug("case %s failed:\n%s", case_id, traceback.format_exc())
        return {"case_id": case_id, "status": "failed", "reason": reason.replace("\n", " ")}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _with_levels(rows: list[dict], case: dict) -> Iterator[tuple[dict, str]]:
    levels = case.get("levels") or []
    for i, row in enumerate(rows):
        yield row, levels[i] if i < len(levels) else str(i + 1)


# ---------------------------------------------------------------------------------------
# Aggregation


def _csv_text(rows: list[dict], first: Sequence[str]) -> str:
    """The rows through the one table writer (:mod:`osteoimaging.tables`), ``first``
    columns always present (an empty errors.csv still has its header)."""
    columns = list(first) + [c for c in columns_of(rows) if c not in first]
    return table_text(rows, columns)


def write_results(
    out_dir: Path, cases: Sequence[Case], outcomes: dict[str, dict]
) -> tuple[Path, Path]:
    """Write results.csv (done cases, manifest order, covariates joined) and errors.csv."""
    results, errors = [], []
    for case in cases:
        outcome = outcomes.get(case.case_id)
        if outcome is None:
            continue
        if outcome["status"] == "failed":
            errors.append({"case_id": case.case_id, "row": case.row, "reason": outcome["reason"]})
            continue
        for row in outcome["rows"]:
            level = row.get("level", "")
            values = {k: v for k, v in row.items() if k != "level"}
            covariates = {
                (f"manifest_{k}" if k in values else k): v for k, v in case.covariates.items()
            }
            results.append({"case_id": case.case_id, "level": level, **values, **covariates})
    res = write_text(
        out_dir / "results.csv", _csv_text(results, ["case_id", "level"]), durable=True
    )
    err = write_text(
        out_dir / "errors.csv", _csv_text(errors, ["case_id", "row", "reason"]), durable=True
    )
    return res, err


# ---------------------------------------------------------------------------------------
# The batch


@contextlib.contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """One batch per output folder at a time (an OS lock, released even by ``kill -9``)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    with (out_dir / ".batch.lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError("another batch is writing to this folder", out_dir) from None
        yield


def _clean_stale(cases_root: Path) -> None:
    """Remove half-written folders left by a killed run (their cases are redone)."""
    for p in cases_root.glob(".*"):
        if ".tmp-" in p.name or ".old-" in p.name:
            shutil.rmtree(p, ignore_errors=True)


def _why(error: Any) -> str:
    """A one-line reason for a task that did not return (worker death, lost scheduler)."""
    exc = error[1] if isinstance(error, tuple) and len(error) > 1 else error
    if type(exc).__name__ == "KilledWorker":
        return (
            "the worker process died while running this case, repeatedly (out of memory or a "
            "crash in compiled code?)"
        )
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


@contextlib.contextmanager
def dask_client(
    workers: int | None = None,
    scheduler: str | None = None,
    threads_per_worker: int | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client``: on an existing scheduler, or on a new LocalCluster.

    The local cluster has ``workers`` worker processes (default: the number of CPUs),
    each running one case at a time, and no dashboard. Compiled code inside a case (numba,
    ITK) may use ``threads_per_worker`` threads (default: CPUs // workers), so that the
    workers together do not oversubscribe the machine.
    """
    import logging
    import logging.config

    from distributed import Client, LocalCluster

    # Dask logs every connection at INFO; keep the terminal for the progress bar. (This
    # sets a third-party logger's level; our own messages go through osteoimaging.log.)
    quiet = "INFO" if logger.isEnabledFor(logging.DEBUG) else "WARNING"
    logging.config.dictConfig(
        {"version": 1, "incremental": True, "loggers": {"distributed": {"level": quiet}}}
    )
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from exc
        try:
            yield client
        finally:
            client.close()
        return
    import dask

    n = workers or os.cpu_count() or 1
    if n < 1:
        raise InputError(f"--workers must be at least 1, got {n}")
    threads = str(threads_per_worker or max(1, (os.cpu_count() or 1) // n))
    env = {"NUMBA_NUM_THREADS": threads, "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": threads}
    # One task per worker at a time: a case that kills its worker takes no queued case with it.
    with contextlib.ExitStack() as stack:
        stack.enter_context(dask.config.set({"distributed.scheduler.worker-saturation": 1.0}))
        with _sigint_ignored_by_children():
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # No dashboard; the scheduler's small HTTP server on a free port, so that
                    # two batches (or any Dask on :8787) do not print a port warning.
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.ERROR,
                    env=env,
                )
            )
        yield stack.enter_context(Client(cluster))


@contextlib.contextmanager
def _sigint_ignored_by_children() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (inherited across exec), so that Ctrl-C
    in a terminal, which signals the whole process group, reaches only this process: it
    cancels the batch cleanly instead of printing a traceback from every worker.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_batch(
    cases: Sequence[Case],
    out_dir: str | Path,
    *,
    job: Job = focal_job,
    params: dict | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    progress: ProgressCallback | None = None,
) -> BatchSummary:
    """Run ``job`` on every case on Dask; skip cases already done with the same hash.

    Pass ``client`` to use a ``distributed.Client`` you manage, else ``scheduler``
    (an address such as ``tcp://host:8786``), else a LocalCluster with ``workers``
    processes is started and stopped. Output folders must be visible to every worker
    (one machine, or a shared file system on a cluster).
    """
    out_dir = Path(check_output_path(out_dir, folder=True)).resolve()
    cases_root = out_dir / "cases"
    cases_root.mkdir(parents=True, exist_ok=True)
    params = dict(params or {})
    name = job_id(job)
    summary = BatchSummary(n_cases=len(cases))
    start = time.perf_counter()
    started_ns = time.time_ns()
    outcomes: dict[str, dict] = {}
    with _exclusive(out_dir):
        _clean_stale(cases_root)
        try:
            with _quiet_on_interrupt(), _client(client, workers, scheduler) as cl:
                _collect(
                    cl, cases, cases_root, params, job, name, out_dir, outcomes, summary, progress
                )
        except KeyboardInterrupt:
            summary.cancelled = True
            _recover_finished(cases, cases_root, name, started_ns, outcomes, summary)
        summary.results_csv, summary.errors_csv = write_results(out_dir, cases, outcomes)
        summary.seconds = time.perf_counter() - start
        summary.errors = [o for o in outcomes.values() if o["status"] == "failed"]
        write_json(
            out_dir / "batch.json",
            {
                "job": name,
                "params": params,
                "software_version": __version__,
                "cases": summary.n_cases,
                "computed": summary.computed,
                "skipped": summary.skipped,
                "failed": summary.failed,
                "runtime_s": summary.seconds,
                "cancelled": summary.cancelled,
            },
            durable=True,
        )
    if summary.cancelled:
        done = summary.computed + summary.skipped
        raise CancelledError(
            f"batch interrupted; {done} finished case(s) kept in {summary.results_csv}, "
            "the others are run by the next run"
        )
    return summary


def _recover_finished(
    cases: Sequence[Case],
    cases_root: Path,
    job_name: str,
    since_ns: int,
    outcomes: dict[str, dict],
    summary: BatchSummary,
) -> None:
    """After Ctrl-C: add the cases this run finished whose outcome had not arrived yet.

    A marker written since the run started was written by this run (the folder lock
    excludes any other), so its rows are current without re-hashing the inputs.
    """
    for case in cases:
        if case.case_id in outcomes:
            continue
        marker_path = cases_root / case.folder / DONE
        try:
            fresh = marker_path.stat().st_mtime_ns >= since_ns
        except OSError:
            continue
        marker = read_done(marker_path.parent) if fresh else None
        if marker is not None and marker.get("job") == job_name:
            outcomes[case.case_id] = {
                "case_id": case.case_id,
                "status": "computed",
                "rows": marker["rows"],
            }
            summary.computed += 1


def _client(client: Any, workers: int | None, scheduler: str | None) -> Any:
    return contextlib.nullcontext(client) if client is not None else dask_client(workers, scheduler)


@contextlib.contextmanager
def _quiet_on_interrupt() -> Iterator[None]:
    """On Ctrl-C, silence Dask's logging while the cluster shuts down (it reports every
    cancelled task and closed connection as a warning or error with a traceback)."""
    import logging.config

    try:
        yield
    except KeyboardInterrupt:
        silent = {"level": logging.CRITICAL + 1}  # third-party loggers, not ours
        logging.config.dictConfig(
            {
                "version": 1,
                "incremental": True,
                "loggers": {name: silent for name in ("distributed", "tornado", "asyncio")},
            }
        )
        raise


def _collect(
    cl: Any,
    cases: Sequence[Case],
    cases_root: Path,
    params: dict,
    job: Job,
    name: str,
    out_dir: Path,
    outcomes: dict[str, dict],
    summary: BatchSummary,
    progress: ProgressCallback | None,
) -> None:
    """Submit every case and gather the outcomes as they complete (into ``outcomes``)."""
    from distributed import as_completed

    futures = {
        cl.submit(run_case, c.to_dict(), str(cases_root), params, job, name, pure=False): c.case_id
        for c in cases
    }
    report(progress, 0.0, f"0/{len(cases)}")
    last_checkpoint = time.monotonic()
    try:
        for n_done, (future, outcome) in enumerate(
            as_completed(futures, with_results=True, raise_errors=False), start=1
        ):
            case_id = futures[future]
            if not isinstance(outcome, dict):  # the task itself failed: (type, exc, tb)
                outcome = {"case_id": case_id, "status": "failed", "reason": _why(outcome)}
            outcomes[case_id] = outcome
            setattr(summary, outcome["status"], getattr(summary, outcome["status"]) + 1)
            if time.monotonic() - last_checkpoint > CHECKPOINT_S:
                write_results(out_dir, cases, outcomes)
                last_checkpoint = time.monotonic()
            report(
                progress,
                n_done / len(cases),
                f"{summary.computed} computed, {summary.skipped} skipped, {summary.failed} failed",
            )
    except KeyboardInterrupt:
        cl.cancel(list(futures))
        raise
