"""Save and load a scene bundle (.mrb): inputs, segmentations, maps, tables in one file.

Uses ``vtkMRMLScene.WriteToMRB``/``ReadFromMRB`` (Slicer ≥ 5.2), which write each
storable node with its default storage node into a zipped folder with the .mrml file.
Loading needs a scene equipped like the application's (see :func:`.app.headless_slicer`)
so that segmentation converters and colour tables are known.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import slicer

from osteoimaging.errors import InputError


def _messages_text(messages) -> str:
    return "; ".join(messages.GetNthMessageText(i) for i in range(messages.GetNumberOfMessages()))


@contextlib.contextmanager
def _keep_cwd():
    """Restore the working directory: ``ReadFromMRB`` changes it to its unzip folder and,
    when the bundle is broken, leaves it there after deleting that folder."""
    cwd = os.getcwd()
    try:
        yield
    finally:
        os.chdir(cwd)


@contextlib.contextmanager
def _quiet_vtk():
    import vtk

    previous = vtk.vtkObject.GetGlobalWarningDisplay()
    vtk.vtkObject.GlobalWarningDisplayOff()
    try:
        yield
    finally:
        vtk.vtkObject.SetGlobalWarningDisplay(previous)


def save_bundle(scene, path: str | Path) -> Path:
    """Write ``scene`` as a .mrb bundle, atomically."""
    path = Path(path)
    if path.suffix.lower() != ".mrb":
        raise InputError("scene bundle must end in .mrb", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    messages = slicer.vtkMRMLMessageCollection()
    # The bundle's inner folder and .mrml are named after the file: write under the final
    # name in a private folder, then rename into place.
    with tempfile.TemporaryDirectory(prefix=".osteo-mrb-", dir=path.parent) as folder:
        tmp = Path(folder) / path.name
        with _keep_cwd(), _quiet_vtk():  # the zip writer logs every file it adds
            written = scene.WriteToMRB(str(tmp), None, messages)
        if not written or not tmp.is_file():
            raise InputError(f"could not save the scene: {_messages_text(messages)}", path)
        os.replace(tmp, path)
    return path


def load_bundle(scene, path: str | Path) -> None:
    """Read a .mrb bundle into ``scene`` (replacing its content)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("scene bundle not found", path)
    messages = slicer.vtkMRMLMessageCollection()
    with _keep_cwd():
        read = scene.ReadFromMRB(str(path), True, messages)
    if not read:
        raise InputError(f"could not load the scene: {_messages_text(messages)}", path)
