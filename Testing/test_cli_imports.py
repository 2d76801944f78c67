"""Command modules build their parsers in a core install: no extra is imported at module level.

Extras (pyproject's optional dependencies and matplotlib): pandas, scikit-learn, pyradiomics,
statsmodels, dask, PyYAML, matplotlib. A sub-command imports them inside the function that
needs them, so ``osteo stats --help`` works without the 'cohort' extra.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

EXTRAS = (
    "pandas",
    "sklearn",
    "radiomics",
    "statsmodels",
    "dask",
    "distributed",
    "yaml",
    "matplotlib",
)

PROBE = """
import argparse, importlib, importlib.abc, sys

BLOCKED = set(sys.argv[2].split(","))


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed (blocked by the test)")


sys.meta_path.insert(0, Blocker())
module = importlib.import_module(f"osteoimaging.cli.{sys.argv[1]}")
parser = argparse.ArgumentParser(prog="osteo")
module.register(parser.add_subparsers(dest="command"))
try:
    parser.parse_args([sys.argv[1], "--help"])
except SystemExit as stop:
    sys.exit(stop.code)
"""


@pytest.mark.parametrize("command", ["stats", "radiomics", "calibrate", "validate"])
def test_command_help_without_extras(command):
    """Regression (issue 13): osteoimaging.cli.stats and .radiomics imported pandas at module
    level (ImportError without the extras on main at 4df79ae)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, command, ",".join(EXTRAS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"usage: osteo {command}" in done.stdout
