"""The cohort batch: manifest validation, failures, resumability, kill -9, a user's cluster."""

from __future__ import annotations

import csv
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from osteoimaging.cohort import read_manifest, run_batch
from osteoimaging.cohort.jobs import mask_stats_job
from osteoimaging.errors import InputError
from osteoimaging.imageio import write_image
from osteoimaging.phantoms import CTProtocol, FocalDefect, VertebraSpec, vertebra_ct

ROOT = Path(__file__).resolve().parents[1]
HEADER = "case_id,ct,mask,label,level,calibration,group,age,sex,rescan_id\n"


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory) -> Path:
    """Four small phantom CTs with body masks, and one truncated (corrupt) CT."""
    folder = tmp_path_factory.mktemp("phantoms")
    for i in range(4):
        spec = VertebraSpec(
            width_mm=16,
            depth_mm=14,
            height_mm=10,
            posterior_elements=False,
            neighbours=False,
            hires_mm=0.2,
            scene_mm=0.4,
            defects=[FocalDefect((0, 0, 0), (3, 3, 3))],
            seed=i,
        )
        ct, mask, _ = vertebra_ct(spec, CTProtocol(spacing_mm=(0.6, 0.6, 1.0), seed=i))
        write_image(ct, folder / f"ct{i}.nrrd")
        write_image(mask.with_array(mask.array.astype(np.uint8) * 20), folder / f"mask{i}.nrrd")
    data = (folder / "ct0.nrrd").read_bytes()
    (folder / "corrupt.nrrd").write_bytes(data[: len(data) // 3])
    return folder


def _manifest(folder: Path, rows: list[str], name: str = "manifest.csv") -> Path:
    path = folder / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


def _good_rows(n: int = 4) -> list[str]:
    return [
        f'case {i},ct{i % 4}.nrrd,mask{i % 4}.nrrd,20,L1,"manual:0.8,-5",'
        f"{'fracture' if i % 2 else 'control'},{60 + i},{'FM'[i % 2]},s{i // 2}"
        for i in range(n)
    ]


def test_manifest_reports_every_bad_row(phantoms):
    rows = [
        ",ct0.nrrd,mask0.nrrd,20,L1,,,,,",  # empty id
        "a,missing.nrrd,mask0.nrrd,20,L1,,,,,",  # CT not found
        "b,ct0.nrrd,mask0.nrrd,x,L1,,,,,",  # label not an integer
        "c,ct0.nrrd,mask0.nrrd,20;21,L1,,,,,",  # two labels, one level
        "d,ct0.nrrd,,,L1,,,,,",  # neither mask nor seed
        "e,ct0.nrrd,mask0.nrrd,20,L1,manual:-1,0,,,,",  # bad calibration (and too many fields)
        "f,ct0.nrrd,mask0.nrrd,20,L1,none,,old,X,",  # bad age and sex
        "g1,ct0.nrrd,mask0.nrrd,20,L1,,,,,",
        "G1,ct0.nrrd,mask0.nrrd,20,L1,,,,,",  # one folder on macOS and Windows
        "h,ct0.nrrd,mask0.nrrd,20,/tmp/victim,,,,,",  # a level is a folder name: no path
        "i,ct0.nrrd,mask0.nrrd,20;21,L1;..,,,,,",
        "g1,ct0.nrrd,mask0.nrrd,20,L1,,,,,",  # the same id again
    ]
    with pytest.raises(InputError) as info:
        read_manifest(_manifest(phantoms, rows, "bad.csv"))
    msg = str(info.value)
    for expected in (
        "row 2: case id is empty",
        "row 3 (a): CT not found",
        "row 4 (b): label 'x' is not an integer",
        "row 5 (c): 1 level(s), 2 label(s)",
        "row 6 (d): neither a mask nor a seed",
        "row 7: 11 fields, header has 10",
        "row 8 (f): age 'old'",
        "row 8 (f): sex 'X'",
        "row 10 (G1): case id 'G1' and row 9's 'g1' differ only in letter case",
        "row 11 (h): level '/tmp/victim' is not a plain name",
        "row 12 (i): level '..' is not a plain name",
        "row 13 (g1): case id 'g1' repeats row 9",
    ):
        assert expected in msg
    assert msg.count("\n") == 12  # one line per problem, all at once
    no_ct = phantoms / "nocol.csv"
    no_ct.write_text("case_id,mask\na,mask0.nrrd\n")
    with pytest.raises(InputError, match="lacks the column"):
        read_manifest(no_ct)


def test_case_folders_are_safe_unique_and_keep_unicode():
    """Issue 14 items 1 and 16: plain ids are their own folder; others a safe name + hash."""
    from osteoimaging.cohort import case_folder

    assert case_folder("José") == "José" and case_folder("患者1") == "患者1"
    assert case_folder("case_7") == "case_7"
    for raw in ("../../etc/passwd", "Müller, Hans^1950", " .hidden", "a/b", "a b", "CON", ".."):
        folder = case_folder(raw)
        assert "/" not in folder and not folder.startswith(".") and folder not in ("", "..")
        assert len(folder.encode()) <= 110
    assert case_folder("../../etc/passwd").startswith("etc_passwd-")
    assert case_folder("a/b") != case_folder("a b") != case_folder("a_b")
    assert case_folder("a/b") == case_folder("a/b")  # the same id, the same folder (resume)


# Small phantoms (1.8 ml "L1" bodies, far below an adult's): a 2 mm erosion leaves an ROI,
# and the quality limits are set for them (the rows stay flagged as too small).
FOCAL = {"focal": {"erosion_mm": 2.0}, "qc": {"hard_body_ml": [0.5, 150]}}


@pytest.fixture(scope="module")
def direct_focal(phantoms) -> dict:
    """The focal measurement of case 0 called directly (also compiles numba in-process once,
    filling its on-disk cache for the Dask workers)."""
    from osteoimaging.calibration import LinearCalibration
    from osteoimaging.focal import FocalParameters, measure_focal
    from osteoimaging.validation import read_ct, read_mask

    ct = read_ct(phantoms / "ct0.nrrd")
    mask = read_mask(phantoms / "mask0.nrrd", ct, label=20)
    calibration = LinearCalibration.manual(0.8, -5)
    return measure_focal(ct, mask, calibration, FocalParameters(erosion_mm=2.0)).values


def test_batch_with_a_corrupt_file_and_resume(phantoms, tmp_path, direct_focal):
    from osteoimaging.cohort import case_folder

    rows = _good_rows(4)
    rows.insert(2, "broken,corrupt.nrrd,mask0.nrrd,20,L1,,fracture,70,F,s9")
    cases = read_manifest(_manifest(phantoms, rows, "batch.csv"))
    out = tmp_path / "out"
    first = run_batch(cases, out, params=FOCAL, workers=2)  # the focal job by default
    assert (first.computed, first.skipped, first.failed) == (4, 0, 1), first.errors
    errors = _read_csv(out / "errors.csv")
    assert [e["case_id"] for e in errors] == ["broken"]
    assert "corrupt.nrrd" in errors[0]["reason"] and "corrupted" in errors[0]["reason"]
    results = _read_csv(out / "results.csv")
    assert [r["case_id"] for r in results] == ["case 0", "case 1", "case 2", "case 3"]
    assert {r["level"] for r in results} == {"L1"}
    assert results[1]["group"] == "fracture" and results[1]["sex"] == "M"
    assert results[0]["calibration"] == "manual"
    # The batch's values are the direct measurement's, to the last digit.
    for key in ("focal_bmc_loss_mm", "focal_bmd_loss", "intercept_width_mm", "void_coverage"):
        assert float(results[0][key]) == direct_focal[key]
    assert int(results[0]["roi_voxels"]) == direct_focal["roi_voxels"]
    level_dir = out / "cases" / case_folder("case 0") / "L1"
    assert (level_dir / "results.json").is_file() and (level_dir / "maps").is_dir()
    # Same inputs and parameters: nothing recomputed (the failure is retried).
    marker = out / "cases" / case_folder("case 0") / "done.json"
    stamp = marker.stat().st_mtime_ns
    again = run_batch(cases, out, params=FOCAL, workers=1)
    assert (again.computed, again.skipped, again.failed) == (0, 4, 1)
    assert marker.stat().st_mtime_ns == stamp
    assert _read_csv(out / "results.csv") == results
    # Another job (or other parameters) changes the hash: everything is redone.
    third = run_batch(cases, out, job=mask_stats_job, workers=1)
    assert (third.computed, third.skipped) == (4, 0)
    assert "mean_hu" in _read_csv(out / "results.csv")[0]
    assert not list((out / "cases").glob(".*tmp-*"))


def _done(out: Path) -> set[str]:
    return {p.parent.name for p in (out / "cases").glob("*/done.json")}


def test_kill_9_and_resume(phantoms, tmp_path, osteo_cmd):
    manifest = _manifest(phantoms, _good_rows(6), "kill.csv")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "Testing")]))
    cmd = [
        *osteo_cmd,
        "batch",
        str(manifest),
        "--out",
        str(out),
        "--workers",
        "1",
        "--job",
        "batch_test_jobs:slow_mask_stats",
        "--param",
        "delay_s=0.7",
    ]
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 90
    try:
        # Kill the whole process group (client, scheduler, nanny, worker) mid-case.
        while time.monotonic() < deadline:
            in_flight = list((out / "cases").glob(".*.tmp-*/partial.txt"))
            if len(_done(out)) >= 2 and in_flight:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            pytest.fail("the batch did not reach two finished cases in time")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = _done(out)
    assert 2 <= len(done_before) < 6
    stamps = {c: (out / "cases" / c / "done.json").stat().st_mtime_ns for c in done_before}
    assert list((out / "cases").glob(".*.tmp-*"))  # the killed case's half-written folder

    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"{6 - len(done_before)} computed, {len(done_before)} already done, 0 failed" in (
        res.stdout
    )
    results = _read_csv(out / "results.csv")
    assert [r["case_id"] for r in results] == [f"case {i}" for i in range(6)]
    for c, stamp in stamps.items():  # finished cases were not redone
        assert (out / "cases" / c / "done.json").stat().st_mtime_ns == stamp
    assert not list((out / "cases").glob(".*.tmp-*"))


def test_run_on_a_users_cluster_by_address(phantoms, tmp_path, osteo_cmd):
    from distributed import LocalCluster

    manifest = _manifest(phantoms, _good_rows(3), "cluster.csv")
    out = tmp_path / "out"
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        res = subprocess.run(
            [
                *osteo_cmd,
                "batch",
                str(manifest),
                "--out",
                str(out),
                "--job",
                "mask-stats",
                "--scheduler",
                cluster.scheduler_address,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        assert "3 cases: 3 computed" in res.stdout
        # The cases ran as tasks of this cluster's scheduler.
        assert "run_case" in cluster.scheduler.task_prefixes
    results = _read_csv(out / "results.csv")
    assert len(results) == 3
    # The mask-statistics job's value, checked independently: mean HU inside label 20.
    from osteoimaging.validation import read_ct, read_mask

    ct = read_ct(phantoms / "ct0.nrrd")
    inside = ct.array[read_mask(phantoms / "mask0.nrrd", ct, label=20).array]
    assert float(results[0]["mean_hu"]) == pytest.approx(inside.mean(), rel=1e-9)
    assert float(results[0]["mean_bmd"]) == pytest.approx(0.8 * inside.mean() - 5, rel=1e-9)
    bad = subprocess.run(
        [
            *osteo_cmd,
            "batch",
            str(manifest),
            "--out",
            str(out),
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--job",
            "mask-stats",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "cannot reach the Dask scheduler" in bad.stderr


def test_a_case_that_kills_its_worker_fails_alone(phantoms, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "Testing"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(ROOT / "Testing")]))
    from batch_test_jobs import crash_or_mask_stats

    cases = read_manifest(_manifest(phantoms, _good_rows(3), "crash.csv"))
    summary = run_batch(
        cases, tmp_path / "out", job=crash_or_mask_stats, params={"crash": ["case 1"]}, workers=1
    )
    assert summary.failed == 1
    errors = _read_csv(tmp_path / "out" / "errors.csv")
    assert [e["case_id"] for e in errors] == ["case 1"]
    assert "worker process died" in errors[0]["reason"]
    assert [r["case_id"] for r in _read_csv(tmp_path / "out" / "results.csv")] == [
        "case 0",
        "case 2",
    ]


def test_case_hash_tracks_content_and_parameters_only(tmp_path):
    import hashlib

    from osteoimaging.cohort.hashing import case_hash, file_digest

    series = tmp_path / "series"
    series.mkdir()
    (series / "a.dcm").write_bytes(b"slice a")
    (series / "b.dcm").write_bytes(b"slice b")
    mask = tmp_path / "mask.nrrd"
    mask.write_bytes(b"mask")
    assert file_digest(mask) == hashlib.sha256(b"mask").hexdigest()
    case = {
        "ct": str(series),
        "mask": str(mask),
        "labels": [1],
        "levels": ["L1"],
        "seeds": None,
        "calibration": "none",
        "covariates": {"age": 70},
    }
    base = case_hash(case, {"x": 1}, "job:a")
    assert case_hash({**case, "covariates": {"age": 71}}, {"x": 1}, "job:a") == base
    moved = tmp_path / "moved"
    series.rename(moved)
    assert case_hash({**case, "ct": str(moved)}, {"x": 1}, "job:a") == base
    assert case_hash({**case, "ct": str(moved)}, {"x": 2}, "job:a") != base
    assert case_hash({**case, "ct": str(moved)}, {"x": 1}, "job:b") != base
    assert case_hash({**case, "ct": str(moved), "labels": [2]}, {"x": 1}, "job:a") != base
    (moved / "b.dcm").write_bytes(b"slice B")
    assert case_hash({**case, "ct": str(moved)}, {"x": 1}, "job:a") != base


def test_batch_on_a_real_dicom_series(shared_data, tmp_path):
    """TotalSegmentator's DICOM CT (Apache-2.0), label 32 = T12 of its segmentation."""
    series = shared_data("ct/totalseg-dicom/series")
    labels = shared_data("ct/totalseg-dicom/example_seg_dicom.nii.gz")
    manifest = tmp_path / "real.csv"
    manifest.write_text(f"case_id,ct,mask,label,level\nreal,{series},{labels},32,T12\n")
    summary = run_batch(
        read_manifest(manifest),
        tmp_path / "out",
        job=mask_stats_job,
        params={"resample_mask": True},
        workers=1,
    )
    assert summary.failed == 0, summary.errors
    row = _read_csv(tmp_path / "out" / "results.csv")[0]
    assert row["level"] == "T12"
    assert 100 < float(row["mean_hu"]) < 500  # vertebral bone in HU


def test_cli_rejects_bad_focal_parameters_before_starting(phantoms, tmp_path, capsys):
    from osteoimaging.cli.main import main

    manifest = _manifest(phantoms, _good_rows(1), "params.csv")
    code = main(
        ["batch", str(manifest), "--out", str(tmp_path / "o"), "--param", 'focal={"bogus": 1}']
    )
    assert code == 2
    assert "unknown focal parameters: bogus" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing started
    assert main(["batch", str(manifest), "--out", str(tmp_path / "o"), "--workers", "0"]) == 2


def test_cli_exit_code_tells_a_batch_with_failed_cases(phantoms, tmp_path, capsys):
    from osteoimaging.cli.main import main

    rows = [*_good_rows(1), "broken,corrupt.nrrd,mask0.nrrd,20,L1,,,,,"]
    manifest = _manifest(phantoms, rows, "exit.csv")
    argv = ["batch", str(manifest), "--out", str(tmp_path / "o"), "--job", "mask-stats"]
    assert main([*argv, "--workers", "1"]) == 3
    assert "1 failed" in capsys.readouterr().out
    ok = _manifest(phantoms, _good_rows(1), "exit-ok.csv")
    assert main(["batch", str(ok), "--out", str(tmp_path / "p"), "--job", "mask-stats"]) == 0


def test_seed_point_cases_are_segmented_with_growcut(tmp_path):
    """A manifest row with a seed point (RAS mm) instead of a mask: one-click GrowCut runs
    in the batch, its mask is kept, and the mask and seed rules are checked up front."""
    from osteoimaging.imageio import read_image
    from osteoimaging.segmentation import dice

    spec = VertebraSpec(hires_mm=0.2, scene_mm=0.4, seed=5)
    ct, truth, _ = vertebra_ct(spec, CTProtocol(spacing_mm=(0.5, 0.5, 1.0)))
    write_image(ct, tmp_path / "ct.nrrd")
    write_image(truth.with_array(truth.array.astype(np.uint8)), tmp_path / "mask.nrrd")
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "case_id,ct,mask,label,seed,level\n"
        'one,ct.nrrd,,,"-2,3,1",L1\n'  # RAS (-2, 3, 1) = LPS (2, -3, 1): inside the body
    )
    cases = read_manifest(manifest)
    summary = run_batch(cases, tmp_path / "out", job=mask_stats_job, workers=1)
    assert (summary.computed, summary.failed) == (1, 0)
    (row,) = _read_csv(tmp_path / "out" / "results.csv")
    assert row["level"] == "L1"
    kept = read_image(tmp_path / "out" / "cases" / "one" / "L1" / "body.nrrd")
    assert dice(kept.array > 0, truth.array) >= 0.9
    assert int(row["mask_voxels"]) == int((kept.array > 0).sum())

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "case_id,ct,mask,label,seed,level\n"
        'a,ct.nrrd,mask.nrrd,,"0,0,0",L1\n'
        'b,ct.nrrd,,1,"0,0,0",L1\n'
        'c,ct.nrrd,,,"0,0",L1\n'
    )
    with pytest.raises(InputError) as info:
        read_manifest(bad)
    msg = str(info.value)
    assert "row 2 (a): give a mask or seed points, not both" in msg
    assert "row 3 (b): labels belong to a mask" in msg
    assert "row 4 (c): seed '0,0' is not x,y,z" in msg


# -- Issue 14 ---------------------------------------------------------------------------


def _case_dict(phantoms: Path, **over) -> dict:
    case = {
        "case_id": "x",
        "folder": "x",
        "ct": str(phantoms / "ct0.nrrd"),
        "mask": str(phantoms / "mask0.nrrd"),
        "labels": [20],
        "seeds": None,
        "levels": ["L1"],
        "calibration": "none",
        "covariates": {},
    }
    return {**case, **over}


def test_item1_no_manifest_value_writes_outside_the_output_folder(phantoms, tmp_path):
    """A level or case id holding a path is refused (manifest) or kept inside (folder)."""
    from osteoimaging.cohort.batch import run_case
    from osteoimaging.cohort.jobs import job_id

    victim = tmp_path / "victim"
    rows = [
        f"a,ct0.nrrd,mask0.nrrd,20,{victim},,,,,",
        "b,ct0.nrrd,mask0.nrrd,20,../../victim,,,,,",
    ]
    with pytest.raises(InputError) as info:
        read_manifest(_manifest(phantoms, rows, "escape.csv"))
    assert f"row 2 (a): level '{victim}' is not a plain name" in str(info.value)
    assert "row 3 (b): level '../../victim' is not a plain name" in str(info.value)
    (escaping,) = read_manifest(
        _manifest(phantoms, ["../../victim,ct0.nrrd,mask0.nrrd,20,L1,,,,,"])
    )
    assert escaping.case_id == "../../victim" and "/" not in escaping.folder
    # The per-case task refuses such values too (a job given a hand-made case dict).
    cases = tmp_path / "out" / "cases"
    cases.mkdir(parents=True)
    for bad in ({"levels": [str(victim)]}, {"folder": "../victim"}, {"levels": [".."]}):
        outcome = run_case(
            _case_dict(phantoms, **bad), str(cases), {}, mask_stats_job, job_id(mask_stats_job)
        )
        assert outcome["status"] == "failed" and "not a plain name" in outcome["reason"]
    assert not victim.exists() and not (tmp_path / "out" / "victim").exists()


def test_item2_resume_sees_a_changed_detached_data_file(phantoms, tmp_path):
    """.mhd + .raw: changing only the voxels in the .raw must redo the case."""
    import SimpleITK as sitk

    from osteoimaging.cohort.batch import run_case
    from osteoimaging.cohort.hashing import file_digest
    from osteoimaging.cohort.jobs import job_id

    image = sitk.ReadImage(str(phantoms / "ct0.nrrd"))
    ct = tmp_path / "ct.mhd"
    sitk.WriteImage(image, str(ct), False)
    raw = tmp_path / "ct.raw"
    assert raw.is_file()
    case = _case_dict(phantoms, ct=str(ct))
    cases = tmp_path / "cases"
    cases.mkdir()
    name = job_id(mask_stats_job)
    first = run_case(case, str(cases), {}, mask_stats_job, name)
    assert first["status"] == "computed", first
    assert run_case(case, str(cases), {}, mask_stats_job, name)["status"] == "skipped"
    array = sitk.GetArrayFromImage(image) + 100  # every voxel +100 HU, header unchanged
    raw.write_bytes(array.astype(array.dtype.newbyteorder("<")).tobytes())
    second = run_case(case, str(cases), {}, mask_stats_job, name)
    assert second["status"] == "computed"
    assert second["rows"][0]["mean_hu"] == pytest.approx(first["rows"][0]["mean_hu"] + 100)
    # NRRD with a detached data file, by name pattern too.
    (tmp_path / "d001.raw").write_bytes(b"a")
    (tmp_path / "d002.raw").write_bytes(b"b")
    nhdr = tmp_path / "v.nhdr"
    nhdr.write_text(
        "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 1 1 2\nencoding: raw\n"
        "data file: d%03d.raw 1 2 1 2\n"
    )
    before = file_digest(nhdr)
    (tmp_path / "d002.raw").write_bytes(b"c")
    assert file_digest(nhdr) != before


def test_item16_unicode_case_ids_and_item17_permissions(phantoms, tmp_path):
    """Ids stay as written in results.csv; folders are safe, unique and readable (umask)."""
    rows = [
        f"{cid},ct0.nrrd,mask0.nrrd,20,L1,,,,,"
        for cid in ("José", "患者1", "g/1", "g 1", "../../up")
    ]
    cases = read_manifest(_manifest(phantoms, rows, "unicode.csv"))
    old = os.umask(0o022)
    try:
        summary = run_batch(cases, tmp_path / "out", job=mask_stats_job, workers=1)
    finally:
        os.umask(old)
    assert summary.computed == 5, summary.errors
    out = tmp_path / "out"
    with (out / "results.csv").open(encoding="utf-8", newline="") as fh:
        results = list(csv.DictReader(fh))
    assert [r["case_id"] for r in results] == ["José", "患者1", "g/1", "g 1", "../../up"]
    folders = {p.name for p in (out / "cases").iterdir() if not p.name.startswith(".")}
    assert folders == {c.folder for c in cases} and len(folders) == 5
    assert {"José", "患者1"} <= folders
    assert all((out / "cases" / f / "done.json").is_file() for f in folders)
    assert not (tmp_path / "up").exists()
    for path in (out / "cases" / "José", out / "cases" / "José" / "L1"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o755, path
    for path in (out / "results.csv", out / "cases" / "José" / "done.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_item11_ctrl_c_cancels_cleanly_and_keeps_finished_cases(phantoms, tmp_path, osteo_cmd):
    """SIGINT to the whole process group, as a terminal's Ctrl-C: one line, exit 130,
    finished cases in results.csv, no Dask traceback; the next run does the rest."""
    manifest = _manifest(phantoms, _good_rows(8), "sigint.csv")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "Testing")]))
    cmd = [*osteo_cmd, "batch", str(manifest), "--out", str(out), "--workers", "2",
           "--job", "batch_test_jobs:slow_mask_stats", "--param", "delay_s=1.0"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while len(_done(out)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("osteo: cancelled: batch interrupted"), stderr
    kept = [r["case_id"] for r in _read_csv(out / "results.csv")]
    assert len(kept) >= 2 and kept == [f"case {i}" for i in range(8) if f"case {i}" in kept]
    assert set(kept) == {c.case_id for c in read_manifest(manifest) if c.folder in _done(out)}
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    assert f"{8 - len(kept)} computed, {len(kept)} already done" in res.stdout
