"""The one case pipeline: bodies from clicks, label values and masks; alignment; density
scales; the row schema; quality gates (errors and flags); the files of a case."""

from __future__ import annotations

import json

import numpy as np
import pytest
from focal_cases import vertebra_scan

from osteoimaging.calibration import LinearCalibration, load_preset, profile_from_preset
from osteoimaging.case import BodySource, CaseRequest, measure_case
from osteoimaging.case.outputs import write_case_outputs
from osteoimaging.case.rows import COLUMNS
from osteoimaging.errors import InputError
from osteoimaging.focal import FocalParameters, measure_focal
from osteoimaging.phantoms import CTProtocol, FocalDefect, VertebraSpec, vertebra_ct
from osteoimaging.segmentation import dice
from osteoimaging.tables import read_table
from osteoimaging.volume import Volume

FAST = FocalParameters(angle_step_deg=30.0)
CAL = LinearCalibration(0.8, -5.0, "manual", {"material": "HA"})
SPEC = VertebraSpec(
    width_mm=34.0,
    depth_mm=26.0,
    height_mm=22.0,
    hires_mm=0.2,
    scene_mm=0.4,
    defects=[FocalDefect((2.0, -2.0, 1.0), (3.0, 3.0, 3.0))],
)


@pytest.fixture(scope="module")
def scan():
    return vertebra_scan()


@pytest.fixture(scope="module")
def phantom():
    return vertebra_ct(SPEC, CTProtocol(spacing_mm=(0.5, 0.5, 1.0)))


def _request(ct, bodies, **kw):
    kw.setdefault("params", FAST)
    return CaseRequest(ct=ct, bodies=bodies, **kw)


def test_mask_source_row_is_the_measurement(scan):
    """With a mask and no alignment, the row's values are measure_focal's, in the schema."""
    ct, mask = scan
    case = measure_case(_request(ct, [BodySource("T11", mask=mask)], align="none", calibration=CAL))
    (level,) = case.levels
    direct = measure_focal(ct, mask, CAL, FAST)
    for key in ("focal_bmc_loss_mm", "focal_bmd_loss", "intercept_width_mm", "trabecular_bmd"):
        assert level.row[key] == direct.values[key], key
    assert list(level.row)[: len(COLUMNS)] == list(COLUMNS)
    assert level.row["qc"] == "ok" and level.row["qc_flags"] == ""
    assert level.row["bmd_units"] == "mg/cm³ HA" and level.row["alignment"] == "none"
    assert level.row["body_volume_ml"] == pytest.approx(mask.array.sum() * 0.4 * 0.4 * 0.7 / 1e3)
    regions = [k for k in level.row if ":" in k]
    assert len(regions) == 9 * 4 and "superior-anterior:focal_bmc_loss" in regions


def test_label_values_and_a_profile_with_its_material(phantom):
    ct, mask, _ = phantom
    labels = mask.with_array(np.where(mask.array, 20, 0).astype(np.uint8))
    preset = load_preset("qrm_bdc_6")
    hu = (np.array(preset.densities) + 5.0) / 0.8
    profile = profile_from_preset("scanA", preset, [hu]).calibration()
    request = _request(ct, [BodySource("L1", label=20)], labels=labels, calibration=profile)
    (level,) = measure_case(request).levels
    assert np.array_equal(level.body.array, mask.array)
    assert level.row["source"] == "label 20 of label map"
    assert level.row["calibration"] == "profile:scanA" and level.row["bmd_units"] == "mg/cm³ HA"
    assert level.row["alignment"] == "endplates" and level.row["tilt_deg"] < 1.0
    with pytest.raises(InputError, match="label 21 is absent"):
        measure_case(_request(ct, [BodySource("L2", label=21)], labels=labels))
    with pytest.raises(InputError, match="no label map"):
        _request(ct, [BodySource("L2", label=21)])


def test_click_source_is_grown_and_kept(phantom):
    ct, mask, _ = phantom
    (level,) = measure_case(_request(ct, [BodySource("T12", seed_ras=(0.0, 0.0, 0.0))])).levels
    assert dice(level.body.array, mask.array) >= 0.9
    assert level.row["source"] == "GrowCut from RAS (0.0, 0.0, 0.0)"
    assert level.segmentation is not None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_units": "mg/cm3"}, "needs its calibration material"),
        ({"input_units": "mg/cm3", "material": "HA", "calibration": CAL}, "already calibrated"),
        ({"material": "K2HPO4"}, "without a calibration"),
        ({"align": "banana"}, "unknown alignment 'banana'"),
        ({"align": (1.0, 2.0)}, "alignment must be"),
        ({"input_units": "kg"}, "unknown input units"),
    ],
)
def test_bad_requests(scan, kwargs, message):
    ct, mask = scan
    with pytest.raises(InputError, match=message):
        measure_case(_request(ct, [BodySource("L1", mask=mask)], **kwargs))


def test_density_scale_of_a_calibrated_input_and_of_k2hpo4(scan):
    """An input already in mg/cm³ K2HPO4 (like the VerSe crop) is labelled so, not HU."""
    ct, mask = scan
    bmd = ct.with_array(CAL.apply(ct.array))
    case = measure_case(
        _request(bmd, [BodySource(mask=mask)], input_units="mg/cm3", material="K2HPO4")
    )
    row = case.levels[0].row
    assert row["bmd_units"] == "mg/cm³ K2HPO4" and row["calibration"] == "none"
    assert case.levels[0].focal.maps["bmd"].metadata["units"] == "mg/cm³ K2HPO4"
    manual = measure_case(
        _request(
            ct,
            [BodySource(mask=mask)],
            calibration=LinearCalibration.manual(0.8, -5.0),
            material="K2HPO4",
            align="none",
        )
    )
    assert manual.levels[0].row["bmd_units"] == "mg/cm³ K2HPO4"
    assert manual.levels[0].row["trabecular_bmd"] == pytest.approx(row["trabecular_bmd"])


@pytest.mark.slow
def test_tilted_phantom_roi_means_within_3_percent():
    """A body scanned 15° tilted, aligned automatically, gives the untilted ROI means and the
    same sub-region partition; without alignment the partition is visibly off (the
    phantom's trabecular bone is isotropic, so the ROI means alone hardly notice a tilt)."""
    keys = ("focal_bmc_loss_mm", "focal_bmd_loss", "intercept_width_mm", "trabecular_bmd")
    runs = {}
    for tilt, align in ((0.0, "endplates"), (15.0, "endplates"), (15.0, "none")):
        ct, mask, _ = vertebra_ct(
            SPEC, CTProtocol(spacing_mm=(0.5, 0.5, 1.0), rotation_deg=(tilt, 0.0, 0.0))
        )
        request = CaseRequest(ct, [BodySource("L1", mask=mask)], align=align)
        runs[tilt, align] = measure_case(request).levels[0]

    def fractions(level):
        n = np.array([v["bmd_n"] for r, v in level.subregions.items() if r != "roi"], float)
        return n / n.sum()

    straight, tilted = runs[0.0, "endplates"].row, runs[15.0, "endplates"].row
    for key in keys:
        assert tilted[key] == pytest.approx(straight[key], rel=0.03), key
    assert tilted["alignment"] == "endplates" and tilted["tilt_deg"] < 1.0
    base = fractions(runs[0.0, "endplates"])
    assert np.abs(fractions(runs[15.0, "endplates"]) - base).max() < 0.02
    assert np.abs(fractions(runs[15.0, "none"]) - base).max() > 0.04


# -- quality gates -----------------------------------------------------------------------
def test_a_mask_far_from_any_vertebral_body_is_an_error():
    """A 729 ml 'vertebra' (the 90 mm cube of issue 14) is refused, not measured."""
    ct = Volume(np.full((100, 100, 100), 300.0, np.float32), (1.0, 1.0, 1.0))
    cube = np.zeros(ct.shape, bool)
    cube[5:95, 5:95, 5:95] = True
    with pytest.raises(InputError, match=r"holds 729\.0 ml: not one vertebral body"):
        measure_case(_request(ct, [BodySource("L1", mask=ct.with_array(cube))]))


def test_implausible_body_volume_is_flagged(scan):
    ct, mask = scan
    (level,) = measure_case(_request(ct, [BodySource("L4", mask=mask)])).levels
    assert level.row["qc"] == "flagged" and level.row["qc_flags"] == "body_volume"
    assert "implausibly small for L4" in level.flags[0].message


def test_partial_vertebra_is_flagged_and_not_tilted(phantom):
    """The DICOM series' T12 lost its upper end plate outside the scan and was tilted 33°:
    a body touching the scan's edge gets no end-plate alignment and a flag."""
    ct, mask, _ = phantom
    top = int(np.argwhere(mask.array)[:, 0].max()) - 4  # cut the body's top slices off
    cut_ct = Volume(ct.array[: top + 1].copy(), ct.spacing, ct.origin, ct.direction)
    cut_mask = cut_ct.with_array(mask.array[: top + 1].copy())
    (level,) = measure_case(_request(cut_ct, [BodySource("L1", mask=cut_mask)])).levels
    assert "partial_vertebra" in level.row["qc_flags"].split("; ")
    assert level.row["alignment"] == "none (partial vertebra)" and level.row["tilt_deg"] == 0.0
    assert level.alignment.direction is None


def test_coarse_scan_is_flagged():
    coarse = vertebra_ct(SPEC, CTProtocol(spacing_mm=(1.0, 1.0, 2.0)))
    case = measure_case(_request(coarse[0], [BodySource("L1", mask=coarse[1])]))
    assert case.levels[0].row["qc_flags"] == "coarse_scan"
    assert case.flags[0].code == "coarse_scan" and "1.0×1.0×2.0 mm" in case.flags[0].message


def test_uniform_roi_gives_empty_values_and_a_flag(scan):
    """No voids (a uniform ROI, issue 14 item 6): NaN values are flagged, not silent."""
    ct, mask = scan
    flat = ct.with_array(np.where(mask.array, 200.0, -100.0).astype(np.float32))
    (level,) = measure_case(_request(flat, [BodySource("T11", mask=mask)])).levels
    assert np.isnan(level.row["focal_bmc_loss_mm"]) and level.row["void_coverage"] == 0.0
    assert level.row["qc_flags"] == "no_voids"


def test_too_little_trabecular_bone_is_flagged(scan):
    ct, mask = scan
    params = FocalParameters(angle_step_deg=30.0, erosion_mm=9.0)
    (level,) = measure_case(_request(ct, [BodySource("T11", mask=mask)], params=params)).levels
    assert level.row["roi_volume_ml"] < 1.0 and "roi_small" in level.row["qc_flags"]


def test_memory_guard_refuses_before_allocating(scan, monkeypatch):
    """--spacing-mm 0.005 asked for 106 GiB; now the estimate is refused up front."""
    ct, mask = scan
    params = FocalParameters(spacing_mm=0.02, angle_step_deg=90.0)
    with pytest.raises(InputError, match=r"needs about [\d.]+ GiB of memory"):
        measure_case(_request(ct, [BodySource("T11", mask=mask)], params=params))
    monkeypatch.setenv("OSTEO_MEMORY_LIMIT_GB", "0.001")
    with pytest.raises(InputError, match=r"of memory but 1\.0 MiB is available"):
        measure_case(_request(ct, [BodySource("T11", mask=mask)]))


def test_levels_must_be_distinct_and_named_safely(scan):
    ct, mask = scan
    with pytest.raises(InputError, match="same level name"):
        _request(ct, [BodySource("L1", mask=mask), BodySource("l1", mask=mask)])
    with pytest.raises(InputError, match="may hold only letters"):
        BodySource(mask=mask, tag="../victim")
    with pytest.raises(InputError, match="one of: a seed point"):
        BodySource("L1")


# -- files ---------------------------------------------------------------------------------
def test_case_files_values_and_exact_geometry(tmp_path, scan):
    from scipy.ndimage import map_coordinates

    from osteoimaging.imageio import read_image

    ct, mask = scan
    case = measure_case(_request(ct, [BodySource("T11", mask=mask)], calibration=CAL))
    paths = write_case_outputs(case, tmp_path)
    (level,) = case.levels
    folder = tmp_path / "T11"
    for name in ("focal_bmc_loss", "focal_bmd_loss", "intercept_width", "coverage", "bmd"):
        assert (folder / "maps" / f"{name}.nrrd").exists()
    assert (folder / "overlay.png").stat().st_size > 10_000
    record = json.loads((folder / "results.json").read_text())
    assert record["row"] == json.loads(json.dumps(level.row))
    for key in ("parameters", "software_version", "input_sha256", "runtime_s", "flags"):
        assert key in record, key
    [row] = read_table(paths["results_csv"])
    assert list(row)[: len(COLUMNS)] == list(COLUMNS)
    assert float(row["focal_bmc_loss_mm"]) == level.row["focal_bmc_loss_mm"]  # exact
    html = paths["report"].read_text()
    assert f"{level.row['focal_bmc_loss_mm']:.3f}" in html and "Li C" in html
    assert html.count("data:image/png;base64,") == 3  # overlay + two sub-region grids
    assert not list(tmp_path.rglob("*.part*"))
    # A physical point has the same value in the CT (calibrated, interpolated) and the map.
    bmd_map = read_image(folder / "maps" / "bmd.nrrd")
    assert bmd_map.same_geometry(level.focal.roi)
    roi = read_image(folder / "roi.nrrd").array > 0
    for kji in np.argwhere(roi)[:: max(1, roi.sum() // 50)]:
        point = bmd_map.index_to_physical(kji[::-1].astype(float))
        ijk = ct.physical_to_index(point)
        hu = map_coordinates(ct.array.astype(float), ijk[::-1, None], order=1)[0]
        assert bmd_map.array[tuple(kji)] == pytest.approx(CAL.apply(hu), abs=1e-2)
    body = read_image(folder / "body.nrrd")
    assert body.same_geometry(ct) and np.array_equal(body.array > 0, mask.array)
