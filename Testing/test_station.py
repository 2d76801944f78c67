"""The browser station's parts that need no browser: path safety, series and profile
listing with opaque ids, the level logic, the calibration choice, the scene-side session
(on a real headless Slicer scene), the page's row and the ``osteo station`` command."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys

import numpy as np
import pytest

from osteoimaging.errors import InputError
from osteoimaging.imageio import write_image
from osteoimaging.volume import Volume

pytest.importorskip("slicer", reason="slicer-core not installed (pip install .[station])")


def _ct(shape=(24, 32, 32), spacing=(2.0, 1.0, 1.0), value=40) -> Volume:
    array = np.full(shape, value, np.int16)
    array[:, :4, :] = -1000  # some air, so the CT passes the HU plausibility check
    array[8:16, 10:22, 10:22] = 600
    return Volume(array=array, spacing=spacing, origin=(0.0, 0.0, 0.0), direction=np.eye(3))


@pytest.fixture
def data_dir(tmp_path):
    root = tmp_path / "data"
    (root / "case 1").mkdir(parents=True)
    write_image(_ct(), root / "case 1" / "ct.nrrd")
    write_image(_ct(), root / ".hidden.nrrd")
    (root / "notes.txt").write_text("not an image", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    write_image(_ct(), outside / "secret.nrrd")
    os.symlink(outside / "secret.nrrd", root / "link.nrrd")
    os.symlink(outside, root / "linked folder")
    return root


# -- paths ------------------------------------------------------------------------------


def test_safe_path_stays_under_the_data_folder(data_dir):
    from osteostation.paths import data_root, safe_path

    root = data_root(data_dir)
    assert safe_path(root, "case 1/ct.nrrd") == root / "case 1" / "ct.nrrd"
    assert safe_path(root, "case 1/../case 1/ct.nrrd") == root / "case 1" / "ct.nrrd"
    for bad in (
        "../outside/secret.nrrd",
        "case 1/../../outside/secret.nrrd",
        "/etc/passwd",
        str(data_dir.parent / "outside" / "secret.nrrd"),
        "link.nrrd",  # a symbolic link out of the folder
        "linked folder/secret.nrrd",
        "case 1/\x00ct.nrrd",
        "",
    ):
        with pytest.raises(InputError):
            safe_path(root, bad)
    with pytest.raises(InputError, match="does not exist"):
        data_root(data_dir / "missing")


# -- series and profiles -----------------------------------------------------------------


def test_series_listing_and_opaque_ids(data_dir):
    from osteostation.paths import data_root
    from osteostation.series import find_by_id, list_series, new_key, series_path

    root = data_root(data_dir)
    key = new_key()
    series = list_series(root, key)
    assert [s.relative for s in series] == ["case 1/ct.nrrd"]  # no hidden file, no link out
    (item,) = series
    assert item.kind == "file" and len(item.id) == 16
    assert "ct" not in item.id and "case" not in item.id
    assert list_series(root, key)[0].id == item.id  # stable within a run
    assert list_series(root, new_key())[0].id != item.id  # opaque across runs
    assert find_by_id(series, item.id, "series") is item
    with pytest.raises(InputError, match="unknown series"):
        find_by_id(series, "../../etc/passwd", "series")
    assert series_path(root, item) == root / "case 1" / "ct.nrrd"


@pytest.mark.shared_data
def test_dicom_folder_is_one_series_without_uid_in_its_id_or_label(shared_data, tmp_path):
    from osteostation.paths import data_root
    from osteostation.series import list_series, new_key

    source = shared_data("ct/totalseg-dicom/series")
    root = tmp_path / "data"
    shutil.copytree(source, root / "study" / "ct")
    (series,) = list_series(data_root(root), new_key())
    assert series.kind == "dicom" and series.images == 20 and series.modality == "CT"
    assert series.relative == "study/ct"
    assert series.series_uid is not None  # kept server-side to read the series
    assert "1.3.12" not in series.id + series.label  # no DICOM UID in what the page gets
    assert series.label == "study/ct/ (CT, 20 images)"


def test_profiles_are_listed_and_resolved(data_dir):
    from osteoimaging.calibration.presets import load_preset
    from osteoimaging.calibration.profile import profile_from_preset, save_profile
    from osteostation.calibration import calibration_choice
    from osteostation.paths import data_root
    from osteostation.series import list_profiles, new_key

    preset = load_preset("qrm_bdc_6")
    hu = (np.array(preset.densities) + 5.0) / 0.8
    save_profile(profile_from_preset("scanA", preset, [hu]), data_dir / "case 1" / "scanA.json")
    (data_dir / "other.json").write_text('{"format": "something else"}', encoding="utf-8")
    root = data_root(data_dir)
    (profile,) = list_profiles(root, new_key())
    assert profile.relative == "case 1/scanA.json"
    choice = calibration_choice("profile", profile_path=root / profile.relative)
    assert choice.calibration.source == "profile:scanA"
    assert choice.calibration.slope == pytest.approx(0.8) and choice.material is None


# -- levels ------------------------------------------------------------------------------


def test_next_level_logic():
    from osteostation.levels import level_after, level_for_click, next_level, previous_level

    assert next_level(None) == "L1" and next_level("L1") == "L2" and next_level("T12") == "L1"
    assert next_level("L5") is None
    assert previous_level("L1") == "T12" and previous_level("T11") is None
    assert level_for_click("l3", "L1") == "L3"  # the reader's choice wins
    assert level_for_click(None, "L1") == "L2"  # else the one after the previous
    assert level_for_click("", None) == "L1"
    with pytest.raises(InputError, match="last level"):
        level_for_click(None, "L5")
    with pytest.raises(InputError, match="must be one of"):
        level_for_click("C3", None)
    assert level_after("L1") == "L2" and level_after("L5") == "L5"


# -- calibration -------------------------------------------------------------------------


def test_calibration_choice():
    from osteostation.calibration import calibration_choice

    none = calibration_choice("none")
    assert none.calibration is None and none.material is None
    manual = calibration_choice("manual", "0.8", "-5", None)
    assert (manual.calibration.slope, manual.calibration.intercept) == (0.8, -5.0)
    assert manual.calibration.source == "manual" and manual.material == "HA"
    assert calibration_choice("manual", 1, 0, "k2hpo4").material == "K2HPO4"
    for args, problem in (
        (("manual", "0.8", ""), "both the slope and the intercept"),
        (("manual", "x", "1"), "not a number"),
        (("manual", "-1", "0"), "slope must be positive"),
        (("manual", "nan", "0"), "finite"),
        (("manual", 1, 0, "bone"), "unknown calibration material"),
        (("profile",), "choose a calibration profile"),
        (("phantom",), "must be one of"),
    ):
        with pytest.raises(InputError, match=problem):
            calibration_choice(*args)


# -- the session on a real headless scene -----------------------------------------------


def test_session_loads_series_and_places_seeds(data_dir, slicer_app, tmp_path):
    from osteostation.session import CT_NODE_NAME, StationSession

    session = StationSession(data_dir, slicer_app.scene, output_dir=tmp_path / "out")
    (series,) = session.series
    node = session.load(series.id)
    assert node.GetName() == CT_NODE_NAME  # never the file name
    assert session.ct_volume.shape == (24, 32, 32)
    seed = session.seed_node("l1", (-15.0, -15.0, 24.0))
    assert seed.GetName() == "L1 seed" and seed.GetNumberOfControlPoints() == 1
    again = session.seed_node("L1", (-14.0, -15.0, 24.0))
    assert slicer_app.scene.GetNodesByName("L1 seed").GetNumberOfItems() == 1
    assert again.GetNthControlPointLabel(0) == "L1"
    with pytest.raises(InputError, match="unknown series"):
        session.load("0123456789abcdef")
    with pytest.raises(InputError, match="measure a vertebra"):
        session.save_report()
    with pytest.raises(InputError, match="DICOM series"):
        session.export_dicom()
    # Loading again replaces the CT and its nodes.
    session.load(series.id)
    assert slicer_app.scene.GetNodesByName("L1 seed").GetNumberOfItems() == 0
    assert slicer_app.scene.GetNodesByName(CT_NODE_NAME).GetNumberOfItems() == 1


def test_session_refuses_a_label_map_like_the_cli(tmp_path, slicer_app):
    from osteostation.session import StationSession

    labels = _ct()
    labels = labels.with_array((labels.array > 100).astype(np.uint8))
    write_image(labels, tmp_path / "data" / "labels.nrrd")
    session = StationSession(tmp_path / "data", slicer_app.scene, output_dir=tmp_path / "out")
    with pytest.raises(InputError, match="not a CT"):
        session.load(session.series[0].id)
    assert session.ct_node is None


def test_neighbour_target_steps_one_body_and_a_disc(data_dir, slicer_app, tmp_path):
    from types import SimpleNamespace

    from osteostation.session import DISC_FRACTION, Measured, StationSession

    session = StationSession(data_dir, slicer_app.scene, output_dir=tmp_path / "out")
    with pytest.raises(InputError, match="no level above"):
        session.neighbour_target("T11", -1)
    assert session.neighbour_target("L1", +1) == ("L2", None)  # nothing measured yet
    run = SimpleNamespace(level="L1")
    session.measured["L1"] = Measured("L1", (1.0, 2.0, 300.0), run, (290.0, 320.0))
    session.last_level = "L1"
    level, ras = session.neighbour_target("L1", +1)
    assert level == "L2" and ras == pytest.approx((1.0, 2.0, 300.0 - 30.0 * (1 + DISC_FRACTION)))
    level, ras = session.neighbour_target("L1", -1)
    assert level == "T12" and ras[2] > 300.0
    session.measured["L2"] = Measured("L2", (1.0, 5.0, 260.0), run, (250.0, 275.0))
    assert session.neighbour_target("L1", +1) == ("L2", (1.0, 5.0, 260.0))  # its own seed


def test_superior_inferior_extent_of_a_body():
    from osteostation.session import superior_inferior_extent

    body = _ct(spacing=(1.0, 1.0, 2.0)).with_array(np.zeros((24, 32, 32), bool))
    body.array[5:9, 10:12, 10:12] = True
    assert superior_inferior_extent(body) == (10.0, 16.0)  # slices 5..8 at 2 mm


# -- the page's row and messages ---------------------------------------------------------


def test_row_state_keeps_exact_values():
    pytest.importorskip("trame_slicer", reason="the station extra is not installed")
    from osteostation.app import _message, row_state

    row = {
        "level": "L1",
        "source": "GrowCut from RAS (1.0, 2.0, 3.0)",
        "qc": "flagged",
        "qc_flags": "coarse_scan",
        "focal_bmc_loss_mm": 3.9078568874707424,
        "focal_bmd_loss": math.nan,
        "trabecular_bmd": 132.05,
        "bmd_units": "HU",
        "roi_voxels": 252016,
    }
    state = row_state(row, (-6.75, 121.85962524414063, 385.30175781))
    assert state["values"]["focal_bmc_loss_mm"] == "3.9078568874707424"
    assert float(state["values"]["focal_bmc_loss_mm"]) == row["focal_bmc_loss_mm"]
    assert state["cells"]["focal_bmc_loss_mm"] == "3.908"
    assert state["cells"]["focal_bmd_loss"] == "–" and state["values"]["focal_bmd_loss"] == "NaN"
    assert state["cells"]["qc"] == "flagged: coarse_scan"
    assert state["cells"]["trabecular_bmd"] == "132.1 HU"
    assert json.loads(state["seed"]) == [-6.75, 121.85962524414063, 385.30175781]
    back = json.loads(state["json"])
    assert back["focal_bmc_loss_mm"] == row["focal_bmc_loss_mm"] and math.isnan(
        back["focal_bmd_loss"]
    )
    root = "/srv/data"
    error = InputError("file truncated", "/srv/data/patient x/ct.nii.gz")
    assert _message(error, root) == "patient x/ct.nii.gz: file truncated"


# -- the command -------------------------------------------------------------------------


def test_station_command_without_the_extra(monkeypatch, tmp_path, capsys):
    """A core install: one line naming the extra, exit code 2."""
    from osteoimaging.cli.main import main

    monkeypatch.setitem(sys.modules, "osteostation.app", None)  # import fails like no trame
    assert main(["station", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'station' extra" in err[0] and "osteoimaging[station]" in err[0]


def test_station_command_checks_its_arguments(tmp_path, capsys):
    pytest.importorskip("trame_slicer", reason="the station extra is not installed")
    from osteoimaging.cli.main import main

    assert main(["station", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["station", str(tmp_path), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def test_station_reads_no_patient_field():
    """Nothing in the station names DICOM patient attributes (it lists modality and the
    number of images only; DICOM export goes through osteoimaging.dicom)."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "osteostation"
    tags = ("0010|0010", "0010|0020", "0010|0030", "PatientName", "PatientID", "BirthDate")
    bad = [
        f"{path.name} mentions {tag}"
        for path in sorted(package.rglob("*.py"))
        for tag in tags
        if tag in path.read_text(encoding="utf-8")
    ]
    assert not bad


def _write_ct_as_dicom(volume: Volume, folder) -> None:
    """``volume`` (int16-safe HU) as a CT DICOM series, one file per slice (SimpleITK)."""
    import SimpleITK as sitk

    from osteoimaging.imageio import keep_locale

    folder.mkdir(parents=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    d = volume.direction
    orientation = "\\".join(f"{v:g}" for v in (*d[:, 0], *d[:, 1]))
    for k in range(volume.shape[0]):
        image = sitk.GetImageFromArray(volume.array[k].astype(np.int16))
        image.SetSpacing(volume.spacing[:2])
        position = volume.index_to_physical(np.array([0.0, 0.0, k]))
        for tag, value in {
            "0008|0016": "1.2.840.10008.5.1.4.1.1.2",
            "0008|0018": f"1.2.826.0.1.3680043.10.999.3.{k + 1}",
            "0008|0060": "CT",
            "0010|0010": "Station^Test",
            "0010|0020": "STATION-TEST-ID",
            "0020|000d": "1.2.826.0.1.3680043.10.999.1",
            "0020|000e": "1.2.826.0.1.3680043.10.999.2",
            "0020|0013": str(k + 1),
            "0020|0032": "\\".join(f"{v:.6f}" for v in position),
            "0020|0037": orientation,
            "0028|0030": f"{volume.spacing[1]:g}\\{volume.spacing[0]:g}",
            "0018|0050": f"{volume.spacing[2]:g}",
            "0028|1052": "0",
            "0028|1053": "1",
        }.items():
            image.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{k:03d}.dcm"))
        with keep_locale():
            writer.Execute(image)


@pytest.mark.slow
@pytest.mark.shared_data
def test_dicom_series_click_report_and_export(shared_data, slicer_app, tmp_path):
    """The example CT as a DICOM series: a click in L1 through run_focal, then the study
    report and the DICOM export (SEG, Parametric Maps, SR) the page's buttons call."""
    import zipfile

    pytest.importorskip("highdicom", reason="DICOM export needs the dicom extra")
    import pydicom

    from osteoimaging.imageio import read_image
    from osteostation.calibration import calibration_choice
    from osteostation.session import StationSession

    ct = read_image(shared_data("ct/totalseg-example/example_ct.nii.gz"))
    _write_ct_as_dicom(ct, tmp_path / "data" / "study" / "ct")
    session = StationSession(tmp_path / "data", slicer_app.scene, output_dir=tmp_path / "out")
    (series,) = session.series
    assert series.kind == "dicom" and series.images == ct.shape[0]
    session.load(series.id)
    np.testing.assert_allclose(session.ct_volume.origin, ct.origin, atol=1e-4)
    seed = (-6.75, 121.86, 385.30)  # the middle of L1's body (see the browser test)
    node = session.seed_node("L1", seed)
    session.prepare()
    run = session.measure("L1", node, calibration_choice("none"))
    session.record(run, seed)
    assert run.row["level"] == "L1" and run.row["roi_voxels"] > 100_000

    _, report = session.save_report()
    assert report.parent.parent == tmp_path / "out" and "L1" in report.read_text("utf-8")
    _, archive = session.export_dicom(deidentify=True)
    with zipfile.ZipFile(archive) as zf:
        names = sorted(zf.namelist())
        assert "seg.dcm" in names and "sr.dcm" in names
        assert any(n.startswith("pm_L1_focal_bmc_loss") for n in names)
        zf.extract("seg.dcm", tmp_path)
    seg = pydicom.dcmread(tmp_path / "seg.dcm", stop_before_pixels=True)
    assert seg.Modality == "SEG"
    assert "STATION-TEST-ID" not in str(seg.PatientID) and "Station" not in str(seg.PatientName)
    assert not list((tmp_path / "data").rglob("*.zip"))  # nothing written into DATA_DIR
