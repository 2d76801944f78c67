"""Feature extraction: exact reference-9 names (real lumbar MRI and synthetic volumes), our
pyradiomics image types, the three-layer ROI, and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from osteoimaging.errors import InputError
from osteoimaging.radiomics.extract import extract_features
from osteoimaging.radiomics.filters import (
    getAdditiveGaussianNoiseImage,
    getBoxSigmaImageImage,
    register_image_types,
)
from osteoimaging.radiomics.presets import load_preset, preset_from_dict
from osteoimaging.radiomics.roi import sagittal_axis, three_layer_roi
from osteoimaging.volume import Volume

REFERENCE_9 = [
    "T1_original_shape_SurfaceVolumeRatio",
    "T1_boxsigmaimage_glcm_Correlation",
    "T1_original_shape_MeshVolume",
    "T1_original_shape_VoxelVolume",
    "T1_additivegaussiannoise_glszm_LowGrayLevelZoneEmphasis",
    "T2_original_shape_SurfaceVolumeRatio",
    "T2_original_glszm_SmallAreaEmphasis",
    "T2_wavelet-LLH_glszm_LargeAreaHighGrayLevelEmphasis",
    "T2_log-sigma-4-0-mm-3D_firstorder_Median",
]


def synthetic_spine(seed: int = 0, spacing=(1.0, 1.0, 1.0)) -> tuple[Volume, Volume, Volume]:
    """T1, T2 and labels: four textured 'vertebral bodies' stacked along z (superior–inferior),
    20 voxels deep (y) and 14 wide along x, the left–right (sagittal-slice) axis."""
    rng = np.random.default_rng(seed)
    shape = (60, 36, 30)  # z, y, x
    labels = np.zeros(shape, np.uint8)
    for level in range(4):
        z0 = 6 + level * 13
        labels[z0 : z0 + 10, 8:28, 8:22] = level + 1
    texture = sitk.GetArrayFromImage(
        sitk.SmoothingRecursiveGaussian(sitk.GetImageFromArray(rng.normal(size=shape)), 1.0)
    )
    t1 = 120 + 40 * texture + 15 * labels
    t2 = 80 + 30 * texture[::-1] + 10 * (labels > 0)
    make = lambda a: Volume(a.astype(np.float32), spacing=spacing)  # noqa: E731
    return make(t1), make(t2), Volume(labels, spacing=spacing)


def test_reference9_names_on_synthetic_volumes():
    t1, t2, labels = synthetic_spine()
    table = extract_features(t1, t2, labels, [1, 2, 3, 4], "reference-9")
    assert list(table.columns) == ["level", "label", *REFERENCE_9]
    assert list(table["level"]) == ["L1", "L2", "L3", "L4", "patient"]
    values = table[REFERENCE_9].to_numpy(dtype=float)
    assert np.isfinite(values).all()
    # ROI: 3 layers of a 20×10 sagittal section minus a 1-voxel rim: 3 · 18 · 8 voxels.
    assert table["T1_original_shape_VoxelVolume"].iloc[0] == pytest.approx(3 * 18 * 8)
    vertebrae = table.iloc[:4]
    patient = table.iloc[4][REFERENCE_9].to_numpy(dtype=float)
    np.testing.assert_allclose(patient, vertebrae[REFERENCE_9].mean().to_numpy(), rtol=1e-12)
    # Same shapes in T1 and T2 (one mask) but different intensities.
    np.testing.assert_allclose(
        vertebrae["T1_original_shape_SurfaceVolumeRatio"],
        vertebrae["T2_original_shape_SurfaceVolumeRatio"],
    )


def test_reference9_names_on_real_lumbar_mri(shared_data):
    """VB3_01.mat (MyoSegmenTUM image via the fastcleverseg repository): labels 1–4 = L1–L4.
    The file has a single sequence; it stands in for both T1 and T2 here."""
    from osteoimaging.radiomics.matio import read_volume

    path = shared_data("mri/lumbar-vb3/VB3_01.mat")
    image = read_volume(path, variable="I", spacing=(1.0, 1.0, 1.0))
    labels = read_volume(path, variable="GT", spacing=(1.0, 1.0, 1.0))
    assert image.shape == (77, 224, 224)
    assert sagittal_axis(image) == 0  # the 77 MATLAB slices are the sagittal stack
    table = extract_features(image, image, labels, [1, 2, 3, 4], "reference-9")
    assert list(table.columns) == ["level", "label", *REFERENCE_9]
    assert list(table["level"]) == ["L1", "L2", "L3", "L4", "patient"]
    assert np.isfinite(table[REFERENCE_9].to_numpy(dtype=float)).all()
    # Mesh volume is close to (and below) the voxel-count volume for these blobs.
    ratio = table["T1_original_shape_MeshVolume"] / table["T1_original_shape_VoxelVolume"]
    assert ((ratio > 0.9) & (ratio < 1.0)).all()
    missing = r"variable 'X' not in the file \(variables: (I, GT|GT, I)\)"
    with pytest.raises(InputError, match=missing):
        read_volume(path, variable="X")


def test_image_types_registered_and_defined():
    names = register_image_types()
    assert {"BoxSigmaImage", "AdditiveGaussianNoise", "Original", "Wavelet", "LoG"} <= set(names)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(7, 8, 9))
    image = sitk.GetImageFromArray(a)
    ((box, prefix, _),) = getBoxSigmaImageImage(image, image, boxSigmaRadius=1)
    assert prefix == "boxsigmaimage"
    # Local sample SD (n − 1) of the 3×3×3 neighbourhood, computed with numpy.
    expected = a[2:5, 3:6, 4:7].std(ddof=1)
    assert sitk.GetArrayFromImage(box)[3, 4, 5] == pytest.approx(expected, rel=1e-9)
    noisy = [
        sitk.GetArrayFromImage(next(getAdditiveGaussianNoiseImage(image, image, **kw))[0]) - a
        for kw in ({"noiseSeed": 3, "noiseStandardDeviation": 2.0},) * 2
        + ({"noiseSeed": 4, "noiseStandardDeviation": 2.0},)
    ]
    np.testing.assert_array_equal(noisy[0], noisy[1])  # deterministic
    assert not np.array_equal(noisy[0], noisy[2])  # the seed matters
    assert noisy[0].std() == pytest.approx(2.0, rel=0.15)
    assert next(getAdditiveGaussianNoiseImage(image, image))[1] == "additivegaussiannoise"


def test_three_layer_roi_geometry():
    labels = np.zeros((10, 12, 9), np.uint8)
    labels[1:9, 2:10, 1:8] = 2  # x extent 1..7 → centroid x = 4
    volume = Volume(labels, spacing=(1.0, 0.5, 0.5))  # x 1 mm, y/z 0.5 mm
    roi = three_layer_roi(volume, [2], margin_mm=1.0).array
    assert set(np.flatnonzero(roi.any(axis=(0, 1)))) == {3, 4, 5}
    # In-plane (z, y) spacing 0.5 mm: the 1 mm margin removes a 2-voxel rim of the 8 × 8 layer
    # (distances 0.5 and 1.0 mm are not > 1 mm): 4 × 4 remain.
    assert int((roi[:, :, 4] == 2).sum()) == 4 * 4
    no_margin = three_layer_roi(volume, [2], margin_mm=0.0).array
    assert int((no_margin == 2).sum()) == 3 * 8 * 8


def test_user_yaml_preset(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(
        "setting: {binWidth: 10}\nimageType: {Original: {}, BoxSigmaImage: {boxSigmaRadius: 2}}\n"
        "featureClass: {firstorder: [Mean, Median]}\n"
    )
    t1, _, labels = synthetic_spine(2)
    table = extract_features(t1, None, labels, [1], load_preset(path), aggregate=False)
    assert sorted(c for c in table.columns if c.startswith("T1_")) == [
        "T1_boxsigmaimage_firstorder_Mean",
        "T1_boxsigmaimage_firstorder_Median",
        "T1_original_firstorder_Mean",
        "T1_original_firstorder_Median",
    ]


def test_bad_inputs(tmp_path):
    t1, t2, labels = synthetic_spine()
    with pytest.raises(InputError, match=r"label.*7.*absent"):
        extract_features(t1, t2, labels, [1, 7], "reference-9")
    shifted = Volume(t2.array, spacing=(1.0, 1.0, 1.2))
    with pytest.raises(InputError, match="T1 and T2 grids differ"):
        extract_features(t1, shifted, labels, [1], "reference-9")
    with pytest.raises(InputError, match="unknown image type prefix"):
        preset_from_dict({"features": {"T1": ["foo_glcm_Correlation"]}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("imageType: {NoSuchFilter: {}}\n")
    with pytest.raises(InputError, match="invalid pyradiomics parameters"):
        extract_features(t1, None, labels, [1], load_preset(bad))
    with pytest.raises(InputError, match="no such preset"):
        load_preset(tmp_path / "missing.yaml")


@pytest.mark.slow
def test_full_preset_one_small_case():
    t1, t2, labels = synthetic_spine(3)
    table = extract_features(t1, t2, labels, [2], "full", aggregate=False)
    columns = [c for c in table.columns if c.startswith("T1_")]
    prefixes = {c.split("_")[1] for c in columns}
    assert {
        "original",
        "boxsigmaimage",
        "additivegaussiannoise",
        "wavelet-LLH",
        "log-sigma-4-0-mm-3D",
        "square",
        "gradient",
        "lbp-2D",
    } <= prefixes
    assert len(columns) > 1000
    assert len([c for c in table.columns if c.startswith("T2_")]) == len(columns)


def _full_preset_restricted_to(image_type: str, feature_class: str, features: list[str]):
    """The built-in ``full`` preset with only one image type and feature class enabled (its
    settings for that image type unchanged): the same values, without the 1 000+ features."""
    import copy

    from osteoimaging.radiomics.presets import Preset

    full = load_preset("full")
    params = copy.deepcopy(full.params)
    params["imageType"] = {image_type: params["imageType"][image_type]}
    params["featureClass"] = {feature_class: features}
    return Preset(name="full-" + image_type, settings=full.settings, params=params, source="full")


def test_full_preset_has_reference9_image_type_settings():
    """Every image type that reference-9 configures is configured the same way in full."""
    reference = load_preset("reference-9").image_type_settings
    full = load_preset("full").params["imageType"]
    for image_type, settings in reference.items():
        assert full[image_type] == settings, image_type


def test_box_sigma_glcm_correlation_agrees_between_presets(shared_data):
    """Regression (issue 13): full.yaml's BoxSigmaImage lacked ``binWidth: 5``, so T1
    box-sigma GLCM Correlation of L1 on VB3_01.mat was 1.000 with ``full`` and 0.562 with
    ``reference-9`` (main at 4df79ae)."""
    from osteoimaging.radiomics.matio import read_volume

    path = shared_data("mri/lumbar-vb3/VB3_01.mat")
    image = read_volume(path, variable="I", spacing=(1.0, 1.0, 1.0))
    labels = read_volume(path, variable="GT", spacing=(1.0, 1.0, 1.0))
    name = "T1_boxsigmaimage_glcm_Correlation"
    reference = extract_features(image, None, labels, [1], "reference-9", aggregate=False)
    full = extract_features(
        image,
        None,
        labels,
        [1],
        _full_preset_restricted_to("BoxSigmaImage", "glcm", ["Correlation"]),
        aggregate=False,
    )
    assert 0.3 < reference[name].iloc[0] < 0.9  # a texture, not the degenerate 1.0
    assert full[name].iloc[0] == pytest.approx(reference[name].iloc[0], rel=1e-9)
