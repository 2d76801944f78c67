"""The study reports in a real browser: headless Chromium renders the focal page of a 5-level run
on the example CT with every level's row, overlay and sub-region grids, and the radiomics and
cohort statistics pages, and prints them on A4."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import CHROMIUM_ARGS, shared_path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LEVELS = ["T12", "L1", "L2", "L3", "L4"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_ARGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    from osteoimaging.case import BodySource, CaseRequest, measure_case
    from osteoimaging.case.outputs import write_case_outputs
    from osteoimaging.focal import FocalParameters
    from osteoimaging.imageio import read_image
    from osteoimaging.segmentation.labels import label_for_level

    folder = shared_path("ct/totalseg-example")
    request = CaseRequest(
        ct=read_image(folder / "example_ct.nii.gz"),
        bodies=[BodySource(lv, label=label_for_level(lv, "verse")) for lv in LEVELS],
        labels=read_image(folder / "totalseg_vertebrae_pp_refined.nii.gz"),
        params=FocalParameters(angle_step_deg=30.0),
        input_name="example_ct.nii.gz",
    )
    out = tmp_path_factory.mktemp("report")
    return write_case_outputs(measure_case(request), out)["report"]


@pytest.mark.slow
@pytest.mark.shared_data
def test_every_level_renders(report, tmp_path):
    done = chromium(tmp_path, "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    summary = dom[dom.index("<h2>Summary</h2>") : dom.index("<h2>Method and settings</h2>")]
    for level in LEVELS:
        assert re.search(rf'<a href="#level-{level}">{level}</a>', summary), level
        section = dom[dom.index(f'id="level-{level}"') :]
        section = section[: section.find("</section>")]
        assert section.count("data:image/png;base64,") == 3, level  # overlay + 2 grids
    assert dom.count("<img") == 5 * 3 + 4  # plus four bar charts across levels
    shot = tmp_path / "report.png"
    done = chromium(tmp_path, "--window-size=1100,1600", f"--screenshot={shot}", report.as_uri())
    assert done.returncode == 0 and shot.stat().st_size > 50_000


@pytest.mark.slow
@pytest.mark.shared_data
def test_prints_on_a4(report, tmp_path):
    pdf = tmp_path / "report.pdf"
    done = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes, "no page in the PDF"
    # A4 is 595 × 842 pt; one page per level section plus the summary.
    assert all(abs(float(w) - 595) < 2 and abs(float(h) - 842) < 2 for w, h in boxes)
    assert len(boxes) >= 1 + len(LEVELS)


# The radiomics and cohort statistics reports (synthetic data, Testing/test_report_pages.py).


@pytest.fixture(scope="module")
def other_reports(tmp_path_factory) -> dict[str, Path]:
    from test_report_pages import radiomics_report, statistics_report

    out = tmp_path_factory.mktemp("other-reports")
    return {
        "radiomics": radiomics_report(out / "radiomics")[0],
        "statistics": statistics_report(out / "statistics")[0],
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "headings", "images"),
    [
        ("radiomics", ["Summary", "Model", "Training", "Validation", "Method and references"], 6),
        ("statistics", ["Cohort", "Comparison by group", "Correlations"], 7),
    ],
)
def test_other_reports_render_and_print_on_a4(other_reports, name, headings, images, tmp_path):
    page = other_reports[name]
    done = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    for heading in headings:
        assert f"<h2>{heading}</h2>" in dom, heading
    assert dom.count('src="data:image/png;base64,') == images
    assert "<footer>" in dom and "OsteoImaging " in dom
    shot = tmp_path / f"{name}.png"
    done = chromium(tmp_path, "--window-size=1100,1600", f"--screenshot={shot}", page.as_uri())
    assert done.returncode == 0 and shot.stat().st_size > 50_000
    pdf = tmp_path / f"{name}.pdf"
    done = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    assert boxes and all(abs(float(w) - 595) < 2 and abs(float(h) - 842) < 2 for w, h in boxes)
