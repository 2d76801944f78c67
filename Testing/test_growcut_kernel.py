"""Our Fast GrowCut kernel against Slicer's ``vtkImageGrowCutSegment`` and ITK's
``FastGrowCut``: the same labels voxel for voxel, ties included; the readable reference;
and the segmentation giving the same mask with either backend."""

from __future__ import annotations

import numpy as np
import pytest

from osteoimaging.phantoms import CTProtocol, VertebraSpec, vertebra_ct
from osteoimaging.segmentation import segment_vertebral_body
from osteoimaging.segmentation.fastgrowcut import (
    fast_growcut,
    fast_growcut_with_distance,
    reference_growcut,
)

itk = pytest.importorskip("itk", reason="ITK's FastGrowCut is the comparison (extra 'test')")
mrml_growcut = pytest.importorskip(
    "osteoimaging.mrml.growcut", reason="slicer-core provides vtkImageGrowCutSegment"
)
vtk_growcut = mrml_growcut.vtk_growcut


def itk_growcut(image, seeds, spacing=(1.0, 1.0, 1.0), distance_penalty=0.0):
    """ITK's FastGrowCut on [z, y, x] arrays (the comparison only; never in the package)."""
    img = itk.image_from_array(np.ascontiguousarray(image, dtype=np.float32))
    img.SetSpacing([float(s) for s in spacing])
    lab = itk.image_from_array(np.ascontiguousarray(seeds, dtype=np.uint8))
    lab.SetSpacing([float(s) for s in spacing])
    flt = itk.FastGrowCut[type(img), type(lab)].New()
    flt.SetInput(img)
    flt.SetSeedImage(lab)
    flt.SetDistancePenalty(float(distance_penalty))
    flt.Update()
    return np.asarray(itk.array_from_image(flt.GetOutput())).copy()


def random_case(rng, kind: str):
    shape = tuple(int(v) for v in rng.integers(3, 22, 3))
    if kind == "binary":  # two intensities: almost every path cost is tied
        image = rng.integers(0, 2, shape).astype(np.float32)
    elif kind == "constant":  # every path cost is tied
        image = np.zeros(shape, np.float32)
    elif kind == "rounded":
        image = np.round(rng.normal(size=shape) * 3).astype(np.float32)
    else:  # continuous: no ties
        image = (rng.normal(size=shape) * 100).astype(np.float32)
    seeds = np.zeros(shape, np.uint8)
    n = int(rng.integers(1, 20))
    seeds.ravel()[rng.integers(0, seeds.size, n)] = rng.integers(1, 6, n)
    return image, seeds


@pytest.mark.parametrize("kind", ["binary", "constant", "rounded", "continuous"])
def test_kernel_equals_slicer_and_itk_on_random_images(kind):
    rng = np.random.default_rng(["binary", "constant", "rounded", "continuous"].index(kind))
    for _ in range(40):
        image, seeds = random_case(rng, kind)
        ours = fast_growcut(image, seeds)
        assert np.array_equal(ours, vtk_growcut(image, seeds)), image.shape
        assert np.array_equal(ours, itk_growcut(image, seeds)), image.shape


def test_distance_penalty_and_nan_as_itk():
    """Spacing enters only through the distance penalty; NaN voxels stop the growth."""
    rng = np.random.default_rng(7)
    for trial in range(30):
        image, seeds = random_case(rng, "continuous" if trial % 2 else "binary")
        spacing = tuple(rng.uniform(0.3, 3.0, 3))
        penalty = float(rng.uniform(0.0, 5.0))
        ours, _ = fast_growcut_with_distance(image, seeds, spacing, penalty)
        assert np.array_equal(ours, itk_growcut(image, seeds, spacing, penalty))
        holes = image.copy()
        holes.ravel()[rng.integers(0, image.size, max(1, image.size // 10))] = np.nan
        nan_labels = fast_growcut(holes, seeds)
        assert np.array_equal(nan_labels, vtk_growcut(holes, seeds))
        assert np.array_equal(nan_labels, itk_growcut(holes, seeds))


def test_reference_dijkstra_agrees():
    """The readable heapq Dijkstra: same costs always, same labels where there are no ties."""
    rng = np.random.default_rng(3)
    for kind in ("continuous", "binary"):
        for _ in range(10):
            image, seeds = random_case(rng, kind)
            labels, distance = fast_growcut_with_distance(image, seeds)
            ref_labels, ref_distance = reference_growcut(image, seeds)
            assert np.array_equal(distance, ref_distance)
            if kind == "continuous":
                assert np.array_equal(labels, ref_labels)
    # A case small enough to check by hand: two seeds on a line of intensities.
    image = np.zeros((3, 3, 7), np.float32)
    image[1, 1] = [0, 0, 0, 10, 50, 50, 50]
    seeds = np.zeros(image.shape, np.uint8)
    seeds[1, 1, 1], seeds[1, 1, 5] = 1, 2
    labels, distance = fast_growcut_with_distance(image, seeds)
    assert list(labels[1, 1]) == [1, 1, 1, 1, 2, 2, 2]  # 10 is nearer to 0 than to 50
    assert distance[1, 1, 3] == pytest.approx(np.float32(1e-3) + 10.0)


def test_input_checks():
    with pytest.raises(ValueError, match="at least 3 voxels"):
        fast_growcut(np.zeros((2, 5, 5)), np.zeros((2, 5, 5), np.uint8))
    with pytest.raises(ValueError, match="same shape"):
        fast_growcut(np.zeros((4, 5, 5)), np.zeros((4, 5, 6), np.uint8))
    with pytest.raises(ValueError, match="0 \\(free\\) or 1…255"):
        fast_growcut(np.zeros((4, 5, 5)), np.full((4, 5, 5), 300))


def recorded_inputs(ct, click):
    """The (image, seeds, spacing) of every GrowCut call of one segmentation."""
    calls = []

    def recorder(image, seeds, spacing):
        calls.append((image.copy(), seeds.copy(), tuple(spacing)))
        return fast_growcut(image, seeds, spacing)

    segment_vertebral_body(ct, click, growcut=recorder)
    return calls


def assert_backends_identical(calls, label: str) -> None:
    for image, seeds, spacing in calls:
        ours = fast_growcut(image, seeds, spacing)
        slicer_labels = vtk_growcut(image, seeds, spacing)
        itk_labels = itk_growcut(image, seeds, spacing)
        counts = np.bincount(ours.ravel(), minlength=4)
        assert int((ours != slicer_labels).sum()) == 0, f"{label}: ours vs Slicer"
        assert int((ours != itk_labels).sum()) == 0, f"{label}: ours vs ITK"
        assert counts[1] > 0 and counts[2] > 0, f"{label}: labels {counts}"


@pytest.fixture(scope="module")
def demo_phantom():
    return vertebra_ct(VertebraSpec(hires_mm=0.2, scene_mm=0.4), CTProtocol())


def test_backends_identical_on_demo_phantom(demo_phantom):
    ct, _, _ = demo_phantom
    calls = recorded_inputs(ct, (0.0, 0.0, 0.0))
    assert len(calls) >= 2  # probe(s) and the final pass
    assert_backends_identical(calls, "demo phantom")


def test_segmentation_same_mask_with_slicer_backend(demo_phantom):
    ct, _, _ = demo_phantom
    ours = segment_vertebral_body(ct, (2.0, -3.0, 1.0))
    slicer_result = segment_vertebral_body(ct, (2.0, -3.0, 1.0), growcut=vtk_growcut)
    assert np.array_equal(ours.mask.array, slicer_result.mask.array)
    assert ours.refined_seed_lps == slicer_result.refined_seed_lps
    assert "fast_growcut" in ours.method and "vtk_growcut" in slicer_result.method


@pytest.mark.shared_data
def test_backends_identical_on_real_l1(shared_data):
    """The L1 of the example CT (TotalSegmentator test data, Apache-2.0), clicked at the
    centroid of its body part."""
    from osteoimaging.imageio import read_image
    from osteoimaging.validation import read_ct

    folder = shared_data("ct/totalseg-example")
    ct = read_ct(folder / "example_ct.nii.gz")
    labels = read_image(folder / "totalseg_vertebrae_pp_refined.nii.gz").array
    body = read_image(folder / "totalseg_vertebrae_body.nii.gz").array == 1
    l1 = (labels == 20) & body
    click = ct.index_to_physical(np.argwhere(l1).mean(axis=0)[::-1])
    calls = recorded_inputs(ct, click)
    assert_backends_identical(calls, "L1 crop")
    ours = segment_vertebral_body(ct, click)
    slicer_result = segment_vertebral_body(ct, click, growcut=vtk_growcut)
    assert np.array_equal(ours.mask.array, slicer_result.mask.array)
