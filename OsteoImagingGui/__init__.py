"""Qt-side helpers shared by the OsteoImaging Slicer modules (runs only inside Slicer).

Kept to what every widget needs and what cannot live in the logic layer: the scripted
module template's parameter-node life cycle (:class:`ParameterNodeWidget`), a progress
dialog with Cancel driving a ``progress(fraction, message)`` callback, and installing
optional Python packages on first use after the user confirms.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import qt
import slicer
import vtk
from slicer.ScriptedLoadableModule import ScriptedLoadableModuleWidget
from slicer.util import VTKObservationMixin

from osteoimaging.errors import CancelledError


class ParameterNodeWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """A module widget whose .ui is bound to its parameter node by ``connectGui``.

    Subclasses set ``uiName`` and ``logicClass`` and define ``connectButtons()`` and
    ``onParameters(caller=None, event=None)``, which runs on every parameter change (no
    hand-written widget↔node synchronisation: only enabling and showing results).
    """

    uiName = ""
    logicClass = None

    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath(f"UI/{self.uiName}.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = self.logicClass()
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.connectButtons()
        self.initializeParameterNode()

    def cleanup(self):
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        self.setParameterNode(None)

    def onSceneStartClose(self, caller, event):
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event):
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self):
        self.setParameterNode(self.logic.getParameterNode())

    def setParameterNode(self, parameterNode):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(
                self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameters
            )
        self._parameterNode = parameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameters)
            self.onParameters()

    def runWithPackages(self, title, requirements, purpose, work):
        """``work(progress)`` under the progress dialog, after installing what it needs;
        errors are shown by ``tryWithErrorDisplay`` (the widget boundary)."""
        with slicer.util.tryWithErrorDisplay(f"{title} failed.", waitCursor=False):
            if ensure_packages(requirements, purpose):
                result = run_with_progress(title, work)
                self.onParameters()
                return result
        return None


def run_with_progress(title: str, work: Callable):
    """Run ``work(progress)`` under a modal progress dialog with a Cancel button.

    The logic reports through ``progress(fraction, message)``; Cancel makes it return
    False, which the logic turns into CancelledError at its next check. Returns
    ``work``'s result, or None when the user cancelled.
    """
    dialog = slicer.util.createProgressDialog(
        parent=slicer.util.mainWindow(), windowTitle=title, labelText=title, maximum=1000
    )
    dialog.setCancelButtonText("Cancel")
    dialog.setMinimumDuration(0)

    def progress(fraction: float, message: str = "") -> bool:
        dialog.setValue(round(1000 * fraction))
        if message:
            dialog.setLabelText(f"{title}: {message}")
        slicer.app.processEvents()
        return not dialog.wasCanceled

    try:
        with slicer.util.WaitCursor():
            return work(progress)
    except CancelledError:
        slicer.util.showStatusMessage(f"{title}: cancelled", 3000)
        return None
    finally:
        dialog.close()


def missing_packages(requirements: dict[str, str]) -> list[str]:
    """Pip requirement strings whose import name (the dict key) is not importable."""
    return [req for name, req in requirements.items() if importlib.util.find_spec(name) is None]


def ensure_packages(requirements: dict[str, str], purpose: str) -> bool:
    """Install missing packages after the user confirms; False if the user declined.

    ``requirements`` maps import names to pip requirement strings. Uses
    ``slicer.pydeps.pip_ensure`` (Slicer ≥ 5.11) or ``slicer.util.pip_install``.
    """
    missing = missing_packages(requirements)
    if not missing:
        return True
    text = (
        f"{purpose} needs these Python packages, which are not installed yet:\n\n"
        + "\n".join(missing)
        + "\n\nInstall them now? This downloads them from the Python Package Index and "
        "may take a few minutes."
    )
    if not slicer.util.confirmOkCancelDisplay(text, windowTitle="Install Python packages"):
        return False
    with slicer.util.WaitCursor():
        if hasattr(slicer, "pydeps") and hasattr(slicer.pydeps, "pip_ensure"):
            from packaging.requirements import Requirement

            slicer.pydeps.pip_ensure([Requirement(r) for r in missing], requester="OsteoImaging")
        else:
            slicer.util.pip_install(missing)
    importlib.invalidate_caches()
    return not missing_packages(requirements)


def save_file_name(caption: str, default_name: str, file_filter: str) -> str:
    """A file name from a save dialog ('' if cancelled)."""
    return qt.QFileDialog.getSaveFileName(
        slicer.util.mainWindow(), caption, default_name, file_filter
    )


def slice_view_png(name: str = "Red") -> bytes | None:
    """PNG bytes of what a slice view shows now (None without a main window)."""
    import os
    import tempfile

    layout = slicer.app.layoutManager()
    widget = layout.sliceWidget(name) if layout is not None else None
    if widget is None:
        return None
    handle, path = tempfile.mkstemp(suffix=".png")
    os.close(handle)
    try:
        widget.sliceView().grab().save(path)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.remove(path)
