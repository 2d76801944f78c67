"""Spine-axis alignment: end-plate fit on tilted bodies, frames, manual override."""

from __future__ import annotations

import numpy as np
import pytest

from osteoimaging.alignment import (
    align_body,
    endplate_axis,
    frame_from_axis,
    pca_axis,
    rotation_from_angles,
    tilt_deg,
)
from osteoimaging.errors import InputError
from osteoimaging.phantoms import CTProtocol, VertebraSpec, vertebra_ct
from osteoimaging.volume import Volume


def tilted_body(angles_deg, spacing=(0.5, 0.5, 0.8), width=40.0, depth=30.0, height=26.0):
    """Analytic elliptic-cylinder body rotated by R(angles) in an axis-aligned grid."""
    rot = rotation_from_angles(angles_deg)
    n = [int(70 / s) for s in spacing]
    origin = tuple(-35.0 + s / 2 for s in spacing)
    vol = Volume(np.zeros(n[::-1], bool), spacing=spacing, origin=origin)
    k, j, i = np.meshgrid(*(np.arange(m) for m in vol.shape), indexing="ij")
    p = vol.index_to_physical(np.stack([i, j, k], axis=-1).astype(float)) @ rot  # body frame
    inside = ((p[..., 0] / (width / 2)) ** 2 + (p[..., 1] / (depth / 2)) ** 2 <= 1) & (
        np.abs(p[..., 2]) <= height / 2
    )
    return vol.with_array(inside), rot


def angle_between(u, v) -> float:
    c = abs(float(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v)))
    return float(np.degrees(np.arccos(min(c, 1.0))))


@pytest.mark.parametrize("angles", [(15.0, 0.0, 0.0), (0.0, -15.0, 0.0), (10.0, 8.0, 25.0)])
def test_endplate_axis_recovers_tilt(angles):
    mask, rot = tilted_body(angles)
    axis = endplate_axis(mask)
    assert angle_between(axis, rot[:, 2]) < 1.0
    a = align_body(mask)
    assert a.method == "endplates"
    assert a.tilt_deg == pytest.approx(angle_between(rot[:, 2], [0, 0, 1]), abs=1.0)
    # In-plane: the left-right axis is the body's width axis.
    assert angle_between(a.direction[:, 0], rot[:, 0]) < 2.0


def test_pca_is_ambiguous_for_deep_bodies_but_endplates_are_not():
    # Depth ≈ height: the two smaller second moments nearly coincide (module docstring).
    mask, rot = tilted_body((15.0, 0.0, 0.0), depth=30.0, height=26.0)
    assert angle_between(endplate_axis(mask), rot[:, 2]) < 1.0
    assert angle_between(pca_axis(mask), rot[:, 2]) > 5.0


def test_rotated_scanner_grid_phantom():
    spec = VertebraSpec(hires_mm=0.2, scene_mm=0.4)
    _, mask, _ = vertebra_ct(spec, CTProtocol(spacing_mm=(0.5, 0.5, 1.0), rotation_deg=(15, 0, 0)))
    a = align_body(mask)
    # The body stands along LPS z; the scanner's grid is what is tilted.
    assert angle_between(a.direction[:, 2], [0, 0, 1]) < 1.0
    assert tilt_deg(mask.direction) == pytest.approx(15.0)


def test_frames_are_right_handed_and_oriented():
    for axis in ([0, 0, 1], [0.1, -0.2, -1.0], [0.3, 0.1, 0.9]):
        d = frame_from_axis(np.array(axis, float))
        assert np.allclose(d.T @ d, np.eye(3), atol=1e-12)
        assert np.linalg.det(d) == pytest.approx(1.0)
        assert d[2, 2] > 0 and d[0, 0] > 0  # superior, left
    assert np.allclose(frame_from_axis(np.array([0, 0, 1.0])), np.eye(3))


def test_manual_override():
    mask, _ = tilted_body((0.0, 0.0, 0.0))
    assert align_body(mask, "none").direction is None
    r = align_body(mask, [0.0, 0.0, 90.0])
    assert r.method == "manual"
    assert np.allclose(r.direction, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)
    assert np.allclose(align_body(mask, np.eye(3)).direction, np.eye(3))
    with pytest.raises(InputError, match="orthonormal"):
        align_body(mask, np.diag([1.0, 1.0, 2.0]))
    with pytest.raises(InputError, match="unknown alignment"):
        align_body(mask, "sideways")
