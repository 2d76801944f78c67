"""IBSI 1 digital phantom: every pyradiomics feature mapped to IBSI matches the reference values.

Data: IBSI digital phantom and reference values (Zwanenburg et al., Radiology 2020; IBSI data
sets, CC BY 4.0), in ../shared/data/radiomics/ibsi1. The features run through our extraction
(``extract_features`` with a pyradiomics parameter dict, ROI as drawn, no discretisation).
Tolerance: the larger of the CSV's tolerance and half a unit in the third significant digit
(IBSI reports three significant digits).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from osteoimaging.imageio import read_image
from osteoimaging.radiomics.extract import extract_features
from osteoimaging.radiomics.ibsi import CLASSES, DEVIATIONS, ibsi_mapping
from osteoimaging.radiomics.presets import preset_from_dict

pytestmark = pytest.mark.shared_data


def _allowed(reference: float, tolerance: float) -> float:
    if reference == 0:
        return max(tolerance, 1e-9)
    return max(tolerance, 0.5 * 10 ** (math.floor(math.log10(abs(reference))) - 2))


@pytest.fixture(scope="module")
def phantom_features():
    from conftest import shared_path

    folder = shared_path("radiomics/ibsi1")
    image = read_image(folder / "phantom.nii.gz")
    mask = read_image(folder / "mask.nii.gz")
    preset = preset_from_dict(
        {
            "setting": {"binWidth": 1, "additionalInfo": False},
            "imageType": {"Original": {}},
            "featureClass": dict.fromkeys(CLASSES),
        }
    )
    table = extract_features(image, None, mask, [1], preset, roi="mask", aggregate=False)
    reference = pd.read_csv(folder / "ibsi_1_dig_phantom.csv", sep=";").dropna()
    n_voxels = int((mask.array == 1).sum())
    return table.iloc[0], reference.set_index("tag"), n_voxels


def test_mapped_features_match_ibsi(phantom_features):
    row, reference, n_voxels = phantom_features
    assert n_voxels == 74  # the IBSI phantom's ROI
    failures = []
    for name, tag in ibsi_mapping().items():
        value = float(row[f"T1_{name}"])
        if name in DEVIATIONS:
            value = DEVIATIONS[name][0](value, n_voxels)
        ref = float(reference.loc[tag, "reference value"])
        tol = _allowed(ref, float(reference.loc[tag, "tolerance"]))
        if not abs(value - ref) <= tol:
            failures.append(f"{name} ({tag}): {value:.6g} vs {ref} ± {tol:g}")
    assert not failures, "\n".join(failures)
    assert len(ibsi_mapping()) == 101


def test_documented_deviations_are_real(phantom_features):
    """Without the conversion the deviating features do NOT match: the deviations are needed."""
    row, reference, _ = phantom_features
    kurtosis = float(row["T1_original_firstorder_Kurtosis"])
    assert kurtosis == pytest.approx(
        float(reference.loc["stat_kurt", "reference value"]) + 3, abs=5e-3
    )
    least = float(row["T1_original_shape_LeastAxisLength"])
    ref = float(reference.loc["morph_pca_least_axis", "reference value"])
    assert abs(least - ref) > float(reference.loc["morph_pca_least_axis", "tolerance"])
    assert np.isfinite(least)
