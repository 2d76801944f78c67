"""``osteo radiomics extract|train|apply|evaluate`` end to end, and clear errors on bad input."""

from __future__ import annotations

import re
import shlex
import subprocess

import numpy as np
import pandas as pd
import pytest


def _run(osteo_cmd: list[str], args: str, cwd, ok: bool = True) -> subprocess.CompletedProcess:
    """Run ``osteo radiomics ARGS`` in ``cwd``; with ``ok`` assert it succeeded."""
    cmd = [*osteo_cmd, "radiomics", *shlex.split(args)]
    done = subprocess.run(
        cmd, capture_output=True, text=True, encoding="utf-8", cwd=cwd, timeout=300
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def test_extract_real_mri_and_bad_label(osteo_cmd, shared_data, tmp_path):
    mat = shared_data("mri/lumbar-vb3/VB3_01.mat")
    base = f"extract --t1 {mat} --t2 {mat} --mask {mat} --spacing 1,1,1 --out features.csv"
    _run(osteo_cmd, f"{base} --labels 1,2,3,4 --case-id p1", tmp_path)
    table = pd.read_csv(tmp_path / "features.csv")
    assert table.shape == (5, 3 + 9)
    assert table["level"].tolist() == ["L1", "L2", "L3", "L4", "patient"]
    _run(osteo_cmd, f"{base} --labels 1,2,3,4 --case-id p2 --append", tmp_path)
    assert pd.read_csv(tmp_path / "features.csv")["case_id"].tolist() == ["p1"] * 5 + ["p2"] * 5
    bad = _run(osteo_cmd, f"{base} --labels 1,9", tmp_path, ok=False)
    assert bad.returncode == 2
    assert "label(s) 9 absent" in bad.stderr and "Traceback" not in bad.stderr
    # Regression (issue 13): the published radscore on these raw (not z-scored) features gave
    # radscores around −14 450 and "predicted 0" (exit 0 on main at 4df79ae): now refused.
    refused = _run(osteo_cmd, "apply published features.csv --out s.csv", tmp_path, ok=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "outside the model's range" in refused.stderr and "z-score the" in refused.stderr
    assert not (tmp_path / "s.csv").exists()


def test_train_apply_evaluate(osteo_cmd, tmp_path):
    rng = np.random.default_rng(4)
    n = 100
    x = rng.normal(size=(n, 6))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-3 * x[:, 0] + 3 * x[:, 4]))).astype(int)
    features = pd.DataFrame(x, columns=["T1_a", "T1_b", "T1_c", "T2_a", "T2_b", "T2_c"])
    features.insert(0, "level", "patient")
    features.insert(0, "case_id", [f"k{i}" for i in range(n)])
    features.to_csv(tmp_path / "features.csv", index=False)
    labels = pd.DataFrame({"case_id": features["case_id"], "label": y})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    labels.assign(label=1).to_csv(tmp_path / "one.csv", index=False)

    done = _run(
        osteo_cmd,
        "train features.csv --labels labels.csv --out model.json --report train_report",
        tmp_path,
    )
    assert "validation: AUC" in done.stdout
    assert (tmp_path / "train_report" / "index.html").exists()
    _run(osteo_cmd, "apply model.json features.csv --out scores.csv", tmp_path)
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert list(scores.columns) == ["case_id", "level", "radscore", "probability", "predicted"]
    done = _run(osteo_cmd, "evaluate scores.csv --labels labels.csv --report eval", tmp_path)
    assert "radscore: AUC" in done.stdout
    assert (tmp_path / "eval" / "roc_evaluation.png").stat().st_size > 1000
    # The evaluation page: the AUC the command printed, in the summary and ROC tables.
    auc = re.search(r"radscore: AUC (\d\.\d{3})", done.stdout).group(1)
    page = (tmp_path / "eval" / "index.html").read_text(encoding="utf-8")
    assert f'<td class="num">{auc}</td>' in page and f'<td class="num">{auc} (' in page
    assert page.count("data:image/png;base64,") == 3 and "Research software" in page
    # Single-class labels: a clear error, exit code 2, no model written.
    bad = _run(osteo_cmd, "train features.csv --labels one.csv --out m2.json", tmp_path, False)
    assert bad.returncode == 2 and "single class" in bad.stderr
    assert not (tmp_path / "m2.json").exists()


def test_apply_published_preset_warns(osteo_cmd, tmp_path):
    from osteoimaging.radiomics.model import PUBLISHED_TERMS

    row = {"case_id": "z1", **{f: 0.0 for _, f, _ in PUBLISHED_TERMS}}
    pd.DataFrame([row]).to_csv(tmp_path / "f.csv", index=False)
    done = _run(osteo_cmd, "apply published f.csv --out s.csv", tmp_path)
    assert "not publish" in done.stderr
    assert pd.read_csv(tmp_path / "s.csv")["radscore"].iloc[0] == pytest.approx(0.538)
