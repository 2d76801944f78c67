"""Results table node: per-level rows that accumulate, CSV/TSV files, HTML report."""

from __future__ import annotations

import csv
import math

import pytest

from osteoimaging.errors import InputError


def _filled(app):
    from osteoimaging.mrml.tables import new_results_table, set_result_row

    table = new_results_table(app.scene, "results")
    set_result_row(table, "L1", "body", {"focal_bmc_loss_mm": 1.25, "calibration": "manual"})
    set_result_row(table, "L2", "body", {"focal_bmc_loss_mm": 2.5, "roi_voxels": 1200})
    set_result_row(table, "L2", "anterior", {"focal_bmc_loss_mm": 0.5})
    set_result_row(table, "L1", "body", {"focal_bmc_loss_mm": 1.75})  # re-measured
    return table


def test_rows_accumulate_per_level_and_region(slicer_app):
    from osteoimaging.mrml.tables import table_rows

    rows = table_rows(_filled(slicer_app))
    assert [(r["level"], r["region"]) for r in rows] == [
        ("L1", "body"),
        ("L2", "body"),
        ("L2", "anterior"),
    ]
    assert rows[0]["focal_bmc_loss_mm"] == 1.75
    assert rows[0]["calibration"] == "manual"
    assert math.isnan(rows[0]["roi_voxels"])  # never measured for L1: NaN, not 0
    assert rows[1]["roi_voxels"] == 1200.0
    assert rows[2]["calibration"] == ""


@pytest.mark.parametrize(("suffix", "delimiter"), [(".csv", ","), (".tsv", "\t")])
def test_saved_table_file(slicer_app, tmp_path, suffix, delimiter):
    from osteoimaging.mrml.tables import save_table

    path = save_table(_filled(slicer_app), tmp_path / f"results{suffix}")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    assert [r["level"] for r in rows] == ["L1", "L2", "L2"]
    assert float(rows[1]["focal_bmc_loss_mm"]) == 2.5
    assert float(rows[1]["roi_voxels"]) == 1200
    written = sorted(p.name for p in tmp_path.iterdir() if p.name != "cache")
    assert written == sorted([f"results.schema{suffix}", f"results{suffix}"])


def test_bad_table_suffix(slicer_app, tmp_path):
    from osteoimaging.mrml.tables import save_table

    with pytest.raises(InputError, match=r"results\.xlsx: table file must end"):
        save_table(_filled(slicer_app), tmp_path / "results.xlsx")
