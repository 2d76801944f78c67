"""Shared fixtures: the real test data folder and small synthetic phantoms."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("OSTEO_SHARED_DATA", ROOT.parent / "shared" / "data"))


#: How the browser tests start Debian's Chromium: headless, no sandbox (root in CI), and
#: nothing that reaches for Google's hosts (the machine's network is closed).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def shared_path(relative: str) -> Path:
    """Path under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real test data not available: {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture
def shared_data():
    """A function mapping a path relative to ../shared/data to a Path (or skipping)."""
    return shared_path


@pytest.fixture(scope="session")
def osteo_cmd() -> list[str]:
    """The command that runs the CLI with this interpreter (works without the script)."""
    return [sys.executable, "-m", "osteoimaging"]


# The headless Slicer-core fixture of the MRML bridge tests (skips without slicer-core).
from mrml_harness import slicer_app  # noqa: E402, F401
