"""Test harness for the MRML bridge: a real headless Slicer core scene per test.

Tests import the fixtures from here (``from mrml_harness import slicer_app``); they skip
with a reason when ``slicer-core`` is not installed (``pip install .[slicer]``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from osteoimaging.volume import Volume


@pytest.fixture
def slicer_app(tmp_path):
    """A fresh headless Slicer (scene + module logics + Red/Yellow/Green slice views)."""
    pytest.importorskip("slicer", reason="slicer-core not installed (pip install .[slicer])")
    from osteoimaging.mrml.app import headless_slicer

    app = headless_slicer(cache_dir=str(tmp_path / "cache"))
    yield app
    app.scene.Clear(True)


def oblique_direction(angles_deg=(20.0, -10.0, 35.0)) -> np.ndarray:
    """A proper rotation (LPS columns) that is not axis-aligned."""
    return Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix()


def linear_field(volume: Volume, coefficients=(1.5, -2.0, 0.75), offset=100.0) -> Volume:
    """``volume``'s grid holding f(LPS point) = offset + c · point, float32 (known everywhere)."""
    k, j, i = np.indices(volume.shape)
    points = volume.index_to_physical(np.stack([i, j, k], axis=-1))
    values = offset + points @ np.asarray(coefficients, dtype=float)
    return volume.with_array(values.astype(np.float32))


def field_value(point_lps, coefficients=(1.5, -2.0, 0.75), offset=100.0) -> float:
    return float(offset + np.asarray(point_lps, dtype=float) @ np.asarray(coefficients))


def node_value_at_ras(node, ras) -> float:
    """The voxel value of a volume node at a RAS point, located through the node's own
    RAS→IJK matrix (Slicer's geometry, not ours)."""
    import vtk

    matrix = vtk.vtkMatrix4x4()
    node.GetRASToIJKMatrix(matrix)
    ijk = matrix.MultiplyPoint((*[float(x) for x in ras], 1.0))[:3]
    i, j, k = (round(x) for x in ijk)
    assert max(abs(a - b) for a, b in zip(ijk, (i, j, k), strict=True)) < 1e-6, ijk
    return node.GetImageData().GetScalarComponentAsDouble(i, j, k, 0)
