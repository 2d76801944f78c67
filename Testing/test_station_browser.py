"""The browser station in a real browser: Playwright drives Debian's headless Chromium.

``osteo station`` runs on the example CT in a subprocess; the test chooses the series in
the page, clicks the middle of L1's body in the axial view (the pixel computed from the
view's own slice geometry), waits for the overlay and the row, reads the row from the
page, and checks it equals ``osteo focal --seed`` at the same RAS point; then L2 from a
second click, named by the station as the level after L1. The study report is fetched,
path traversal on the download route is refused, nothing from the data shows up in the
URL, title or server log, and a screenshot is taken (kept for the docs with
``OSTEO_UPDATE_DOCS_FIGURES=1``)
(``docs/figures/station_l1_l2.png``).

Needs ``/usr/bin/chromium`` (Debian's ``chromium``); never ``playwright install``.
The helpers here are also used by ``bench/bench_station.py``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1440, "height": 900}
FIGURE = ROOT / "docs" / "figures" / "station_l1_l2.png"
#: Levels of the example CT's TotalSegmentator label map (see ../shared/data/README.md).
LABELS = {"L1": 20, "L2": 21}


# -- helpers (also used by bench/bench_station.py) ---------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StationProcess:
    """``osteo station DATA_DIR --port N`` in a subprocess; its output goes to a log file."""

    def __init__(self, data_dir: Path, log_path: Path, timeout_s: float = 180.0):
        self.port = free_port()
        self.log_path = log_path
        self._log = log_path.open("w", encoding="utf-8")
        command = [sys.executable, "-m", "osteoimaging", "station", str(data_dir)]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + timeout_s
        while f"station: {self.url}" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the station did not start:\n{self.log()}")
            time.sleep(0.25)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def body_centre_ras(folder: Path, level: str) -> np.ndarray:
    """The voxel centre nearest the centroid of ``level``'s vertebral body (label map ∩
    body part), RAS mm."""
    from osteoimaging.geometry import lps_to_ras
    from osteoimaging.imageio import read_image

    labels = read_image(folder / "totalseg_vertebrae_pp_refined.nii.gz")
    body = read_image(folder / "totalseg_vertebrae_body.nii.gz")
    mask = (labels.array == LABELS[level]) & (body.array == 1)
    centre = np.rint(np.argwhere(mask).mean(axis=0)[::-1])
    return np.asarray(lps_to_ras(labels.index_to_physical(centre)), dtype=float)


def label_at(folder: Path, ras) -> int:
    from osteoimaging.geometry import ras_to_lps
    from osteoimaging.imageio import read_image

    labels = read_image(folder / "totalseg_vertebrae_pp_refined.nii.gz")
    i, j, k = np.rint(labels.physical_to_index(ras_to_lps(ras))).astype(int)
    return int(labels.array[k, j, i])


def launch(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page(viewport=VIEWPORT)
    return browser, page


def state(page, name: str):
    return page.evaluate(f"window.trame.state.get({json.dumps(name)})")


def choose(page, select_id: str, option: str) -> None:
    """Pick ``option`` in the page's select ``select_id`` as a user does."""
    page.locator(".v-select", has=page.locator(select_id)).click()
    page.get_by_role("option", name=option, exact=True).click()


def open_series(page, url: str, title: str) -> None:
    """Open the station and choose the series named ``title`` in its series list."""
    page.goto(url)
    page.wait_for_function(
        "window.trame && window.trame.state"
        " && (window.trame.state.get('series_items') || []).length"
    )
    choose(page, "#series-select", title)
    page.wait_for_function(
        "window.trame.state.get('status').startsWith('CT ')"
        " && (window.trame.state.get('view_geometry') || {}).Red",
        timeout=60_000,
    )


def axial_pixel(page, ras) -> tuple[float, float]:
    """Bring the axial view's slice through ``ras`` (its slice slider) and return the page
    pixel of ``ras`` in it, from the view's XY→RAS matrix and the element's box."""
    z = float(ras[2])
    page.evaluate(f"window.trame.state.set('Red__SliderState__value', {z!r})")
    page.wait_for_function(
        f"Math.abs(window.trame.state.get('view_geometry').Red.xy_to_ras[11] - {z!r}) < 1.6"
    )
    geometry = state(page, "view_geometry")["Red"]
    xy_to_ras = np.array(geometry["xy_to_ras"]).reshape(4, 4)
    x, y = np.linalg.solve(xy_to_ras, [*map(float, ras), 1.0])[:2]
    width, height = geometry["dimensions"]
    box = page.locator(".layout-grid-item .remote-controlled-area").first.bounding_box()
    # The view's display y runs up from the bottom (VTK); the page's down from the top.
    return box["x"] + x * box["width"] / width, box["y"] + box["height"] - y * box[
        "height"
    ] / height


def click_and_wait(page, ras, timeout_ms: float = 240_000) -> dict:
    """Click ``ras`` in the axial view; wait for the new row; return timings (s) and the
    row as the page shows it."""
    level = state(page, "level")
    px = axial_pixel(page, ras)
    t0 = time.perf_counter()
    page.mouse.click(*px)
    page.wait_for_function(
        "window.trame.state.get('busy') || window.trame.state.get('error')", timeout=30_000
    )
    t_busy = time.perf_counter() - t0
    row = page.locator(f'#results tr[data-level="{level}"]')
    page.wait_for_function(
        f"""document.querySelector('#results tr[data-level="{level}"]')
            || window.trame.state.get('error')""",
        timeout=timeout_ms,
    )
    assert not state(page, "error"), state(page, "error")
    page.wait_for_function(f"window.trame.state.get('shown_level') === '{level}'")
    t_row = time.perf_counter() - t0
    cells = {
        cell.get_attribute("data-column"): (cell.get_attribute("data-value"), cell.inner_text())
        for cell in row.locator("td").all()
    }
    return {
        "level": level,
        "pixel": px,
        "busy_s": t_busy,
        "row_s": t_row,
        "server": state(page, "last_timing"),
        "seed": json.loads(row.get_attribute("data-seed")),
        "row": json.loads(row.get_attribute("data-row")),
        "cells": cells,
    }


def coloured_pixels(page, centre, half: int = 40) -> int:
    """Pixels around ``centre`` in a screenshot that are not grey (map or outline)."""
    from io import BytesIO

    from PIL import Image

    x, y = centre
    clip = {"x": x - half, "y": y - half, "width": 2 * half, "height": 2 * half}
    rgb = np.asarray(Image.open(BytesIO(page.screenshot(clip=clip))).convert("RGB"), int)
    return int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum())


def cli_rows(folder: Path, seeds: dict, out: Path) -> dict:
    """``osteo focal --seed`` at the same points, one run for all levels: rows by level."""
    args = [f"--seed={','.join(repr(float(v)) for v in seed)}" for seed in seeds.values()]
    command = [sys.executable, "-m", "osteoimaging", "focal", str(folder / "example_ct.nii.gz")]
    done = subprocess.run(
        [*command, *args, "--levels", ",".join(seeds), "--out", str(out)],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {row["level"]: row for row in results["vertebrae"]}


# -- the test ----------------------------------------------------------------------------


def _exact_text(value) -> str:
    """How the page writes a value into its cell's data-value (floats: repr, exact)."""
    if isinstance(value, float):
        return "NaN" if np.isnan(value) else repr(value)
    return "" if value is None else str(value)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


@pytest.mark.slow
@pytest.mark.shared_data
def test_click_l1_and_l2_in_the_browser(shared_data, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium (Debian)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    pytest.importorskip("trame_slicer", reason="the station extra is not installed")
    folder = shared_data("ct/totalseg-example")
    targets = {level: body_centre_ras(folder, level) for level in LABELS}

    station = StationProcess(folder, tmp_path / "station.log")
    try:
        with sync_api.sync_playwright() as playwright:
            browser, page = launch(playwright)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            open_series(page, station.url, "example_ct.nii.gz")
            assert page.title() == "OsteoImaging station"
            choose(page, "#level-select", "L1")  # the reader names the first level
            # A click outside bone: the pipeline's error is shown, nothing is measured.
            air = targets["L1"] + np.array([0.0, 150.0, 0.0])  # 15 cm anterior: bowel/air
            page.mouse.click(*axial_pixel(page, air))
            page.wait_for_function("window.trame.state.get('error')", timeout=240_000)
            air_error = page.locator("#error").inner_text()
            page.locator("#error button").click()  # closed by the reader
            page.wait_for_function("!window.trame.state.get('error')")
            assert state(page, "rows") == [] and state(page, "level") == "L1"
            clicks = {"L1": click_and_wait(page, targets["L1"])}
            assert state(page, "level") == "L2"  # the next click is the level after L1
            clicks["L2"] = click_and_wait(page, targets["L2"])
            page.wait_for_timeout(1500)  # the last frame of the views
            overlay = {lv: coloured_pixels(page, c["pixel"]) for lv, c in clicks.items()}
            # The docs' screenshot is refreshed on request only (tests leave the tree as is).
            shot = FIGURE if os.environ.get("OSTEO_UPDATE_DOCS_FIGURES") else tmp_path / FIGURE.name
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 50_000
            legend = page.locator("#legend").inner_text()

            page.locator("#report-button").click()
            page.wait_for_function("window.trame.state.get('report_url')")
            report_url = station.url + state(page, "report_url")
            report = page.request.get(report_url)
            report_text = report.text() if report.ok else ""
            traversal = [
                page.request.get(station.url + path)
                for path in (
                    "downloads/../../../../etc/passwd",
                    "downloads/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                    "downloads/..%2F..%2F..%2Fetc%2Fpasswd",
                    f"downloads/{folder}/example_ct.nii.gz",
                )
            ]
            traversal_text = [r.text() if r.ok else "" for r in traversal]
            page_url = page.url
            browser.close()
    finally:
        station.stop()
    log = station.log()

    assert any(word in air_error for word in ("bone", "vertebral", "seed")), air_error
    # The clicks landed in L1's and L2's bodies, and the overlay is over them.
    for level, click in clicks.items():
        assert np.linalg.norm(np.subtract(click["seed"], targets[level])) < 3.0, click["seed"]
        assert label_at(folder, click["seed"]) == LABELS[level]
        assert overlay[level] > 200, overlay  # map colours and the body outline
    assert "Focal BMC loss (mm)" in legend
    # The rows equal osteo focal --seed at the very same points (every column).
    cli = cli_rows(folder, {lv: c["seed"] for lv, c in clicks.items()}, tmp_path / "cli")
    for level, click in clicks.items():
        row, expected = click["row"], cli[level]
        assert list(row) == list(expected)
        different = [k for k in expected if not _same(row[k], expected[k])]
        assert not different, {k: (row[k], expected[k]) for k in different}
        for key, (value, _text) in click["cells"].items():  # the table's exact values
            assert value == _exact_text(expected[key]), (key, value, expected[key])
        assert click["cells"]["focal_bmc_loss_mm"][1] == f"{expected['focal_bmc_loss_mm']:.3f}"
        assert expected["qc_flags"] == "coarse_scan"  # 3 mm voxels, said on the page too
        assert click["cells"]["qc"][1] == "flagged: coarse_scan"
    # The study report holds both levels.
    assert report.ok and "L1" in report_text and "L2" in report_text
    # Only the station's own outputs are served; nothing from the data in URL, title, log.
    assert not any("root:" in text for text in traversal_text)
    assert not any(r.ok for r in traversal[-1:])
    assert page_url in (station.url, station.url + "index.html")  # no path, id or UID
    assert "example_ct" not in log and str(folder) not in log
    assert "Traceback" not in log and not errors, (log, errors)
    print({lv: {k: c[k] for k in ("busy_s", "row_s", "server")} for lv, c in clicks.items()})
