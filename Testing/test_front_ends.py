"""One pipeline, three front ends: ``osteo focal``, the batch and the Slicer bridge give
identical rows for the same case (issue 13).

Two cases: a phantom scanned 15° tilted and measured from one click (each front end
segments it with GrowCut), and the real example CT's L1 from its TotalSegmentator label
map. Every column must be equal — numbers to the last bit — except ``source`` where the
front ends really differ in how the body was handed over (a label file versus a segment
in the Slicer scene).
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from osteoimaging.focal import FocalParameters
from osteoimaging.geometry import lps_to_ras
from osteoimaging.imageio import read_image, write_image
from osteoimaging.phantoms import CTProtocol, FocalDefect, VertebraSpec, vertebra_ct

FAST = {"angle_step_deg": 30.0}


def _cli(osteo_cmd, *args) -> list[dict]:
    done = subprocess.run(
        [*osteo_cmd, "focal", *args], capture_output=True, text=True, encoding="utf-8"
    )
    assert done.returncode == 0, done.stderr
    out = args[args.index("--out") + 1]
    return json.load(open(f"{out}/results.json", encoding="utf-8"))["vertebrae"]


def _batch(tmp_path, manifest_row: str, columns: str) -> list[dict]:
    from osteoimaging.cohort import read_manifest, run_batch

    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"{columns}\n{manifest_row}\n", encoding="utf-8")
    out = tmp_path / "batch"
    summary = run_batch(read_manifest(manifest), out, params={"focal": FAST}, workers=1)
    assert summary.failed == 0, summary.errors
    done = json.loads((out / "cases" / "case" / "done.json").read_text(encoding="utf-8"))
    return done["rows"]


def _assert_identical(a: list[dict], b: list[dict], skip=()) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        keys = [k for k in x if k not in skip]
        assert keys == [k for k in y if k not in skip]
        for key in keys:
            u, v = x[key], y[key]
            if u is None or (isinstance(u, float) and np.isnan(u)):
                assert v is None or (isinstance(v, float) and np.isnan(v)), key
            else:
                assert u == v, (key, u, v)


def _slicer_rows(slicer_app, ct, **kwargs) -> list[dict]:
    from osteoimaging.mrml.focal_workflow import run_focal
    from osteoimaging.mrml.volumes import volume_to_node

    node = volume_to_node(ct, slicer_app.scene, "CT")
    body = kwargs.pop("body", None)
    if body is not None:
        from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node

        seg = new_segmentation_node(slicer_app.scene, "labels", node)
        mask_to_segment(body, seg, "L1")
        kwargs.update(segmentation_node=seg, segment="L1")
    run = run_focal(node, "L1", params=FocalParameters(**FAST), **kwargs)
    return [json.loads(json.dumps(run.row, allow_nan=True))]


@pytest.mark.slow
def test_tilted_phantom_from_one_click(slicer_app, osteo_cmd, tmp_path):
    from osteoimaging.mrml.markups import add_seed

    spec = VertebraSpec(hires_mm=0.2, defects=[FocalDefect((4.0, -3.0, 1.0), (4.0, 4.0, 3.0))])
    ct, mask, _ = vertebra_ct(spec, CTProtocol(rotation_deg=(15.0, 0.0, 0.0), seed=11))
    write_image(ct, tmp_path / "ct.nrrd")
    ct = read_image(tmp_path / "ct.nrrd")  # every front end starts from the file
    centre = np.argwhere(mask.array).mean(axis=0)[::-1]
    seed = [float(v) for v in lps_to_ras(mask.index_to_physical(centre))]
    text = ",".join(repr(v) for v in seed)
    cli = _cli(osteo_cmd, str(tmp_path / "ct.nrrd"), f"--seed={text}", "--level", "L1",
               "--angle-step-deg", "30", "--out", str(tmp_path / "cli"))  # fmt: skip
    batch = _batch(tmp_path, f'case,ct.nrrd,"{text}",L1', "case_id,ct,seed,level")
    slicer = _slicer_rows(slicer_app, ct, seed_node=add_seed(slicer_app.scene, seed))
    # The scan's slices are tilted 15° against the body; the end-plate fit finds the body's
    # own axis (the patient frame's z here).
    assert ct.direction[2, 2] == pytest.approx(np.cos(np.radians(15.0)))
    assert cli[0]["alignment"] == "endplates" and cli[0]["tilt_deg"] < 1.0
    _assert_identical(cli, batch)
    _assert_identical(cli, slicer)


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_l1_from_a_label_map(slicer_app, osteo_cmd, shared_data, tmp_path):
    folder = shared_data("ct/totalseg-example")
    ct_path, labels_path = (
        folder / "example_ct.nii.gz",
        folder / "totalseg_vertebrae_pp_refined.nii.gz",
    )
    cli = _cli(osteo_cmd, str(ct_path), "--labels", str(labels_path), "--levels", "L1",
               "--angle-step-deg", "30", "--out", str(tmp_path / "cli"))  # fmt: skip
    batch = _batch(tmp_path, f"case,{ct_path},{labels_path},20,L1", "case_id,ct,mask,label,level")
    ct, labels = read_image(ct_path), read_image(labels_path)
    slicer = _slicer_rows(slicer_app, ct, body=labels.with_array(labels.array == 20))
    assert cli[0]["source"] == batch[0]["source"] == f"label 20 of {labels_path.name}"
    assert slicer[0]["source"] == "segment 'L1'"
    assert cli[0]["qc_flags"] == "coarse_scan"  # 3 mm voxels
    _assert_identical(cli, batch)
    _assert_identical(cli, slicer, skip=("source",))
