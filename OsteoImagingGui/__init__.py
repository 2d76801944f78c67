"""Qt-side helpers shared by the OsteoImaging Slicer modules (runs only inside Slicer).

Kept to what every widget needs and what cannot live in the logic layer: the scripted
module template's parameter-node life cycle (:class:`ParameterNodeWidget`), a progress
dialog with Cancel driving a ``progress(fraction, message)`` callback, Python packages
installed on first use from the module's ``Resources/requirements.txt`` after the user
agrees (``slicer.packaging.pip_ensure`` on Slicer 5.12, ``slicer.util.pip_install`` after
a confirmation on 5.10; never during a self-test), and a parameter-node connector for a
file path that may be unset.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pathlib
import types
import typing
from collections.abc import Callable
from pathlib import Path

import ctk
import qt
import slicer
import vtk
from packaging.requirements import Requirement
from slicer.i18n import tr as _
from slicer.parameterNodeWrapper import GuiConnector, parameterNodeGuiConnector
from slicer.ScriptedLoadableModule import ScriptedLoadableModuleWidget
from slicer.util import VTKObservationMixin

from osteoimaging.errors import CancelledError

REQUESTER = "OsteoImaging"


class ParameterNodeWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """A module widget whose .ui is bound to its parameter node by ``connectGui``.

    Subclasses set ``uiName`` and ``logicClass`` and define ``connectButtons()`` and
    ``onParameters(caller=None, event=None)``, which runs on every parameter change and
    only enables widgets and shows results (as the template's ``_checkCanApply``).
    """

    uiName = ""
    logicClass = None

    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._running = False

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
        """The module is unloaded: release the parameter node and every observation."""
        self.setParameterNode(None)
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
            self._parameterNodeGuiTag = None
            self.removeObserver(
                self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameters
            )
        self._parameterNode = parameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameters)
            self.onParameters()

    def runWork(self, title: str, work: Callable, buttons=()):
        """``work(progress)`` under the progress dialog, with ``buttons`` disabled meanwhile
        (no second run can start); errors are shown by ``tryWithErrorDisplay``."""
        if self._running:
            return None
        self._running = True
        for button in buttons:
            button.enabled = False
        try:
            with slicer.util.tryWithErrorDisplay(_("{title} failed.").format(title=title)):
                return run_with_progress(title, work)
        finally:
            self._running = False
            if self._parameterNode:
                self.onParameters()


def run_with_progress(title: str, work: Callable):
    """Run ``work(progress)`` under a modal progress dialog with a Cancel button.

    The logic reports through ``progress(fraction, message)``; Cancel makes it return
    False, which the logic turns into CancelledError at its next check. Returns
    ``work``'s result, or None when the user cancelled.
    """
    dialog = slicer.util.createProgressDialog(
        parent=slicer.util.mainWindow(), windowTitle=title, labelText=title, maximum=1000
    )
    dialog.setCancelButtonText(_("Cancel"))
    dialog.setMinimumDuration(0)

    def progress(fraction: float, message: str = "") -> bool:
        dialog.setValue(min(max(round(1000 * fraction), 0), 1000))
        if message:
            dialog.setLabelText(f"{title}: {message}")
        slicer.app.processEvents()
        return not dialog.wasCanceled

    try:
        with slicer.util.WaitCursor():
            return work(progress)
    except CancelledError:
        slicer.util.showStatusMessage(_("{title}: cancelled").format(title=title), 3000)
        return None
    finally:
        dialog.close()


# -- Python packages on first use --------------------------------------------------------------


def load_requirements(path: str | Path) -> list[Requirement]:
    """The requirements of a ``requirements.txt`` (comments and pip options skipped), as
    ``slicer.packaging.load_requirements`` reads them (that function is 5.12 only)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-")):
            out.append(Requirement(line))
    return out


def module_requirements(module_file: str, *names: str) -> list[Requirement]:
    """The requirements named ``names`` (distribution names) in the module's
    ``Resources/requirements.txt``."""
    path = Path(module_file).resolve().parent / "Resources" / "requirements.txt"
    wanted = {n.lower() for n in names}
    found = [r for r in load_requirements(path) if r.name.lower() in wanted]
    if len(found) != len(wanted):
        raise KeyError(f"{path} does not list {sorted(wanted - {r.name.lower() for r in found})}")
    return found


def is_satisfied(requirement: Requirement) -> bool:
    """Installed at an acceptable version (markers that do not apply count as satisfied)."""
    if requirement.marker is not None and not requirement.marker.evaluate():
        return True
    try:
        installed = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return requirement.specifier.contains(installed, prereleases=True)


def _confirm_install(missing: list[Requirement], purpose: str, note: str = "") -> bool:
    """The module's own install question (OK/Cancel), with ``note`` between the package
    list and the question."""
    text = _(
        "{purpose} needs these Python packages, which are not installed yet:\n\n{packages}"
    ).format(purpose=purpose, packages="\n".join(str(r) for r in missing))
    if note:
        text += "\n\n" + note
    text += "\n\n" + _("Install them now? This downloads them from the Python Package Index.")
    title = _("{requester} - Install Python Packages").format(requester=REQUESTER)
    return bool(slicer.util.confirmOkCancelDisplay(text, windowTitle=title))


def ensure_requirements(requirements: list[Requirement], purpose: str, note: str = "") -> bool:
    """Install what is missing after the user agrees; True if everything is installed now.

    Slicer 5.12: ``slicer.packaging.pip_ensure`` (its own confirmation and progress
    dialogs; skipped in testing mode). Slicer 5.10: a confirmation, then
    ``slicer.util.pip_install``. Never installs during a self-test (testing mode).

    ``note``: what the user should know before agreeing (e.g. the download size); with a
    note the question is always the module's own dialog, and on 5.12 ``pip_ensure`` then
    installs without asking a second time (its progress dialog stays).
    """
    missing = [r for r in requirements if not is_satisfied(r)]
    if not missing:
        return True
    try:
        import slicer.packaging as packaging
    except ImportError:  # Slicer 5.10
        packaging = None
    if packaging is not None and hasattr(packaging, "pip_ensure"):
        if note and (slicer.app.testingEnabled() or not _confirm_install(missing, purpose, note)):
            return False
        try:
            packaging.pip_ensure(missing, requester=REQUESTER, prompt_install=not note)
        except RuntimeError:  # "User declined package installation"
            return False
    else:
        if slicer.app.testingEnabled():
            return False
        if not _confirm_install(missing, purpose, note):
            return False
        with slicer.util.WaitCursor():
            slicer.util.pip_install([str(r) for r in missing])
    importlib.invalidate_caches()
    return all(is_satisfied(r) for r in missing)


# -- an optional file path in the parameter node ------------------------------------------------


def _is_optional_path(datatype) -> bool:
    if isinstance(datatype, types.UnionType):
        datatype = typing.Union[tuple(typing.get_args(datatype))]  # noqa: UP007
    if typing.get_origin(datatype) is typing.Annotated:
        datatype = typing.get_args(datatype)[0]
    return typing.get_origin(datatype) is typing.Union and set(typing.get_args(datatype)) == {
        pathlib.Path,
        type(None),
    }


@parameterNodeGuiConnector
class PathLineEditToOptionalPathConnector(GuiConnector):
    """``Path | None`` ↔ ``ctkPathLineEdit``: an unset path shows an empty field (a plain
    ``Path`` parameter has no "unset" and shows ``.``)."""

    @staticmethod
    def canRepresent(widget, datatype) -> bool:
        return type(widget) is ctk.ctkPathLineEdit and _is_optional_path(datatype)

    @staticmethod
    def create(widget, datatype):
        if PathLineEditToOptionalPathConnector.canRepresent(widget, datatype):
            return PathLineEditToOptionalPathConnector(widget)
        return None

    def __init__(self, widget):
        super().__init__()
        self._widget = widget

    def _connect(self):
        self._widget.currentPathChanged.connect(self.changed)

    def _disconnect(self):
        self._widget.currentPathChanged.disconnect(self.changed)

    def widget(self):
        return self._widget

    def read(self):
        return Path(self._widget.currentPath) if self._widget.currentPath else None

    def write(self, value) -> None:
        self._widget.currentPath = "" if value is None else str(value)


# -- files and views ----------------------------------------------------------------------------


def save_file_name(caption: str, default_name: str, file_filter: str) -> str:
    """A file name from a save dialog ('' if cancelled)."""
    return qt.QFileDialog.getSaveFileName(
        slicer.util.mainWindow(), caption, default_name, file_filter
    )


def folder_name(caption: str) -> str:
    """A folder from a folder dialog ('' if cancelled)."""
    return qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), caption)


def warn(message: str) -> None:
    """A notice for the user that needs no answer: status bar and application log."""
    logging.warning(message)
    slicer.util.showStatusMessage(message, 10000)
