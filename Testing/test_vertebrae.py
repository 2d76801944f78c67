"""Several vertebrae per case: inputs from clicks or label maps, calibration profiles,
alignment, and (with the focal measurement) the tilted-phantom invariance and the table."""

from __future__ import annotations

import numpy as np
import pytest

from osteoimaging.calibration import load_preset, profile_from_preset, save_profile
from osteoimaging.errors import InputError
from osteoimaging.focal import FocalParameters
from osteoimaging.imageio import write_image
from osteoimaging.phantoms import CTProtocol, FocalDefect, VertebraSpec, vertebra_ct
from osteoimaging.segmentation import dice
from osteoimaging.vertebrae import parse_point, resolve_vertebrae

SPEC = VertebraSpec(
    width_mm=32.0,
    depth_mm=24.0,
    height_mm=20.0,
    hires_mm=0.2,
    scene_mm=0.4,
    defects=[FocalDefect((2.0, -2.0, 1.0), (3.0, 3.0, 3.0))],
)


@pytest.fixture(scope="module")
def phantom():
    return vertebra_ct(SPEC, CTProtocol(spacing_mm=(0.5, 0.5, 1.0)))


@pytest.fixture
def profile_path(tmp_path):
    preset = load_preset("qrm_bdc_6")
    hu = (np.array(preset.densities) + 5.0) / 0.8  # the phantom's own calibration
    return save_profile(profile_from_preset("scanA", preset, [hu]), tmp_path / "scanA.json")


def test_label_map_levels_and_profile(tmp_path, phantom, profile_path):
    ct, mask, _ = phantom
    labels = np.zeros(mask.shape, np.uint8)
    labels[mask.array] = 20  # L1 in the VerSe numbering
    path = write_image(mask.with_array(labels), tmp_path / "labels.nii.gz")
    (item,) = resolve_vertebrae(ct, labels_path=path, levels=["L1"], calibration=profile_path)
    assert item.level == "L1" and item.source.startswith("label 20")
    assert np.array_equal(item.mask.array, mask.array)
    assert item.calibration.source == "profile:scanA"
    assert item.calibration.slope == pytest.approx(0.8)
    assert item.calibration.intercept == pytest.approx(-5.0)
    assert item.alignment.method == "endplates" and item.alignment.tilt_deg < 1.0
    with pytest.raises(InputError, match="label 21 is absent"):
        resolve_vertebrae(ct, labels_path=path, levels=["L2"])
    (by_value,) = resolve_vertebrae(ct, labels_path=path, label_values=[20], align="none")
    assert by_value.level is None and by_value.grid_direction is None


def test_click_and_input_errors(phantom):
    ct, mask, _ = phantom
    (item,) = resolve_vertebrae(ct, seeds_ras=[(0.0, 0.0, 0.0)], levels=["T12"])
    assert item.level == "T12" and "growcut" in item.source
    assert dice(item.mask.array, mask.array) >= 0.9
    with pytest.raises(InputError, match="either seed points or a label map"):
        resolve_vertebrae(ct, seeds_ras=[(0, 0, 0)], labels_path="x.nii.gz")
    with pytest.raises(InputError, match="give a seed point"):
        resolve_vertebrae(ct)
    with pytest.raises(InputError, match="2 level name"):
        resolve_vertebrae(ct, seeds_ras=[(0, 0, 0)], levels=["L1", "L2"])
    assert parse_point("1,-2.5,3") == (1.0, -2.5, 3.0)
    with pytest.raises(InputError, match="bad point"):
        parse_point("1,2")


def _region_fractions(case) -> np.ndarray:
    sub = case.subregions["L1"]
    n = np.array([sub[r]["bmd_n"] for r in sub if r != "roi"], dtype=float)
    return n / n.sum()


@pytest.mark.slow
def test_tilted_phantom_roi_means_within_3_percent(tmp_path):
    """A body scanned 15° tilted, aligned automatically, gives the untilted ROI means and
    the same sub-region partition; without alignment the partition is visibly off (the
    phantom's trabecular bone is isotropic, so the ROI means alone hardly notice a tilt)."""
    from osteoimaging.vertebrae import measure_vertebrae, write_case_outputs

    params = FocalParameters()
    keys = ("focal_bmc_loss_mm", "focal_bmd_loss", "intercept_width_mm", "trabecular_bmd_mg_cm3")
    runs = {}
    for tilt, align in ((0.0, "endplates"), (15.0, "endplates"), (15.0, "none")):
        ct, mask, _ = vertebra_ct(
            SPEC, CTProtocol(spacing_mm=(0.5, 0.5, 1.0), rotation_deg=(tilt, 0.0, 0.0))
        )
        labels = write_image(
            mask.with_array(mask.array.astype(np.uint8) * 20), tmp_path / f"l{tilt}.nrrd"
        )
        items = resolve_vertebrae(ct, labels_path=labels, levels=["L1"], align=align)
        runs[tilt, align] = case = measure_vertebrae(ct, items, params=params)
        if tilt and align == "endplates":
            write_case_outputs(case, tmp_path / "out", ct)
    straight, tilted = runs[0.0, "endplates"].rows[0], runs[15.0, "endplates"].rows[0]
    for key in keys:
        assert tilted[key] == pytest.approx(straight[key], rel=0.03), key
    assert tilted["alignment"] == "endplates" and tilted["tilt_deg"] < 1.0
    base = _region_fractions(runs[0.0, "endplates"])
    assert np.abs(_region_fractions(runs[15.0, "endplates"]) - base).max() < 0.02
    assert np.abs(_region_fractions(runs[15.0, "none"]) - base).max() > 0.04
    assert (tmp_path / "out" / "results.csv").read_text().startswith("level,")
    assert (tmp_path / "out" / "L1" / "subregions.json").exists()
    assert (tmp_path / "out" / "L1" / "subregions_focal_bmc_loss.png").exists()


def test_focal_command_line_glue(tmp_path, phantom, profile_path):
    """The options ``osteo focal`` gains: --labels/--levels/--calibration/--align."""
    import argparse

    from osteoimaging.cli.focal import add_parameter_arguments, parameters_from_args
    from osteoimaging.vertebrae import (
        add_vertebra_arguments,
        run_vertebrae_cli,
        vertebrae_requested,
    )

    ct, mask, _ = phantom
    labels = write_image(mask.with_array(mask.array.astype(np.uint8) * 31), tmp_path / "l.nrrd")
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    add_parameter_arguments(parser)
    add_vertebra_arguments(parser)
    args = parser.parse_args(
        [
            "--labels",
            str(labels),
            "--levels",
            "L1",
            "--label-scheme",
            "totalseg_v2",
            "--calibration",
            str(profile_path),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert vertebrae_requested(args)
    case = run_vertebrae_cli(args, ct, parameters_from_args(args))
    (row,) = case.rows
    assert row["level"] == "L1" and row["calibration"] == "profile:scanA"
    # The phantom's calibration is the profile's: trabecular BMD near the truth.
    assert 100.0 < row["trabecular_bmd_mg_cm3"] < 300.0
    table = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert len(table) == 2 and table[1].startswith("L1,")
    assert (tmp_path / "out" / "L1" / "results.json").exists()
    from osteoimaging.calibration.linear import LinearCalibration

    with pytest.raises(InputError, match="not both"):
        run_vertebrae_cli(args, ct, parameters_from_args(args), LinearCalibration.manual(1, 0))
