"""Citations of the source papers (../shared/papers/README.md says how to cite each)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".json", ".txt", ".html", ".cmake", ".ui", ".toml"}
#: "Li Y" as an author abbreviation (not e.g. "Li Yang" in a name list of another paper).
WRONG_FIRST_AUTHOR = re.compile(r"\bLi Y\b(?!\w)")


def _project_text_files() -> list[Path]:
    """The files git tracks (or, outside a git checkout, every text file of the tree)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        files = [ROOT / name for name in listed]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in ROOT.rglob("*") if ".venv" not in p.parts and ".git" not in p.parts]
    return [p for p in files if p.suffix in TEXT_SUFFIXES and p.is_file()]


def test_focal_method_first_author_is_li_c():
    """Regression (issue 13): the focal method was cited as "Li Y, et al." (in results.json via
    osteoimaging/focal/pipeline.py and in docs/method.md on main at 4df79ae). The first author
    is Li C (Chentian Li): Li C, Ma C, Zhuo X, et al. JOR Spine 2022;5(1):e1195."""
    this = Path(__file__).resolve()
    wrong = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _project_text_files()
        if path.resolve() != this
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if WRONG_FIRST_AUTHOR.search(line)
    ]
    assert not wrong, "cite the focal paper as Li C, et al. (not Li Y): " + ", ".join(wrong)
