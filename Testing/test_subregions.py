"""Sub-regions: anatomical naming in any frame, volume-weighted means adding up, figure."""

from __future__ import annotations

import numpy as np
import pytest

from osteoimaging.alignment import rotation_from_angles
from osteoimaging.errors import InputError
from osteoimaging.subregions import subregion_figure, subregion_labels, subregion_means
from osteoimaging.volume import Volume


def box_roi(direction=None, shape=(9, 12, 15)):
    arr = np.ones(shape, bool)
    d = np.eye(3) if direction is None else direction
    return Volume(arr, spacing=(0.5, 0.5, 0.5), origin=(1.0, 2.0, 3.0), direction=d)


def physical(roi: Volume) -> np.ndarray:
    k, j, i = np.meshgrid(*(np.arange(n) for n in roi.shape), indexing="ij")
    return roi.index_to_physical(np.stack([i, j, k], axis=-1).astype(float))


@pytest.mark.parametrize(
    "direction",
    [
        np.eye(3),
        rotation_from_angles((0, 0, 90)),
        np.diag([-1.0, -1.0, 1.0]),
        rotation_from_angles((180, 0, 0)) @ rotation_from_angles((0, 0, 30)),
    ],
)
def test_names_follow_anatomy_in_any_frame(direction):
    roi = box_roi(direction)
    labels, names = subregion_labels(roi)
    assert len(names) == 9 and labels.min() >= 1
    p = physical(roi)
    sup = labels == names.index("superior-middle") + 1
    inf = labels == names.index("inferior-middle") + 1
    assert p[sup][:, 2].mean() > p[inf][:, 2].mean()
    ant = labels == names.index("middle-anterior") + 1
    post = labels == names.index("middle-posterior") + 1
    assert p[ant][:, 1].mean() < p[post][:, 1].mean()  # LPS: +y is posterior


def test_equal_thirds_on_a_box():
    roi = box_roi(shape=(9, 12, 15))
    labels, _ = subregion_labels(roi)
    counts = np.bincount(labels.ravel())[1:]
    # 9 slices → 3 per third; 12 rows → 4 per third; all 15 columns in each.
    assert counts.tolist() == [3 * 4 * 15] * 9
    labels_lr, names_lr = subregion_labels(roi, left_right=True)
    assert len(names_lr) == 18 and "superior-anterior-left" in names_lr
    assert np.bincount(labels_lr.ravel())[1:].sum() == roi.array.size


def test_means_add_up_volume_weighted():
    rng = np.random.default_rng(0)
    roi = box_roi(rotation_from_angles((10, -5, 20)), shape=(20, 18, 25))
    roi.array[:3] = False  # not a full box
    values = rng.normal(size=roi.shape)
    values[rng.random(roi.shape) < 0.2] = np.nan  # voxels without a value
    values[~roi.array] = 1e6  # outside the ROI: must not count
    maps = {"focal_bmc_loss": roi.with_array(values), "bmd": roi.with_array(values * 2 + 5)}
    for left_right in (False, True):
        means = subregion_means(maps, roi, left_right)
        for key in maps:
            regions = [r for r in means if r != "roi"]
            n = np.array([means[r][f"{key}_n"] for r in regions])
            m = np.array([means[r][key] for r in regions])
            inside = maps[key].array[roi.array]
            expected = np.nanmean(inside)
            assert (n * m).sum() / n.sum() == pytest.approx(expected, rel=1e-12)
            assert means["roi"][key] == pytest.approx(expected, rel=1e-12)
            assert n.sum() == np.isfinite(inside).sum()


def test_subregion_gradient_and_figure(tmp_path):
    roi = box_roi(shape=(9, 12, 15))
    p = physical(roi)
    # A map rising towards superior and posterior: the grid must show it in the right cells.
    values = p[..., 2] * 10 + p[..., 1]
    means = subregion_means({"m": roi.with_array(values)}, roi)
    assert means["superior-posterior"]["m"] > means["superior-anterior"]["m"]
    assert means["superior-anterior"]["m"] > means["inferior-anterior"]["m"]
    path = subregion_figure(means, "m", tmp_path / "grid.png", title="t", units="mm")
    assert path.stat().st_size > 1000
    lr = subregion_means({"m": roi.with_array(values)}, roi, left_right=True)
    assert subregion_figure(lr, "m", tmp_path / "grid_lr.png").stat().st_size > 1000


def test_errors():
    roi = box_roi()
    with pytest.raises(InputError, match="empty"):
        subregion_labels(roi.with_array(np.zeros(roi.shape, bool)))
    other = Volume(np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match="not on the ROI grid"):
        subregion_means({"x": other}, roi)
