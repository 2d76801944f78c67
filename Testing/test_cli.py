"""The ``osteo`` command line through a subprocess: help, version, info, phantom, demo, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from osteoimaging import __version__
from osteoimaging.imageio import read_image, write_image
from osteoimaging.volume import Volume


def run(cmd: list[str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, encoding="utf-8", timeout=timeout
    )


def test_help_and_version(osteo_cmd):
    out = run(osteo_cmd, "--help")
    assert out.returncode == 0
    for command in ("info", "phantom", "demo"):
        assert command in out.stdout
    out = run(osteo_cmd, "--version")
    assert out.returncode == 0 and __version__ in out.stdout


def test_no_command_prints_help_and_exits_2(osteo_cmd):
    out = run(osteo_cmd)
    assert out.returncode == 2 and "usage" in out.stdout


@pytest.mark.shared_data
def test_info_on_real_dicom_series(osteo_cmd, shared_data):
    out = run(osteo_cmd, "info", str(shared_data("ct/totalseg-dicom/series")))
    assert out.returncode == 0, out.stderr
    assert "512×512×20" in out.stdout
    assert "0.977×0.977×2.0 mm" in out.stdout
    assert "CT" in out.stdout


def test_info_json(osteo_cmd, tmp_path):
    vol = Volume(np.arange(60, dtype=np.int16).reshape(3, 4, 5) - 100, spacing=(0.5, 0.6, 2.0))
    path = write_image(vol, tmp_path / "v.nrrd")
    out = run(osteo_cmd, "info", str(path), "--json")
    info = json.loads(out.stdout)
    assert info["size"] == [5, 4, 3]
    assert info["spacing_mm"] == pytest.approx([0.5, 0.6, 2.0])
    assert info["min"] == -100 and info["max"] == -41


@pytest.mark.parametrize("case", ["missing", "garbage", "not3d", "spacing"])
def test_bad_input_exits_2_with_one_line(osteo_cmd, tmp_path, case):
    path = (
        tmp_path
        / {"missing": "none.nrrd", "garbage": "g.nii.gz", "not3d": "s.nrrd", "spacing": "s.mhd"}[
            case
        ]
    )
    args = ["info", str(path)]
    if case == "garbage":
        path.write_bytes(b"not an image at all" * 50)
    elif case == "not3d":
        import SimpleITK as sitk

        sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 4), np.int16)), str(path))
    elif case == "spacing":
        (tmp_path / "s.raw").write_bytes(bytes(128))
        path.write_text(
            "ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\n"
            "ElementType = MET_UCHAR\nElementSpacing = 0 1 1\n"
            "ElementDataFile = s.raw\n"
        )
    out = run(osteo_cmd, *args)
    assert out.returncode == 2, out
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("osteo:")]
    assert len(lines) == 1 and str(path) in lines[0]
    assert "Traceback" not in out.stderr


def test_debug_flag_shows_traceback(osteo_cmd, tmp_path):
    """Issue 14 item 14: ``--debug`` adds the traceback and keeps the exit code."""
    out = run(osteo_cmd, "--debug", "info", str(tmp_path / "none.nrrd"))
    assert out.returncode == 2 and "Traceback" in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("osteo: error: ")


# -- Issue 12 item 1: a core install whose CLI works -----------------------------------


def _fresh(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )


def test_version_and_help_import_no_subcommand_module():
    """``osteo --version``/``--help`` import neither the sub-commands nor numpy/SimpleITK
    (start-up ≤ 0.5 s); ``osteo CMD`` imports only that command's module."""
    code = (
        "import sys, contextlib, io\n"
        "from osteoimaging.cli.main import main\n"
        "for argv in (['--version'], ['--help']):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        main(argv)\n"
        "heavy = {'numpy', 'SimpleITK', 'pandas', 'scipy', 'matplotlib'} & set(sys.modules)\n"
        "cli = sorted(m for m in sys.modules if m.startswith('osteoimaging.cli.'))\n"
        "print(sorted(heavy), cli)\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['info', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('osteoimaging.cli.')))\n"
    )
    done = _fresh(code)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == "[] ['osteoimaging.cli.main']"
    assert second == "['osteoimaging.cli.info', 'osteoimaging.cli.main']"


def test_command_table_matches_the_modules():
    """main.COMMANDS (what --help lists without importing) is what each module registers."""
    import argparse

    from osteoimaging.cli.main import COMMANDS, build_parser

    for name, spec in COMMANDS.items():
        parser = build_parser(name)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        helps = {a.dest: a.help for a in sub._choices_actions}
        assert helps[name] == spec.help, name
        assert sub.choices[name].prog == f"osteo {name}"
    import osteoimaging.cli as package

    # Every module is a command, except the entry point and shared argument parsing.
    modules = {
        p.stem for p in Path(package.__file__).parent.glob("*.py") if p.stem not in ("main", "args")
    } - {"__init__"}
    assert modules == {spec.module.rsplit(".", 1)[1] for spec in COMMANDS.values()}


@pytest.fixture
def without_pandas(tmp_path) -> dict:
    """An environment in which ``import pandas`` fails as in a core install."""
    fake = tmp_path / "shadow" / "pandas"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'pandas'\", name='pandas')\n"
    )
    path = os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path)


def test_a_command_needing_a_missing_extra_exits_2_with_one_line(
    osteo_cmd, tmp_path, without_pandas
):
    env = without_pandas
    table = tmp_path / "r.csv"
    table.write_text("case_id,x\na,1\n")
    done = subprocess.run(
        [*osteo_cmd, "stats", "describe", str(table)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "osteo: error: osteo stats needs the 'cohort' extra: pip install 'osteoimaging[cohort]'"
    )
    done = subprocess.run(
        [*osteo_cmd, "radiomics", "apply", "m.json", "f.csv", "--out", "s.csv"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 2 and "needs the 'radiomics' extra" in done.stderr
    # Help still works, with every option (the module imports pandas only when it runs).
    done = subprocess.run([*osteo_cmd, "stats", "--help"], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "describe" in done.stdout and "report" in done.stdout
    # Commands of the core are not affected by the missing extra.
    vol = Volume(np.arange(60, dtype=np.int16).reshape(3, 4, 5) - 100)
    path = write_image(vol, tmp_path / "v.nrrd")
    done = subprocess.run([*osteo_cmd, "info", str(path)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    for command in ("--help", "info --help", "focal --help", "demo --help", "batch --help"):
        done = subprocess.run(
            [*osteo_cmd, *command.split()], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0 and "usage: osteo" in done.stdout, (command, done.stderr)


def test_phantom_command_writes_ct_mask_truth(osteo_cmd, tmp_path):
    out = run(
        osteo_cmd,
        "phantom",
        "--out-ct",
        str(tmp_path / "ct.nii.gz"),
        "--out-mask",
        str(tmp_path / "mask.nrrd"),
        "--size-mm",
        "20,16,12",
        "--bvtv",
        "0.2",
        "--defect",
        "0,0,0,3",
        "--seed",
        "4",
    )
    assert out.returncode == 0, out.stderr
    ct = read_image(tmp_path / "ct.nii.gz")
    mask = read_image(tmp_path / "mask.nrrd")
    assert mask.same_geometry(ct)
    truth = json.loads((tmp_path / "phantom_truth.json").read_text())
    assert truth["bvtv_outside_defects"] == pytest.approx(0.2, abs=0.01)
    assert not list(tmp_path.glob("*.part*"))


def test_demo_writes_outputs(osteo_cmd, tmp_path):
    out = run(osteo_cmd, "demo", "--out", str(tmp_path / "demo"), timeout=600)
    assert out.returncode == 0, out.stderr
    for name in ("ct.nrrd", "mask.nrrd", "mid_slices.png", "phantom_truth.json"):
        assert (tmp_path / "demo" / name).stat().st_size > 0
    assert "BV/TV" in out.stdout
