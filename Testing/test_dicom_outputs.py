"""DICOM SEG / Parametric Map / TID 1500 SR outputs, round-tripped on a real CT series.

Data: TotalSegmentator test files (Apache-2.0), ../shared/data/ct/totalseg-dicom — a real
Siemens CT series (512×512×20, 0.977×0.977×2 mm; its Study/Series/SOP Instance UIDs are
blank, as anonymised) and TotalSegmentator v2 labels on it (32 = T12, 33 = T11).
Maps are synthetic: a known float32 field on oblique 0.4 mm grids, NaN outside an ROI.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
import pytest
import SimpleITK as sitk
from conftest import shared_path
from scipy.spatial.transform import Rotation

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

hd = pytest.importorskip("highdicom", reason="highdicom not installed (pip install .[dicom])")
pydicom = pytest.importorskip("pydicom")

pytestmark = pytest.mark.shared_data

SERIES = "ct/totalseg-dicom/series"
LABELS = "ct/totalseg-dicom/example_seg_dicom.nii.gz"
IDENTITY = {  # injected into the source headers: the real series carries none
    "PatientName": "Doe^Jane",
    "PatientID": "PID-0042-XYZ",
    "PatientBirthDate": "19470321",
    "PatientSex": "F",
    "AccessionNumber": "ACC-777123",
    "StudyID": "STUDY-9",
    "ReferringPhysicianName": "Referrer^Rita",
    "InstitutionName": "Hospital of Testing",
    "StudyDescription": "CT thorax-abdomen",
}
COPIED = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate"]
COPIED += ["StudyTime", "AccessionNumber", "StudyID", "ReferringPhysicianName"]
MEASUREMENTS = {
    "T12": {
        "trabecular_bmd": (118.734512348, "mg/cm3 HA"),
        "focal_bmc_loss": (0.412345678912, "mm"),
        "focal_bmd_loss": (0.0734219, "fraction"),
        "intercept_width": (1.9876543, "mm"),
        "roi_volume": (7.123, "mL"),
    },
    "T11": {  # uncalibrated: BMD in HU; a NaN value
        "trabecular_bmd": (171.25, "HU (uncalibrated)"),
        "focal_bmc_loss": (math.nan, "mm"),
        "intercept_width": (2.5, "mm"),
        "roi_volume": (5.5, "mL"),
    },
}
FLAGS = {"T12": [], "T11": ["low void coverage: 12% of ROI voxels", "partial volume"]}


def _field(grid: Volume, roi: np.ndarray, offset: float) -> np.ndarray:
    """A known float field (non-round float32 values) with NaN outside ``roi``."""
    k, j, i = np.indices(grid.shape)
    p = grid.index_to_physical(np.stack([i, j, k], axis=-1))
    f = (offset + np.sin(p[..., 0] / 3.7) + 0.01 * p[..., 1] - 1e-3 * p[..., 2]).astype(np.float32)
    f[~roi] = np.nan
    return f


def _oblique_grid(body: Volume, direction: np.ndarray, spacing=0.4, size_mm=24.0) -> Volume:
    centre = body.index_to_physical(np.argwhere(body.array).mean(axis=0)[::-1])
    n = round(size_mm / spacing)
    shape = (n * 2 // 3, n, n + 4)  # k, j, i: three different sizes
    origin = centre - direction @ (np.asarray(shape[::-1]) * spacing / 2)
    return Volume(np.zeros(shape, np.float32), (spacing,) * 3, tuple(origin), direction)


def _level(name: str, body: Volume, direction: np.ndarray, offset: float):
    from osteoimaging.dicom import LevelOutputs, roi_on_ct_grid

    grid = _oblique_grid(body, direction)
    k, j, i = np.indices(grid.shape)
    p = grid.index_to_physical(np.stack([i, j, k], axis=-1))
    centre = grid.index_to_physical((np.asarray(grid.size, float) - 1) / 2)
    roi = np.linalg.norm(p - centre, axis=-1) < 8.0
    units = {"focal_bmc_loss": "mm", "focal_bmd_loss": "fraction", "intercept_width": "mm"}
    units["bmd"] = "mg/cm3 HA" if name == "T12" else "HU (uncalibrated)"
    maps = {
        m: grid.with_array(_field(grid, roi, offset + n), units=u)
        for n, (m, u) in enumerate(units.items())
    }
    return LevelOutputs(
        level=name,
        body=body,
        roi=roi_on_ct_grid(grid.with_array(roi), body),
        maps=maps,
        measurements=MEASUREMENTS[name],
        flags=FLAGS[name],
        calibration="BMD = 0.8 × HU + 3 mg/cm3 (test)" if name == "T12" else "none",
        parameters={"erosion_mm": 6.0, "spacing_mm": 0.4},
    )


@pytest.fixture(scope="module")
def real_source():
    from osteoimaging.dicom import read_dicom_source

    return read_dicom_source(shared_path(SERIES))


@pytest.fixture(scope="module")
def source(real_source):
    """The real series with a (fake) patient identity in its headers."""
    datasets = []
    for ds in real_source.datasets:
        ds = copy.deepcopy(ds)
        for keyword, value in IDENTITY.items():
            setattr(ds, keyword, value)
        datasets.append(ds)
    return replace(real_source, datasets=datasets)


@pytest.fixture(scope="module")
def levels(source):
    from osteoimaging.imageio import read_image

    labels = read_image(shared_path(LABELS))
    ct = source.volume
    on_ct = sitk.Resample(
        labels.to_sitk(), ct.to_sitk(), sitk.Transform(), sitk.sitkNearestNeighbor, 0
    )
    labels_ct = sitk.GetArrayFromImage(on_ct)
    for value in (32, 33):  # the label grid is the CT grid flipped in j: no voxel is lost
        assert (labels_ct == value).sum() == (labels.array == value).sum() > 1000
    right = Rotation.from_euler("xyz", (14.0, -9.0, 27.0), degrees=True).as_matrix()
    left = right @ np.diag([1.0, 1.0, -1.0])  # a left-handed grid: k axis reversed
    return [
        _level("T12", ct.with_array(labels_ct == 32), right, 10.0),
        _level("T11", ct.with_array(labels_ct == 33), left, 20.0),
    ]


@pytest.fixture(scope="module")
def written(source, levels, tmp_path_factory):
    from osteoimaging.dicom import write_case_dicom

    out = tmp_path_factory.mktemp("dicom")
    return write_case_dicom(source, levels, out, series_description="Test")


def _read(path):
    return pydicom.dcmread(path)


# -- source -----------------------------------------------------------------------------
def test_source_headers_are_the_volume_slices(real_source):
    from osteoimaging.dicom.source import geometry_deviation

    assert len(real_source.datasets) == real_source.volume.shape[0] == 20
    pos, ori, spc = geometry_deviation(real_source.datasets, real_source.volume)
    assert pos < 1e-9 and ori == 0.0 and spc == 0.0
    # SOP Instance UIDs are blank in the headers: taken from the file meta information.
    for ds, path in zip(real_source.datasets, real_source.files, strict=True):
        assert ds.SOPInstanceUID == pydicom.dcmread(path).file_meta.MediaStorageSOPInstanceUID
    assert any("StudyInstanceUID missing" in r for r in real_source.repairs)
    assert pydicom.uid.UID(real_source.study_uid).is_valid


def test_source_rejects_a_volume_of_another_geometry(real_source):
    from osteoimaging.dicom import read_dicom_source

    ct = real_source.volume
    shifted = replace(ct, origin=(ct.origin[0] + 0.5, *ct.origin[1:]))
    with pytest.raises(InputError, match="geometry differs"):
        read_dicom_source(real_source.folder, volume=shifted)


# -- SEG --------------------------------------------------------------------------------
def test_seg_decodes_to_exactly_our_masks(written, source, levels):
    from osteoimaging.dicom import read_segmentation

    masks = read_segmentation(written["seg"], source)
    assert list(masks) == [
        "T12 vertebral body",
        "T12 trabecular ROI",
        "T11 vertebral body",
        "T11 trabecular ROI",
    ]
    for lv in levels:
        for kind, ours in (("vertebral body", lv.body), ("trabecular ROI", lv.roi)):
            back = masks[f"{lv.level} {kind}"]
            assert back.same_geometry(source.volume, tol=1e-12)
            a, b = back.array, ours.array.astype(bool)
            dice = 2 * (a & b).sum() / (a.sum() + b.sum())
            assert dice == 1.0 and np.array_equal(a, b), (lv.level, kind)


def test_seg_codes_and_tracking(written):
    seg = hd.seg.segread(str(written["seg"]))
    items = {str(s.SegmentLabel): s for s in seg.SegmentSequence}
    body, roi = items["T12 vertebral body"], items["T11 trabecular ROI"]
    assert body.SegmentedPropertyCategoryCodeSequence[0].CodeValue == "91723000"
    assert body.SegmentedPropertyTypeCodeSequence[0].CodeValue == "3572006"
    assert body.AnatomicRegionSequence[0].CodeValue == "23215003"  # T12 vertebra
    assert roi.AnatomicRegionSequence[0].CodeValue == "12989004"  # T11 vertebra
    assert roi.SegmentedPropertyTypeCodeSequence[0].CodeValue == "3138006"
    assert (body.SegmentAlgorithmType, roi.SegmentAlgorithmType) == ("SEMIAUTOMATIC", "AUTOMATIC")
    assert len({str(s.TrackingUID) for s in seg.SegmentSequence}) == 4
    assert seg.SegmentationType == "BINARY"


def test_seg_volume_lands_on_the_ct_grid(written, source, levels):
    """highdicom's own volume of a segment is a block of the CT grid holding our mask."""
    from osteoimaging.dicom.grid import from_highdicom

    seg = hd.seg.segread(str(written["seg"]))
    ct = source.volume
    for number, mask in ((1, levels[0].body), (4, levels[1].roi)):
        vol = from_highdicom(seg.get_volume(segment_numbers=[number], combine_segments=True))
        if vol.direction[:, 2] @ ct.direction[:, 2] < 0:  # highdicom stacks frames top-down
            vol = _flip_k(vol)
        assert np.allclose(vol.spacing, ct.spacing, atol=1e-9)
        assert np.allclose(vol.direction, ct.direction, atol=1e-12)
        start = ct.physical_to_index(np.asarray(vol.origin))
        assert np.allclose(start, np.round(start), atol=1e-6)
        i, j, k = (int(v) for v in np.round(start))
        nk, nj, ni = vol.shape
        block = mask.array[k : k + nk, j : j + nj, i : i + ni]
        assert np.array_equal(vol.array > 0, block)
        assert block.sum() == mask.array.sum()  # the block holds all of the mask


def _flip_k(vol: Volume) -> Volume:
    """The same voxels with the k axis reversed."""
    last = vol.index_to_physical(np.array([0.0, 0.0, vol.shape[0] - 1.0]))
    return Volume(vol.array[::-1], vol.spacing, tuple(last), vol.direction @ np.diag([1, 1, -1]))


# -- Parametric Maps --------------------------------------------------------------------
def test_parametric_maps_are_float_exact_on_their_oblique_grids(written, levels):
    from osteoimaging.dicom import read_parametric_map

    for lv in levels:
        for name, ours in lv.maps.items():
            path = written[f"pm_{lv.level}_{name}"]
            back = read_parametric_map(path)
            # a left-handed grid comes back ordered along the plane normal
            expected = _flip_k(ours) if np.linalg.det(ours.direction) < 0 else ours
            assert back.array.dtype == np.float32
            assert np.array_equal(back.array, expected.array, equal_nan=True), path.name
            assert np.isnan(back.array).sum() == np.isnan(ours.array).sum() > 0
            assert back.same_geometry(expected, tol=1e-9), path.name
            ds = _read(path)
            assert "FloatPixelData" in ds
            # frames ascend along the plane normal, as dcmqi (Slicer's PM reader) stacks them
            cosines = np.asarray(
                ds.SharedFunctionalGroupsSequence[0]
                .PlaneOrientationSequence[0]
                .ImageOrientationPatient,
                float,
            )
            normal = np.cross(cosines[:3], cosines[3:])
            positions = [
                f.PlanePositionSequence[0].ImagePositionPatient
                for f in ds.PerFrameFunctionalGroupsSequence
            ]
            assert np.all(np.diff(np.asarray(positions, float) @ normal) > 0), path.name


def test_highdicom_decodes_the_parametric_maps_alike(written):
    """highdicom's own decoder (≥ 0.28; 0.27's get_volume fails on float pixel data for
    want of Pixel Representation) gives the same voxels and grid as ours."""
    from osteoimaging.dicom import read_parametric_map
    from osteoimaging.dicom.grid import from_highdicom

    if tuple(int(v) for v in hd.__version__.split(".")[:2]) < (0, 28):
        pytest.skip(f"highdicom {hd.__version__} cannot decode float Parametric Maps")
    for key in ("pm_T12_focal_bmc_loss", "pm_T11_bmd"):
        image = hd.imread(str(written[key]))
        theirs = from_highdicom(
            image.get_volume(apply_real_world_transform=False, dtype=np.float32)
        )
        ours = read_parametric_map(written[key])
        if theirs.direction[:, 2] @ ours.direction[:, 2] < 0:
            theirs = _flip_k(theirs)
        assert theirs.same_geometry(ours, tol=1e-9), key
        assert np.array_equal(theirs.array, ours.array, equal_nan=True), key


def test_parametric_map_units_and_quantities(written):
    units = {
        "pm_T12_focal_bmc_loss": ("mm", "FBMCL"),
        "pm_T12_focal_bmd_loss": ("{ratio}", "FBMDL"),
        "pm_T12_intercept_width": ("mm", "IW"),
        "pm_T12_bmd": ("mg/cm3", "VBMD"),
        "pm_T11_bmd": ("[hnsf'U]", "112031"),
    }
    for key, (unit, quantity) in units.items():
        ds = _read(written[key])
        mapping = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
        assert mapping.MeasurementUnitsCodeSequence[0].CodingSchemeDesignator == "UCUM"
        assert mapping.MeasurementUnitsCodeSequence[0].CodeValue == unit
        assert mapping.QuantityDefinitionSequence[0].ConceptCodeSequence[0].CodeValue == quantity
        assert (float(mapping.RealWorldValueSlope), float(mapping.RealWorldValueIntercept)) == (
            1.0,
            0.0,
        )
        values = ds.pixel_array
        lo, hi = np.nanmin(values), np.nanmax(values)
        assert (
            mapping.DoubleFloatRealWorldValueFirstValueMapped,
            mapping.DoubleFloatRealWorldValueLastValueMapped,
        ) == (lo, hi)


# -- SR ---------------------------------------------------------------------------------
def test_sr_measurements_equal_the_inputs_and_reference_the_roi_segments(written):
    from osteoimaging.dicom import read_measurement_report

    report = read_measurement_report(written["sr"])
    seg = hd.seg.segread(str(written["seg"]))
    tracking = {str(s.SegmentLabel): str(s.TrackingUID) for s in seg.SegmentSequence}
    assert list(report) == ["T12 vertebral body", "T11 vertebral body"]
    for (level, expected), roi_number in zip(MEASUREMENTS.items(), (2, 4), strict=True):
        group = report[f"{level} vertebral body"]
        assert group["segment"] == (str(seg.SOPInstanceUID), roi_number)
        assert group["tracking_uid"] == tracking[f"{level} trabecular ROI"]
        assert group["flags"] == FLAGS[level]
        assert set(group["measurements"]) == set(expected)
        for name, (value, unit) in expected.items():
            back, back_unit = group["measurements"][name]
            if math.isnan(value):
                assert math.isnan(back) and back_unit is None
            else:
                assert back == value  # FloatingPointValue: exact
                assert back_unit == {"mg/cm3 HA": "mg/cm3", "fraction": "{ratio}"}.get(
                    unit, "[hnsf'U]" if unit.startswith("HU") else unit
                )


def test_sr_is_a_valid_tid1500_document(written, source):
    sr = hd.sr.srread(str(written["sr"]))
    assert isinstance(sr, hd.sr.Comprehensive3DSR)
    assert isinstance(sr.content, hd.sr.MeasurementReport)
    again = hd.sr.Comprehensive3DSR.from_dataset(_read(written["sr"]))
    assert again.SOPInstanceUID == sr.SOPInstanceUID
    groups = sr.content.get_volumetric_roi_measurement_groups()
    assert [g.finding_sites[0].value.value for g in groups] == ["23215003", "12989004"]
    texts: dict[str, list[str]] = {}
    for item in groups[0][0].ContentSequence:  # TID 4019 algorithm identification
        texts.setdefault(item.ConceptNameCodeSequence[0].CodeValue, []).append(
            str(item.get("TextValue", ""))
        )
    version = __import__("osteoimaging").__version__
    assert (texts["111001"], texts["111003"]) == (["OsteoImaging"], [version])
    assert any("calibration: BMD = 0.8" in p for p in texts["111002"])
    assert any("doi:10.1002/jsp2.1195" in p for p in texts["111002"])
    # the T11 BMD was uncalibrated: a mean attenuation coefficient in HU, not a density
    names = {m.name.value for m in groups[1].get_measurements()}
    assert "112031" in names and "TBMD" not in names
    evidence = {
        str(s.SeriesInstanceUID): {str(i.ReferencedSOPInstanceUID) for i in s.ReferencedSOPSequence}
        for st in sr.CurrentRequestedProcedureEvidenceSequence
        for s in st.ReferencedSeriesSequence
    }
    assert evidence[source.series_uid] == set(source.sop_instance_uids)
    assert str(hd.seg.segread(str(written["seg"])).SOPInstanceUID) in set().union(
        *evidence.values()
    )


# -- references, UIDs, patient and study ------------------------------------------------
def test_objects_reference_the_source_study_series_and_frame_of_reference(written, source):
    uids = set()
    for key, path in written.items():
        ds = _read(path)
        assert ds.SeriesDescription.startswith("Test "), key
        assert ds.StudyInstanceUID == source.study_uid, key
        assert ds.SeriesInstanceUID != source.series_uid
        uids |= {str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)}
        for uid in (ds.SeriesInstanceUID, ds.SOPInstanceUID):
            assert pydicom.uid.UID(str(uid)).is_valid
        if key != "sr":
            assert ds.FrameOfReferenceUID == source.frame_of_reference_uid, key
            (series,) = ds.ReferencedSeriesSequence
            assert series.SeriesInstanceUID == source.series_uid
            refs = {str(i.ReferencedSOPInstanceUID) for i in series.ReferencedInstanceSequence}
            assert refs == set(source.sop_instance_uids)
    assert len(uids) == 2 * len(written)  # every series and instance UID is new


def test_patient_and_study_are_copied_from_the_source(written, source):
    expected = {k: str(source.datasets[0].get(k, "")) for k in COPIED}
    assert expected["PatientName"] == IDENTITY["PatientName"]
    for key, path in written.items():
        ds = _read(path)
        assert {k: str(ds.get(k, "")) for k in COPIED} == expected, key


def _strings(ds):
    for elem in ds.iterall():
        if elem.VR != "SQ" and elem.value is not None:
            values = elem.value if elem.VM > 1 else [elem.value]
            yield from (str(v) for v in values)


def test_deidentified_objects_carry_no_source_identity(source, levels, tmp_path):
    from osteoimaging.dicom import write_case_dicom

    paths = write_case_dicom(
        source, levels[:1], tmp_path, deidentify=True, patient_id="STUDY-P-001"
    )
    secrets = set(IDENTITY.values()) - {"F"} | {"20221208"}  # study/series/acquisition date
    for key, path in paths.items():
        ds = _read(path)
        assert (ds.PatientName.family_name, ds.PatientID) == ("STUDY-P-001", "STUDY-P-001"), key
        assert ds.PatientBirthDate == "" and ds.StudyDate == "" and ds.AccessionNumber == ""
        assert ds.PatientSex == "F"  # Retain Patient Characteristics Option
        assert ds.PatientIdentityRemoved == "YES"
        methods = {c.CodeValue for c in ds.DeidentificationMethodCodeSequence}
        assert methods == {"113100", "113110", "113108"}
        leaked = {s for s in _strings(ds) for secret in secrets if secret in s}
        assert not leaked, (key, leaked)
        assert ds.StudyInstanceUID == source.study_uid  # UIDs retained: still on the CT
    # the source itself is untouched
    assert str(source.datasets[0].PatientName) == IDENTITY["PatientName"]


def test_deidentification_can_shift_dates(source, levels, tmp_path):
    from osteoimaging.dicom import write_case_dicom

    paths = write_case_dicom(source, levels[:1], tmp_path, deidentify=True, date_shift_days=-100)
    ds = _read(paths["seg"])
    assert ds.StudyDate == "20220830"  # 2022-12-08 − 100 days
    assert ds.PatientID.startswith("OI-") and ds.PatientName.family_name == ds.PatientID
    assert "113107" in {c.CodeValue for c in ds.DeidentificationMethodCodeSequence}


def test_file_names_carry_no_patient_data(written):
    names = sorted(p.name for p in written.values())
    expected = ["seg.dcm", "sr.dcm"] + [
        f"pm_{lv}_{m}.dcm"
        for lv in ("T11", "T12")
        for m in ("bmd", "focal_bmc_loss", "focal_bmd_loss", "intercept_width")
    ]
    assert names == sorted(expected)
    assert not [p for p in written.values() if any(v in p.name for v in IDENTITY.values())]


# -- bad input --------------------------------------------------------------------------
def test_bad_inputs_give_clear_errors_and_no_files(source, levels, tmp_path):
    from osteoimaging.dicom import LevelOutputs, write_case_dicom

    lv = levels[0]
    coarse = Volume(lv.roi.array[::2], (lv.roi.spacing[0], lv.roi.spacing[1], 4.0), lv.roi.origin)
    cases = [
        (replace(lv, roi=coarse), "not on the source CT grid.*roi_on_ct_grid"),
        (
            replace(lv, maps={"bmd": lv.maps["bmd"].with_array(lv.maps["bmd"].array, units="kg")}),
            "unit 'kg' has no UCUM code",
        ),
        (
            replace(
                lv,
                maps={
                    "bmd": lv.maps["bmd"].with_array(
                        np.full(lv.maps["bmd"].shape, np.nan, np.float32)
                    )
                },
            ),
            "no finite value",
        ),
        (replace(lv, body=lv.body.with_array(np.zeros(lv.body.shape, bool))), "mask is empty"),
    ]
    for level, message in cases:
        with pytest.raises(InputError, match=message):
            write_case_dicom(source, [level], tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    with pytest.raises(InputError, match="need deidentify=True"):
        write_case_dicom(source, [lv], tmp_path / "out", patient_id="X")
    with pytest.raises(InputError, match="unknown vertebral level"):
        LevelOutputs("L7", lv.body, lv.roi)
    with pytest.raises(InputError, match="appears twice"):
        write_case_dicom(source, [lv, lv], tmp_path / "out")


# -- Slicer -----------------------------------------------------------------------------
def test_seg_segments_land_on_the_ct_in_mrml(slicer_app, written, source):
    """Decoded segments put on the CT node through the bridge cover the same RAS voxels."""
    import vtk

    from osteoimaging.dicom import read_segmentation
    from osteoimaging.mrml.segmentations import (
        mask_to_segment,
        new_segmentation_node,
        segment_to_mask,
    )
    from osteoimaging.mrml.volumes import volume_to_node

    ct_node = volume_to_node(source.volume, slicer_app.scene, "CT")
    seg_node = new_segmentation_node(slicer_app.scene, "DICOM SEG", ct_node)
    ijk_to_ras = vtk.vtkMatrix4x4()
    ct_node.GetIJKToRASMatrix(ijk_to_ras)
    matrix = np.array([[ijk_to_ras.GetElement(r, c) for c in range(4)] for r in range(4)])
    for label, mask in read_segmentation(written["seg"], source).items():
        segment_id = mask_to_segment(mask, seg_node, label)
        back = segment_to_mask(seg_node, segment_id, ct_node)
        assert np.array_equal(back.array, mask.array), label
        kji = np.argwhere(back.array)
        ras = (np.c_[kji[:, ::-1], np.ones(len(kji))] @ matrix.T)[:, :3]
        lps = mask.index_to_physical(np.argwhere(mask.array)[:, ::-1])
        np.testing.assert_allclose(ras, lps * [-1.0, -1.0, 1.0], atol=1e-6)


def test_level_outputs_from_the_case_pipeline(tmp_path):
    """The adapter the CLI, batch and Slicer module use: a case level → LevelOutputs, with
    the row's values in the case's density units, its flags and how the body was made."""
    from focal_cases import vertebra_scan

    from osteoimaging.calibration import LinearCalibration
    from osteoimaging.case import BodySource, CaseRequest, measure_case
    from osteoimaging.dicom import level_outputs
    from osteoimaging.focal import FocalParameters

    ct, mask = vertebra_scan()
    labels = mask.with_array(mask.array.astype(np.uint8) * 20)
    case = measure_case(
        CaseRequest(
            ct,
            [BodySource("L1", label=20)],
            labels=labels,
            labels_name="labels.nii.gz",
            calibration=LinearCalibration.manual(0.8, 3.0),
            material="K2HPO4",
            params=FocalParameters(angle_step_deg=30.0),
        )
    )
    (level,) = case.levels
    out = level_outputs(level, case)
    row = level.row
    assert out.level == "L1" and out.flags == [str(f) for f in level.flags]
    assert out.measurements == {
        "focal_bmc_loss": (row["focal_bmc_loss_mm"], "mm"),
        "focal_bmd_loss": (row["focal_bmd_loss"], "{ratio}"),
        "intercept_width": (row["intercept_width_mm"], "mm"),
        "trabecular_bmd": (row["trabecular_bmd"], "mg/cm³ K2HPO4"),
        "void_coverage": (row["void_coverage"], "{ratio}"),
        "roi_volume": (row["roi_volume_ml"], "mL"),
    }
    assert set(out.maps) == {"focal_bmc_loss", "focal_bmd_loss", "intercept_width", "bmd"}
    assert out.body_algorithm == "AUTOMATIC" and out.body_algorithm_name == (
        "label 20 of labels.nii.gz"
    )
    assert "0.8 × HU + 3" in out.calibration and "K2HPO4" in out.calibration
    assert out.parameters == case.request.params.to_dict()
    assert out.roi.same_geometry(ct) and out.roi.array.sum() > 0
