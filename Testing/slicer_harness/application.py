"""``slicer.app`` (qSlicerApplication), its main window, layout and module managers.

Everything a user would answer — message boxes, file dialogs, the progress dialog's
Cancel — is answered by the test through :class:`HarnessApplication` (``answer``,
``answer_file``, ``cancel_progress_when``). A dialog nobody expected raises
:class:`UnexpectedDialog`, so a flow cannot pass while an error box pops up unseen.
"""

# ruff: noqa: RUF012  (declared signals, properties and slots are class-level tables)

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .ctkwidgets import qSlicerScriptedLoadableModuleWidget
from .qobject import QObject, SignatureError
from .qtwidgets import QDialog, QMainWindow, QMessageBox, QPixmap, QWidget

_CURRENT: HarnessApplication | None = None


def current_app() -> HarnessApplication:
    if _CURRENT is None:
        raise RuntimeError("no Slicer harness application is running")
    return _CURRENT


class UnexpectedDialog(AssertionError):
    """A modal dialog the test did not say how to answer."""


BUTTONS = {
    "Ok": QMessageBox.Ok,
    "Cancel": QMessageBox.Cancel,
    "Yes": QMessageBox.Yes,
    "No": QMessageBox.No,
    "Retry": QMessageBox.Retry,
    "Close": QMessageBox.Close,
}


@dataclass
class Answer:
    match: str
    button: int
    used: bool = False


@dataclass
class CommandOptions:
    noMainWindow: bool = False
    runPythonAndExit: bool = False
    disableBuiltInLoadableModules: bool = False


@dataclass
class _Thread:
    name: str = "main"


class ModuleManager(QObject):
    signals = ("moduleAboutToBeUnloaded(QString)", "moduleLoaded(QString)")

    _py_attributes = ("modules",)

    def __init__(self):
        super().__init__(None)
        self.modules: dict = {}

    def module(self, name: str):
        return self.modules.get(name)

    def factoryManager(self):
        return self

    def loadedModuleNames(self) -> list[str]:
        return list(self.modules)


class SliceView(QWidget):
    def __init__(self, logic, parent=None):
        super().__init__(parent)
        self._logic = logic

    def grab(self) -> QPixmap:
        """What the view shows: the slice logic's blended layers (no annotations)."""
        from osteoimaging.mrml.views import render_slice

        node = self._logic.GetSliceNode()
        fov = max(node.GetFieldOfView()[:2])
        center = [node.GetSliceToRAS().GetElement(r, 3) for r in range(3)]
        return QPixmap(render_slice(self._logic, center, fov, pixels=512))


class SliceWidget(QWidget):
    def __init__(self, name: str, logic, parent=None):
        super().__init__(parent)
        self.objectName = f"qMRMLSliceWidget{name}"
        self._logic = logic
        self._view = SliceView(logic, self)

    def sliceView(self):
        return self._view

    def sliceLogic(self):
        return self._logic

    def mrmlSliceNode(self):
        return self._logic.GetSliceNode()


class LayoutManager(QObject):
    """qSlicerLayoutManager over the real vtkMRMLLayoutLogic and slice logics."""

    signals = ("layoutChanged(int)",)
    properties = {"layout": 0}

    def __init__(self, core):
        import slicer

        super().__init__(None)
        self._logic = slicer.vtkMRMLLayoutLogic()
        self._logic.SetMRMLScene(core.scene)
        self._slices = {name: SliceWidget(name, logic) for name, logic in core.slice_logics.items()}

    def layoutLogic(self):
        return self._logic

    def layoutNode(self):
        return self._logic.GetLayoutNode()

    def _get_layout(self) -> int:
        return self.layoutNode().GetViewArrangement()

    def _set_layout(self, arrangement) -> None:
        self.layoutNode().SetViewArrangement(int(arrangement))
        self._emit("layoutChanged(int)", int(arrangement))

    def setLayout(self, arrangement: int) -> None:
        self.layout = arrangement

    def sliceWidget(self, name: str):
        return self._slices.get(name)

    def sliceViewNames(self) -> list[str]:
        return list(self._slices)


@dataclass
class HarnessRecord:
    """What happened that a user would have seen."""

    dialogs: list = field(default_factory=list)
    answered: list = field(default_factory=list)
    file_dialogs: list = field(default_factory=list)


class HarnessApplication(QObject):
    """qSlicerApplication on a headless slicer-core scene."""

    signals = ("startupCompleted()", "aboutToQuit()", "lastWindowClosed()")
    properties = {
        "applicationName": "Slicer",
        "organizationName": "NA-MIC",
        "temporaryPath": "",
        "slicerHome": "",
        "intDir": "",
        "applicationVersion": "",
        "majorVersion": 5,
        "minorVersion": 10,
        "documentationBaseUrl": "https://slicer.readthedocs.io/en/latest/",
    }

    _py_attributes = (
        "core",
        "settings_store",
        "dialogs",
        "progress_dialogs",
        "record",
        "main_window",
        "module_manager",
        "layout_manager",
        "command_options",
    )

    def __init__(self, core, version: str, temporary_path: str, testing: bool = False):
        global _CURRENT
        super().__init__(None)
        _CURRENT = self
        self.core = core
        self.temporaryPath = temporary_path
        self.slicerHome = temporary_path
        self.applicationVersion = version
        major, minor = (int(x) for x in version.split(".")[:2])
        self.majorVersion, self.minorVersion = major, minor
        self._testing = testing
        self.settings_store: dict = {}
        self._timers: list = []
        self._timer_ids = itertools.count()
        self._cursor_depth = 0
        self._thread = _Thread()
        self._answers: list[Answer] = []
        self._file_answers: list[str] = []
        self._cancel_rules: list[Callable] = []
        self._event_hooks: list[Callable] = []
        self.dialogs: list = []
        self.progress_dialogs: list = []
        self.record = HarnessRecord()
        self.main_window = QMainWindow()
        self.main_window.objectName = "qSlicerMainWindow"
        self.main_window.show()
        self.module_manager = ModuleManager()
        self.layout_manager = LayoutManager(core)
        self.command_options = CommandOptions()

    def close(self) -> None:
        global _CURRENT
        if _CURRENT is self:
            _CURRENT = None

    # -- qSlicerApplication API --------------------------------------------------------------
    def testingEnabled(self) -> bool:
        return self._testing

    def setTestingEnabled(self, value: bool) -> None:
        self._testing = bool(value)

    def commandOptions(self):
        return self.command_options

    def mrmlScene(self):
        return self.core.scene

    def applicationLogic(self):
        return self.core.app_logic

    def moduleManager(self):
        return self.module_manager

    def layoutManager(self):
        return self.layout_manager

    def topLevelWidgets(self) -> list:
        return [self.main_window, *[d for d in self.dialogs if d.isVisible()]]

    def settings(self):
        from .qtwidgets import QSettings

        return QSettings()

    userSettings = settings

    def thread(self):
        return self._thread

    def translate(self, context: str, text: str) -> str:
        return text

    def moduleDocumentationUrl(self, name: str) -> str:
        return f"{self.documentationBaseUrl}user_guide/modules/{name.lower()}.html"

    def setOverrideCursor(self, cursor) -> None:
        self._cursor_depth += 1

    def restoreOverrideCursor(self) -> None:
        if self._cursor_depth == 0:
            raise SignatureError("restoreOverrideCursor without a matching setOverrideCursor")
        self._cursor_depth -= 1

    @property
    def override_cursor_depth(self) -> int:
        return self._cursor_depth

    # -- event loop ---------------------------------------------------------------------------
    def schedule(self, msec: int, callback: Callable) -> None:
        due = time.monotonic() + max(int(msec), 0) / 1000.0
        heapq.heappush(self._timers, (due, next(self._timer_ids), callback))

    def processEvents(self, *flags, fast_forward: bool = False) -> None:
        """Run due timers (all pending ones with ``fast_forward``) and the test's hooks."""
        now = time.monotonic()
        while self._timers and (fast_forward or self._timers[0][0] <= now):
            _, _, callback = heapq.heappop(self._timers)
            callback()
        for hook in list(self._event_hooks):
            hook()

    def during_events(self, hook: Callable) -> None:
        """Call ``hook()`` whenever events are processed (a user acting while work runs)."""
        self._event_hooks.append(hook)

    # -- dialogs --------------------------------------------------------------------------------
    def answer(self, match: str, button: str | int) -> None:
        """Answer the next modal dialog whose title or text contains ``match``."""
        self._answers.append(Answer(match, BUTTONS.get(button, button)))

    def answer_file(self, path: str) -> None:
        """The path the user picks in the next file dialog ('' = Cancel)."""
        self._file_answers.append(str(path))

    def cancel_progress_when(self, rule: Callable) -> None:
        """Press Cancel on a progress dialog when ``rule(dialog)`` is true."""
        self._cancel_rules.append(rule)

    def unused_answers(self) -> list[str]:
        return [a.match for a in self._answers if not a.used] + self._file_answers

    def answer_dialog(self, dialog) -> int:
        if not isinstance(dialog, QMessageBox):
            return self._run_plain_dialog(dialog)
        title, text = dialog.windowTitle.strip(), dialog.text
        self.record.dialogs.append((title, text, dialog.detailedText))
        for answer in self._answers:
            if not answer.used and (answer.match in title or answer.match in text):
                answer.used = True
                if not answer.button & dialog.standardButtons:
                    raise SignatureError(f"dialog {title!r} has no such button ({answer.button})")
                detail = f"{text}\n{dialog.detailedText}"
                self.record.answered.append((title, detail, answer.button))
                return answer.button
        raise UnexpectedDialog(f"unexpected dialog {title!r}: {text}\n{dialog.detailedText}")

    def _run_plain_dialog(self, dialog: QDialog) -> int:
        dialog.show()
        dialog._shown = True
        while dialog.isVisible() and self._timers:
            self.processEvents(fast_forward=True)
        if dialog.isVisible():
            raise UnexpectedDialog(f"modal dialog {dialog.windowTitle!r} would wait forever")
        return QDialog.Accepted

    def answer_file_dialog(self, kind: str, caption: str, directory: str, filters: str) -> str:
        self.record.file_dialogs.append((kind, caption, directory, filters))
        if not self._file_answers:
            raise UnexpectedDialog(f"unexpected file dialog {caption!r}")
        return self._file_answers.pop(0)

    def on_progress(self, dialog) -> None:
        for rule in self._cancel_rules:
            if rule(dialog):
                dialog.cancel()

    def status_messages(self) -> list[str]:
        return [m for m, _ in self.main_window.statusBar().messages]


class ModulePanel(qSlicerScriptedLoadableModuleWidget):
    pass
