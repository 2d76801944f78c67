"""Calibration: exact fits for every phantom preset, Mindways two-component model, pooled
fits, profiles, insert measurement, internal calibration and the errors."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from osteoimaging.calibration import (
    NOMINAL_TISSUE_HU,
    CalibrationProfile,
    fit_linear,
    fit_mindways,
    fit_pooled,
    internal_calibration,
    list_presets,
    load_preset,
    load_profile,
    profile_from_preset,
    save_profile,
)
from osteoimaging.calibration.fit import MINDWAYS_BETA_OFFSET, MINDWAYS_SIGMA_OFFSET
from osteoimaging.calibration.inserts import (
    insert_region,
    measure_insert_centres,
    measure_insert_labels,
)
from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

SLOPE, INTERCEPT = 0.8, -5.0  # BMD = 0.8·HU − 5


def exact_hu(preset, slope=SLOPE, intercept=INTERCEPT):
    """HU the scanner would show for each insert under a known calibration."""
    if preset.model == "mindways":
        sigma_ct, beta_ct = 1.0 / slope, -intercept / slope
        k = np.array(preset.densities)
        w = np.array(preset.water_densities)
        return w + (sigma_ct + MINDWAYS_SIGMA_OFFSET) * k + beta_ct - MINDWAYS_BETA_OFFSET
    return (np.array(preset.densities) - intercept) / slope


def test_presets_shipped():
    keys = list_presets()
    assert {
        "qrm_bdc_6",
        "qrm_bdc_3",
        "b_mas200",
        "siemens_osteo",
        "qct3d_plus",
        "mindways_model3",
    } <= set(keys)
    assert load_preset("QRM-BDC 6-rod").densities == [0, 100, 200, 400, 600, 800]
    assert load_preset("b_mas200").densities == [0, 50, 100, 150, 200]
    assert load_preset("siemens_osteo").densities == [0, 200]
    assert load_preset("qrm_bdc_3").densities == [100, 400, 800]
    assert load_preset("qct3d_plus").densities == [8.0, 97.3, 189.8]
    mw = load_preset("mindways_model3")
    assert mw.model == "mindways" and mw.material == "K2HPO4" and len(mw.water_densities) == 5
    with pytest.raises(InputError, match="unknown phantom preset"):
        load_preset("nope")


@pytest.mark.parametrize("key", list_presets())
def test_every_preset_exact_fit(key):
    preset = load_preset(key)
    hu = exact_hu(preset)
    profile = profile_from_preset("p", preset, [hu])
    fit = profile.fit
    assert fit.slope == pytest.approx(SLOPE, rel=1e-9)
    assert fit.intercept == pytest.approx(INTERCEPT, abs=1e-7)
    assert fit.r == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(fit.residuals, 0.0, atol=1e-7)
    cal = profile.calibration()
    assert cal.source == "profile:p"
    # The calibration maps each insert's HU back to its density (linear presets).
    if preset.model == "linear":
        assert np.allclose(cal.apply(np.asarray(hu)), preset.densities, atol=1e-3)


def test_linear_fit_hand_computed_and_noisy():
    fit = fit_linear([0, 100], [0, 125])  # HU = 1.25 ρ → BMD = 0.8 HU
    assert (fit.slope, fit.intercept, fit.r) == pytest.approx((0.8, 0.0, 1.0))
    rng = np.random.default_rng(3)
    rho = np.array([0, 100, 200, 400, 600, 800.0])
    hu = rho / SLOPE + 5 + rng.normal(0, 4, rho.size)
    fit = fit_linear(rho, hu)
    a, b = np.polyfit(rho, hu, 1)  # independent OLS of HU on density
    assert fit.slope == pytest.approx(1 / a) and fit.intercept == pytest.approx(-b / a)
    assert fit.r == pytest.approx(np.corrcoef(rho, hu)[0, 1])
    assert 0.99 < fit.r < 1.0
    assert sum(fit.residuals) == pytest.approx(0.0, abs=1e-8)  # OLS residuals sum to 0
    assert fit.rmse > 0


def test_mindways_two_component_by_hand():
    # Two rods chosen so the reference fit is easy to do by hand:
    # HU − ρw = σ_ref ρK + β_ref with σ_ref = 1.5, β_ref = −1000 → σ_CT = 1.2826, β_CT = −0.4.
    k = [0.0, 200.0]
    w = [1000.0, 950.0]
    hu = [w[0] + 1.5 * k[0] - 1000.0, w[1] + 1.5 * k[1] - 1000.0]
    fit = fit_mindways(k, w, hu)
    sigma_ct, beta_ct = 1.5 - 0.2174, -1000.0 + 999.6
    assert fit.extra["sigma_ref"] == pytest.approx(1.5)
    assert fit.extra["beta_ref"] == pytest.approx(-1000.0)
    assert fit.slope == pytest.approx(1 / sigma_ct)
    assert fit.intercept == pytest.approx(-beta_ct / sigma_ct)


def test_pooled_fit_equals_fit_of_all_points():
    preset = load_preset("qrm_bdc_6")
    scan1 = exact_hu(preset) + 3.0
    scan2 = exact_hu(preset) - 7.0
    pooled = fit_pooled([(preset.densities, scan1), (preset.densities, scan2)])
    rho = np.concatenate([preset.densities, preset.densities])
    a, b = np.polyfit(rho, np.concatenate([scan1, scan2]), 1)
    assert pooled.slope == pytest.approx(1 / a) and pooled.intercept == pytest.approx(-b / a)
    assert pooled.n_points == 12 and pooled.r < 1.0
    # Offsets of +3 and −7 HU average to −2 HU: intercept shifts by +2·slope.
    assert pooled.intercept == pytest.approx(INTERCEPT + 2.0 * SLOPE)
    profile = profile_from_preset("pooled", preset, [scan1, scan2])
    assert profile.fit.slope == pytest.approx(pooled.slope)
    mw = load_preset("mindways_model3")
    p2 = profile_from_preset("mw", mw, [exact_hu(mw), exact_hu(mw)])
    assert p2.fit.slope == pytest.approx(SLOPE) and p2.fit.n_points == 10


def test_profile_round_trip(tmp_path):
    preset = load_preset("mindways_model3")
    profile = profile_from_preset(
        "ct1-120kv",
        preset,
        [exact_hu(preset)],
        scanner="X",
        kvp=120,
        kernel="B30f",
        date="2024-01-02",
    )
    path = save_profile(profile, tmp_path / "p.json")
    data = json.loads(path.read_text())
    assert data["scanner"] == "X" and data["kvp"] == 120 and data["kernel"] == "B30f"
    assert data["inserts"][0]["water_density"] == 1012.25
    back = load_profile(path)
    assert isinstance(back, CalibrationProfile)
    assert back.to_dict() == profile.to_dict()
    assert back.calibration() == profile.calibration()
    assert back.calibration().source == "profile:ct1-120kv"


def test_profile_load_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_profile(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not a JSON"):
        load_profile(bad)
    other = tmp_path / "other.json"
    other.write_text('{"slope": 1}')
    with pytest.raises(InputError, match="not an OsteoImaging calibration profile"):
        load_profile(other)


def test_calibration_errors():
    with pytest.raises(InputError, match="at least 2 inserts"):
        fit_linear([100.0], [120.0])
    with pytest.raises(InputError, match="non-increasing density/HU"):
        fit_linear([0, 100, 200], [0, 150, 120])
    with pytest.raises(InputError, match="non-increasing density/HU"):
        fit_linear([0, 100], [50, 50])
    with pytest.raises(InputError, match="same density"):
        fit_linear([100, 100, 200], [1, 2, 3])
    with pytest.raises(InputError, match="one per insert"):
        fit_linear([0, 100, 200], [1, 2])
    with pytest.raises(InputError, match="non-increasing"):
        fit_mindways([0, 100, 200], [1000, 1000, 1000], [1000, 1200, 1100])
    with pytest.raises(InputError, match="has 2 insert values"):
        profile_from_preset("x", load_preset("qrm_bdc_3"), [[1, 2]])


#: HU of the three inserts of the synthetic phantom: 0.9·ρ − 50 for QRM-BDC 3 (100, 400, 800).
INSERT_HU = (40.0, 310.0, 670.0)


def _insert_phantom():
    arr = np.full((20, 40, 60), -100.0, dtype=np.float32)
    vol = Volume(arr, spacing=(0.5, 0.5, 1.0), origin=(-15.0, -10.0, -10.0))
    centres = [(-8.0, 0.0, 0.0), (0.0, 0.0, 0.0), (8.0, 0.0, 0.0)]
    for c, hu in zip(centres, INSERT_HU, strict=True):
        arr[insert_region(vol, c, 3.5, 14.0)] = hu
    return vol, centres


def test_measure_inserts_centres_and_labels():
    vol, centres = _insert_phantom()
    found = measure_insert_centres(vol, centres, 2.0, 6.0)
    assert [m.mean_hu for m in found] == pytest.approx(INSERT_HU)
    assert all(m.sd_hu == pytest.approx(0.0) and m.n_voxels > 50 for m in found)
    labels = vol.with_array(np.zeros(vol.shape, np.uint8))
    for n, c in enumerate(centres, start=1):
        labels.array[insert_region(vol, c, 2.0, 6.0)] = n
    by_label = measure_insert_labels(vol, labels, [1, 2, 3])
    assert [m.mean_hu for m in by_label] == pytest.approx(INSERT_HU)
    with pytest.raises(InputError, match="no voxel"):
        measure_insert_labels(vol, labels, [4])


def test_internal_calibration_recovers_scale():
    measured = {t: 1.1 * NOMINAL_TISSUE_HU[t] + 5.0 for t in ("air", "fat", "muscle")}
    profile = internal_calibration(measured)
    cal = profile.calibration()
    assert cal.source == "profile:internal"
    assert "less accurate" in profile.accuracy and cal.details["accuracy"] == profile.accuracy
    for tissue, hu in measured.items():
        assert cal.apply(hu) == pytest.approx(NOMINAL_TISSUE_HU[tissue])
    with pytest.raises(InputError, match="at least 2"):
        internal_calibration({"fat": -100.0})
    with pytest.raises(InputError, match="no nominal CT number"):
        internal_calibration({"bone": 700.0, "fat": -100.0})


def calibrate(osteo_cmd, *args: str) -> subprocess.CompletedProcess:
    """Run ``osteo calibrate ARGS`` and capture its output."""
    return subprocess.run(
        [*osteo_cmd, "calibrate", *args], capture_output=True, text=True, check=False
    )


def test_calibrate_cli(tmp_path, osteo_cmd):
    preset = load_preset("qrm_bdc_6")
    hu = ",".join(f"{v:.6f}" for v in exact_hu(preset))
    out = tmp_path / "qrm.json"
    run = calibrate(
        osteo_cmd,
        "--phantom",
        "qrm_bdc_6",
        "--hu",
        hu,
        "--hu",
        hu,
        "--name",
        "scanA",
        "--kvp",
        "120",
        "--out",
        str(out),
    )
    assert run.returncode == 0, run.stderr
    profile = load_profile(out)
    assert profile.fit.slope == pytest.approx(SLOPE) and profile.fit.n_points == 12
    assert profile.kvp == 120 and profile.name == "scanA"
    bad = calibrate(osteo_cmd, "--phantom", "qrm_bdc_6", "--hu", "1,2", "--out", str(out))
    assert bad.returncode == 2 and "6 inserts" in bad.stderr


def test_calibrate_cli_from_phantom_ct(tmp_path, osteo_cmd):
    from osteoimaging.imageio import write_image

    vol, centres = _insert_phantom()
    ct = write_image(vol, tmp_path / "phantom.nrrd")
    ras = [f"--centre={-x:g},{-y:g},{z:g}" for x, y, z in centres]
    out = tmp_path / "p.json"
    run = calibrate(
        osteo_cmd,
        "--phantom",
        "qrm_bdc_3",
        "--ct",
        str(ct),
        *ras,
        "--radius-mm",
        "2",
        "--length-mm",
        "6",
        "--out",
        str(out),
    )
    assert run.returncode == 0, run.stderr
    profile = load_profile(out)
    assert profile.scans[0] == pytest.approx(INSERT_HU)
    fit = fit_linear([100, 400, 800], INSERT_HU)
    assert profile.fit.slope == pytest.approx(fit.slope)


def test_calibrate_cli_mindways_certificate_and_negative_lists(tmp_path, osteo_cmd):
    """Regression (issue 13): the Mindways water densities could not be given on the command
    line (--densities replaced only the K2HPO4 values, the water values silently stayed the
    preset's), and ``--hu -57.16,…`` failed with "expected one argument" (main at 4df79ae)."""
    preset = load_preset("mindways_model3")
    # Another phantom's certificate: both values of every rod differ from the preset's.
    certificate = preset.__class__(
        **{
            **preset.__dict__,
            "inserts": tuple(
                {**i, "density": i["density"] + 1.5, "water_density": i["water_density"] - 8.0}
                for i in preset.inserts
            ),
        }
    )
    hu = exact_hu(certificate)
    assert hu[0] < 0  # the list starts with a minus sign
    out = tmp_path / "mw.json"
    args = [
        "--phantom",
        "mindways_model3",
        "--hu",
        ",".join(f"{v:.6f}" for v in hu),
        "--densities",
        ",".join(f"{d:g}" for d in certificate.densities),
        "--out",
        str(out),
    ]
    run = calibrate(osteo_cmd, *args)
    assert run.returncode == 2 and "--water-densities" in run.stderr  # not silently mixed
    water = ",".join(f"{d:g}" for d in certificate.water_densities)
    run = calibrate(osteo_cmd, *args, "--water-densities", water)
    assert run.returncode == 0, run.stderr
    profile = load_profile(out)
    assert [i["water_density"] for i in profile.inserts] == certificate.water_densities
    assert profile.fit.slope == pytest.approx(SLOPE) and profile.fit.intercept == pytest.approx(
        INTERCEPT, abs=1e-6
    )
    assert profile.qa["status"] == "ok" and "fit QA ok" in run.stdout
    # Negative numbers anywhere in a list, and for a linear phantom no water densities.
    run = calibrate(
        osteo_cmd,
        "--phantom",
        "qrm_bdc_3",
        "--hu",
        "-5,300,700",
        "--water-densities",
        "1,2,3",
        "--out",
        str(out),
    )
    assert run.returncode == 2 and "no water densities" in run.stderr


#: A Mindways scan whose rods bend away from the line (issue 13's example: r 0.95, RMSE 52).
POOR_MINDWAYS_HU = "-207.9,-167.8,165.9,356.4,292.6"


def test_poor_phantom_fit_is_refused_unless_accepted(tmp_path, osteo_cmd, caplog):
    """Regression (issue 13): a Mindways fit with r 0.95 and RMSE 52 mg/cm³ was accepted
    without a word (exit 0 on main at 4df79ae)."""
    out = tmp_path / "poor.json"
    # --hu=… so that the check does not depend on the negative-list parsing tested above.
    base = ["--phantom", "mindways_model3", f"--hu={POOR_MINDWAYS_HU}", "--out", str(out)]
    run = calibrate(osteo_cmd, *base)
    assert run.returncode == 2 and "poor calibration fit, refused" in run.stderr
    assert (
        "r = 0.950" in run.stderr and "RMSE 52" in run.stderr and "--accept-poor-fit" in run.stderr
    )
    assert not out.exists()
    run = calibrate(osteo_cmd, *base, "--accept-poor-fit")
    assert run.returncode == 0 and "fit QA poor" in run.stdout
    assert "WARNING" in run.stderr and "calibration poor" in run.stderr
    profile = load_profile(out)
    assert profile.qa["status"] == "poor" and profile.qa["accepted_by_user"] is True
    assert "phantom fit poor" in caplog.text  # every later use of the profile says so


def test_fit_quality_thresholds():
    from osteoimaging.calibration.qa import RESIDUAL_WARN, RMSE_REFUSE, fit_quality

    rho = np.array([0.0, 100.0, 200.0, 400.0, 600.0, 800.0])
    exact = fit_linear(rho, rho / SLOPE + 5)
    q = fit_quality(exact, rho)
    assert (q.status, q.reasons, q.n_densities) == ("ok", (), 6)
    # One insert 10 HU (8 mg/cm³) off: 6.6 mg/cm³ from the fitted line, a warning only.
    off = rho / SLOPE + 5 + np.array([0, 0, 0, 10.0, 0, 0])
    q = fit_quality(fit_linear(rho, off), rho)
    assert q.status == "warning" and RESIDUAL_WARN < q.max_abs_residual < RMSE_REFUSE
    assert q.rmse < RMSE_REFUSE and q.r2 > 0.999
    # Two densities: the line goes through both points; nothing checks it.
    q = fit_quality(fit_linear([0, 200], [5, 255]), [0, 200])
    assert q.status == "warning" and "only 2 distinct densities" in q.reasons[0]
    with pytest.raises(InputError, match="poor calibration fit"):
        profile_from_preset(
            "x", load_preset("qrm_bdc_6"), [rho / SLOPE + 5 + np.array([0, 30, -30, 0, 30, -30])]
        )
