"""Screening without torch: input geometry, the L1 rule, SMI, the synthetic cohort."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from osteoimaging.errors import InputError
from osteoimaging.screening import (
    PrepParams,
    l1_attenuation,
    l1_rule,
    map_to_ct,
    muscle_area_cm2,
    muscle_mask_threshold,
    prepare_input,
    smi,
)
from osteoimaging.volume import Volume


def _grid(shape=(40, 120, 120), spacing=(1.0, 1.0, 2.0), angle=0.0, value=-100.0):
    direction = Rotation.from_euler("z", angle, degrees=True).as_matrix()
    centre = (
        np.array(
            [(shape[2] - 1) * spacing[0], (shape[1] - 1) * spacing[1], (shape[0] - 1) * spacing[2]]
        )
        / 2
    )
    origin = np.array([5.0, -7.0, 100.0]) - direction @ centre
    return Volume(np.full(shape, value, np.float32), spacing, tuple(origin), direction)


def _points(vol: Volume) -> np.ndarray:
    k, j, i = np.indices(vol.shape)
    return vol.index_to_physical(np.stack([i, j, k], axis=-1).astype(float))


def test_preparation_geometry_known_answers():
    """A rotated, anisotropic CT: the body centroid lands in the input's centre and a marker
    30 mm to the patient's left and 15 mm posterior lands 20 columns right, 10 rows down."""
    ct = _grid(angle=30.0)
    pts = _points(ct)
    centre = np.array([5.0, -7.0, 100.0])
    rel = pts - centre
    body = (np.abs(rel[..., 0]) <= 10) & (np.abs(rel[..., 1]) <= 8) & (np.abs(rel[..., 2]) <= 12)
    marker = (np.abs(rel[..., 0] - 30) <= 3) & (np.abs(rel[..., 1] - 15) <= 3)
    marker &= np.abs(rel[..., 2]) <= 12
    arr = ct.array.copy()
    arr[body], arr[marker] = 200.0, 1000.0
    ct = ct.with_array(arr)
    params = PrepParams(size_px=64, pixel_mm=1.5, slab_mm=8.0, slab_step_mm=1.0)
    prep = prepare_input(ct, ct.with_array(body), params)
    assert prep.image.shape == (3, 64, 64)
    assert np.allclose(prep.centre_lps, centre, atol=0.6)
    c = 31.5
    assert prep.hu[31, 31] == pytest.approx(200.0, abs=1e-3)
    r, col = np.argwhere(prep.hu > 600).mean(axis=0)  # marker centre (a 4-pixel plateau)
    assert col == pytest.approx(c + 20, abs=0.3) and r == pytest.approx(c + 10, abs=0.3)
    # windows: 200 HU in the trabecular window (−50…450) is 0.5
    assert prep.image[1, 31, 31] == pytest.approx(0.5, abs=1e-6)
    assert prep.body.sum() == pytest.approx(20 * 16 / 1.5**2, rel=0.15)
    # a map with one hot pixel comes back on the CT grid at that physical point, NaN off-slab
    m = np.zeros((64, 64), np.float32)
    m[int(c + 10), int(c + 20)] = 1.0
    back = map_to_ct(m, prep.centre_lps, params, ct)
    assert np.isnan(back.array[np.abs(rel[..., 2]) > 5]).all()
    best = np.unravel_index(np.nanargmax(back.array), back.shape)
    p = pts[best] - np.asarray(prep.centre_lps)
    assert abs(p[0] - (int(c + 20) - c) * 1.5) < 1.5 and abs(p[1] - (int(c + 10) - c) * 1.5) < 1.5


def test_mask_must_share_the_grid():
    ct = _grid()
    with pytest.raises(InputError, match="not on the CT grid"):
        prepare_input(ct, _grid(shape=(40, 120, 119)).with_array(np.ones((40, 120, 119), bool)))


def _vertebra_box(trabecular_hu: float):
    """A 40×30×24 mm body: 2 mm shell of 800 HU around uniform trabecular bone."""
    ct = _grid(shape=(30, 80, 80), spacing=(0.8, 0.8, 1.5), angle=15.0)
    rel = _points(ct) - np.array([5.0, -7.0, 100.0])
    ax = np.abs(rel)
    body = (ax[..., 0] <= 20) & (ax[..., 1] <= 15) & (ax[..., 2] <= 12)
    inner = (ax[..., 0] <= 18) & (ax[..., 1] <= 13) & (ax[..., 2] <= 10)
    arr = ct.array.copy()
    arr[body], arr[inner] = 800.0, trabecular_hu
    return ct.with_array(arr), ct.with_array(body)


def test_l1_attenuation_and_pickhardt_thresholds():
    for hu, below110, below135 in ((95.0, 1, 1), (120.0, 0, 1), (150.0, 0, 0)):
        ct, body = _vertebra_box(hu)
        res = l1_attenuation(ct, body, erosion_mm=6.0)
        assert res["trabecular_hu"] == pytest.approx(hu, abs=1e-3)  # shell eroded away
        assert res["trabecular_sd_hu"] == pytest.approx(0.0, abs=1e-3)
        assert l1_rule(res["trabecular_hu"], 110) == below110
        assert l1_rule(res["trabecular_hu"], 135) == below135
    assert l1_rule([109.99, 110.0], 110).tolist() == [1, 0]  # strictly below
    with pytest.raises(InputError, match="too small"):
        l1_attenuation(ct, body, erosion_mm=20.0)


def _muscle_phantom(a=22.0, b=26.0):
    """Axial CT: fat, a 40×30 mm body, canal, two paraspinal ellipses of known area."""
    ct = _grid(shape=(5, 300, 300), spacing=(0.7, 0.7, 3.0), angle=0.0, value=-100.0)
    rel = _points(ct) - np.array([5.0, -7.0, 100.0])
    x, y = rel[..., 0], rel[..., 1]
    body = ((x / 20) ** 2 + (y / 15) ** 2 <= 1) & (np.abs(rel[..., 2]) <= 6)
    canal = x**2 + (y - 25) ** 2 <= 8**2
    ring = (x**2 + (y - 25) ** 2 <= 12**2) & ~canal
    para_y = 15 + 15 + b
    para = ((x - (a + 3)) / a) ** 2 + ((y - para_y) / b) ** 2 <= 1
    para |= ((x + (a + 3)) / a) ** 2 + ((y - para_y) / b) ** 2 <= 1
    arr = ct.array.copy()
    arr[body], arr[ring], arr[canal], arr[para] = 180.0, 600.0, 10.0, 50.0
    return ct.with_array(arr), ct.with_array(body), ct.with_array(para), 2 * math.pi * a * b / 100


def test_smi_on_a_phantom_with_known_muscle_area():
    ct, body, para, area = _muscle_phantom()
    given = muscle_area_cm2(ct, para, body)
    assert given["muscle_area_cm2"] == pytest.approx(area, rel=0.01)
    found = muscle_mask_threshold(ct, body)
    k = given["muscle_slice_k"]
    assert not found.array[k][np.asarray(body.array[k])].any()
    measured = muscle_area_cm2(ct, found, body)["muscle_area_cm2"]
    assert measured == pytest.approx(area, rel=0.05)  # canal (CSF) dropped, muscle kept
    assert smi(measured, 1.70) == pytest.approx(measured / 1.70**2)
    with pytest.raises(InputError, match="height"):
        smi(measured, 170.0)


def test_synthetic_case_truth():
    from osteoimaging.screening.synth import MUSCLE_LABEL, CohortSpec, synth_case

    spec = CohortSpec(scene_mm=1.0, inplane_mm=(0.9, 0.9), thicknesses_mm=(2.0,), noise_hu=(15, 15))
    ct, labels, truth = synth_case(spec, 3)
    assert truth["osteoporosis"] == int((truth["bmd_t12"] + truth["bmd_l1"]) / 2 < 80)
    assert truth["muscle_area_t12_voxels_cm2"] == pytest.approx(
        truth["muscle_area_t12_cm2"], rel=0.05
    )
    l1 = ct.with_array(labels.array == 31)
    res = l1_attenuation(ct, l1)
    assert res["trabecular_hu"] == pytest.approx(truth["hu_l1_true"], abs=12.0)
    muscle = ct.with_array(labels.array == MUSCLE_LABEL)
    t12 = ct.with_array(labels.array == 32)
    area = muscle_area_cm2(ct, muscle, t12)["muscle_area_cm2"]
    assert area == pytest.approx(truth["muscle_area_t12_cm2"], rel=0.1)
    # the same index gives the same case
    ct2, _, truth2 = synth_case(spec, 3)
    assert np.array_equal(ct.array, ct2.array) and truth2["bmd_t12"] == truth["bmd_t12"]


def test_synthetic_bodies_only_changes_arches_and_ribs_alone():
    """``skeleton_follows_bmd=False``: arches and ribs as a 100 mg/cm³ case, bodies as drawn."""
    from scipy import ndimage as ndi

    from osteoimaging.screening.synth import CohortSpec, synth_case

    base = dict(scene_mm=1.0, inplane_mm=(0.9, 0.9), thicknesses_mm=(2.0,), noise_hu=(15, 15))
    ct, labels, truth = synth_case(CohortSpec(**base), 3)
    ct_b, labels_b, truth_b = synth_case(CohortSpec(**base, skeleton_follows_bmd=False), 3)
    assert truth_b == truth and np.array_equal(labels.array, labels_b.array)
    diff = ct_b.array.astype(float) - ct.array.astype(float)
    bodies = ndi.binary_erosion(np.isin(labels.array, (30, 31, 32, 33)), iterations=3)
    assert not diff[bodies].any()  # the bodies carry their own BMD either way
    expected = 1.5 * (100.0 - truth["bmd_t12"]) / 0.8  # HU = (BMD + 5) / 0.8
    assert abs(expected) > 20  # a case far from 100 mg/cm³
    peak = diff.flat[np.argmax(np.abs(diff))]
    assert np.sign(peak) == np.sign(expected)
    assert abs(peak) == pytest.approx(abs(expected), rel=0.1, abs=2)


def test_height_from_dicom_reads_patient_size(tmp_path):
    import SimpleITK as sitk

    from osteoimaging.screening import height_from_dicom

    image = sitk.Image([8, 8], sitk.sitkInt16)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    image.SetMetaData("0010|1020", "1.73")
    image.SetMetaData("0008|0060", "CT")
    writer.SetFileName(str(tmp_path / "slice.dcm"))
    writer.Execute(image)
    assert height_from_dicom(tmp_path) == pytest.approx(1.73)
    (tmp_path / "other").mkdir()
    assert height_from_dicom(tmp_path / "other") is None


def test_import_and_cli_without_torch(tmp_path):
    """The package imports in a core install; the CNN steps name the missing extra."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'monai'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import osteoimaging.screening\n"
        "from osteoimaging.cli.main import main\n"
        f"sys.exit(main(['screen', 'train', {str(tmp_path)!r}, '--out', "
        f"{str(tmp_path / 'm')!r}]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert "needs the 'screen' extra" in out.stderr


def test_l1_attenuation_is_the_focal_rows_trabecular_value():
    """One trabecular ROI: the L1 rule reads what the case pipeline reports (uncalibrated,
    scanner axes)."""
    from focal_cases import vertebra_scan

    from osteoimaging.case import BodySource, CaseRequest, measure_case
    from osteoimaging.focal import FocalParameters

    ct, mask = vertebra_scan()
    request = CaseRequest(
        ct, [BodySource("L1", mask=mask)], align="none", params=FocalParameters(angle_step_deg=90.0)
    )
    row = measure_case(request).levels[0].row
    assert row["bmd_units"] == "HU"
    assert l1_attenuation(ct, mask)["trabecular_hu"] == pytest.approx(
        row["trabecular_bmd"], rel=1e-12
    )


def test_evaluation_table_known_answers():
    """Every method's row carries sensitivity … accuracy from its own cut-off; the fixed
    Pickhardt rules count strictly-below cases (hand-counted on ten cases)."""
    pd = pytest.importorskip("pandas")
    from osteoimaging.screening.evaluate import evaluate

    hu = [60, 80, 100, 105, 120, 130, 140, 160, 180, 200]
    y = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    df = pd.DataFrame({"osteoporosis": y, "l1_hu": hu, "cnn_probability": np.linspace(1, 0, 10)})
    m = evaluate(df, subset=None)["metrics"].set_index("method")
    assert not m["accuracy"].isna().any()
    rule = m.loc["L1 < 110 HU (Pickhardt 2013)"]  # 60, 80, 100, 105 positive by the rule
    assert (rule["sensitivity"], rule["specificity"], rule["accuracy"]) == (0.75, 5 / 6, 0.8)
    rule = m.loc["L1 < 135 HU (Pickhardt 2013)"]  # …, 120, 130
    assert (rule["sensitivity"], rule["specificity"], rule["accuracy"]) == (1.0, 4 / 6, 0.8)


def test_gradcam_fractions_known_answers():
    """A 10 × 10 map: 1.0 on a 2 × 2 'body', 0.6 on the 4 × 4 ring around it, 0.1 elsewhere."""
    from osteoimaging.screening.gradcam import mass_fractions

    cam = np.full((10, 10), 0.1)
    cam[3:7, 3:7] = 0.6
    cam[4:6, 4:6] = 1.0
    body = np.zeros((10, 10), bool)
    body[4:6, 4:6] = True
    total = 4 * 1.0 + 12 * 0.6 + 84 * 0.1
    fr = mass_fractions(cam, {"body": body})
    assert fr["cam_mass_body"] == pytest.approx(4.0 / total)
    assert fr["cam_area_body"] == pytest.approx(0.04)
    assert fr["cam_enrichment_body"] == pytest.approx(4.0 / total / 0.04)
    assert fr["cam_peak_in_body"]
    assert fr["cam_core_body"] == pytest.approx(4 / 16)  # half-maximum core: body + ring
    assert mass_fractions(cam, {"body": body}, core_level=0.8)["cam_core_body"] == 1.0
    cam[0, 0] = np.nan  # outside the slab: ignored, not counted as zero
    assert mass_fractions(cam, {"body": body})["cam_area_body"] == pytest.approx(4 / 99)
    flat = mass_fractions(np.zeros((10, 10)), {"body": body})
    assert np.isnan(flat["cam_mass_body"]) and np.isnan(flat["cam_core_body"])
