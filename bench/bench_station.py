"""Benchmark: click → overlay and row in the browser station (target ≤ 3 s).

Starts ``osteo station`` on the example CT (3 mm), waits for its warm-up, opens the page
in Debian's headless Chromium (Playwright), and clicks the middle of L1 and L2 in the
axial view in turn, ``--repeat`` times each. For every click it records, from the
browser, the time from the mouse click until the row is in the results table and the
overlay is shown; the station's own time for the measurement; and the CPU time the
station process used (all threads). Prints one line per click, the medians and the load
average; exits 1 when the median click → row time misses the target.

    PYTHONPATH=$PWD python bench/bench_station.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Testing"))

from test_station_browser import (  # noqa: E402
    StationProcess,
    body_centre_ras,
    click_and_wait,
    launch,
    open_series,
)

TARGET_S = 3.0
DATA = ROOT.parent / "shared" / "data" / "ct" / "totalseg-example"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="clicks per level [3]")
    parser.add_argument("--data", type=Path, default=DATA, help="the example CT's folder")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    targets = {level: body_centre_ras(args.data, level) for level in ("L1", "L2")}
    with tempfile.TemporaryDirectory() as tmp:
        station = StationProcess(args.data, Path(tmp) / "station.log")
        try:
            deadline = time.monotonic() + 300
            while "station: warm-up in" not in station.log() and time.monotonic() < deadline:
                time.sleep(0.5)
            results = []
            with sync_playwright() as playwright:
                browser, page = launch(playwright)
                open_series(page, station.url, "example_ct.nii.gz")
                for _ in range(args.repeat):
                    for level, ras in targets.items():
                        page.evaluate(f"window.trame.state.set('level', '{level}')")
                        page.wait_for_function(f"window.trame.state.get('level') === '{level}'")
                        cpu0 = cpu_seconds(station.process.pid)
                        click = click_and_wait(page, ras)
                        click["cpu_s"] = cpu_seconds(station.process.pid) - cpu0
                        results.append(click)
                        print(
                            f"{level}: click → row and overlay {click['row_s']:.2f} s "
                            f"(station {click['server']['total_s']:.2f} s, "
                            f"CPU {click['cpu_s']:.2f} s)",
                            flush=True,
                        )
                browser.close()
        finally:
            station.stop()
    median = statistics.median(r["row_s"] for r in results)
    cpu = statistics.median(r["cpu_s"] for r in results)
    load = os.getloadavg()
    print(
        f"median click → row and overlay {median:.2f} s (target ≤ {TARGET_S:.0f} s); "
        f"median station CPU {cpu:.2f} s; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
