"""The Qt classes (module ``qt``) the modules, their ``.ui`` files and Slicer's Python layer use.

Behaviour kept from Qt where the modules depend on it: effective enabled/visible state
through the parent chain (a collapsed ``ctkCollapsibleButton`` hides its children), combo
boxes that select the first added item and emit on every index change, spin boxes that clamp
and round to ``decimals``, ``valueChanged`` emitted only on change, buttons that ignore clicks
while disabled. Dialogs and timers go through the harness application (``application.py``),
which answers them as the test says.
"""

# ruff: noqa: RUF012  (declared signals, properties and slots are class-level tables)

from __future__ import annotations

import time
from typing import Any

from .qobject import NotStoodIn, QObject, SignatureError


def _app():
    from .application import current_app

    return current_app()


class Qt:
    """The ``Qt`` namespace: only the enumerators used."""

    WaitCursor, BusyCursor, ArrowCursor = 3, 16, 0
    WindowCloseButtonHint = 0x08000000
    Key_Escape = 0x01000000
    WidgetWithChildrenShortcut, WindowShortcut = 1, 1
    ShiftModifier, NoModifier = 0x02000000, 0
    Vertical, Horizontal = 2, 1
    AlignLeft, AlignRight, AlignCenter = 0x1, 0x2, 0x84
    ToolButtonTextUnderIcon = 3


class QEventLoop:
    AllEvents, ExcludeUserInputEvents = 0, 1


class QColor:
    """Value class (the parameter node wrapper subclasses it at import)."""

    def __init__(self, *args):
        self._args = args

    def name(self, fmt: int = 0) -> str:
        return str(self._args[0]) if self._args else "#000000"


class QIcon:
    def __init__(self, path: str = ""):
        self.path = str(path)

    def isNull(self) -> bool:
        return not self.path


class QSize:
    def __init__(self, width: int = -1, height: int = -1):
        self._w, self._h = width, height

    def width(self) -> int:
        return self._w

    def height(self) -> int:
        return self._h


class QFont:
    TypeWriter, Monospace = 4, 7

    def __init__(self, family: str = ""):
        self.family = family

    def setStyleHint(self, hint: int) -> None:
        self.hint = hint


class QKeySequence:
    def __init__(self, key):
        self.key = key


class QFile:
    ReadOnly, WriteOnly = 1, 2

    def __init__(self, path: str):
        self._path = str(path)
        self._open = False

    def exists(self) -> bool:
        import os

        return os.path.isfile(self._path)

    def open(self, mode: int) -> bool:
        self._open = self.exists() if mode == QFile.ReadOnly else True
        return self._open

    def close(self) -> None:
        self._open = False

    def fileName(self) -> str:
        return self._path

    def remove(self) -> bool:
        import os

        try:
            os.remove(self._path)
        except OSError:
            return False
        return True


class QSettings:
    """Application settings, kept by the harness application for the session."""

    def __init__(self, *args):
        if args:
            raise NotStoodIn("QSettings(file, format) is not stood in")

    @staticmethod
    def _store() -> dict:
        return _app().settings_store

    def value(self, key: str, default=None):
        return self._store().get(key, default)

    def setValue(self, key: str, value) -> None:
        self._store()[key] = value

    def contains(self, key: str) -> bool:
        return key in self._store()

    def remove(self, key: str) -> None:
        self._store().pop(key, None)


class QTimer(QObject):
    signals = ("timeout()",)

    @staticmethod
    def singleShot(msec: int, callback) -> None:
        _app().schedule(msec, callback)


class QThread(QObject):
    @staticmethod
    def currentThread():
        return _app().thread()

    @staticmethod
    def msleep(msec: int) -> None:
        time.sleep(msec / 1000.0)


class QApplication(QObject):
    @staticmethod
    def setOverrideCursor(cursor) -> None:
        _app().setOverrideCursor(cursor)

    @staticmethod
    def restoreOverrideCursor() -> None:
        _app().restoreOverrideCursor()

    @staticmethod
    def processEvents(*flags) -> None:
        _app().processEvents()


# -- widgets ----------------------------------------------------------------------------------


class QWidget(QObject):
    signals = ("customContextMenuRequested(QPoint)", "windowTitleChanged(QString)")
    properties = {
        "enabled": True,
        "visible": True,
        "toolTip": "",
        "statusTip": "",
        "whatsThis": "",
        "windowTitle": "",
        "minimumWidth": 0,
        "minimumHeight": 0,
        "maximumHeight": 16777215,
        "maximumWidth": 16777215,
        "styleSheet": "",
    }
    slots = (
        "setEnabled(bool)",
        "setDisabled(bool)",
        "setVisible(bool)",
        "show()",
        "hide()",
        "close()",
        "update()",
        "repaint()",
    )

    def __init__(self, parent: QWidget | None = None, *args):
        super().__init__(parent)
        self._layout = None
        self._shown = False  # top-level windows need show()
        self._hidden = False  # explicitly hidden (setVisible(False))

    # effective state, as QWidget::isEnabled / isVisible
    def _get_enabled(self) -> bool:
        return self._values["enabled"] and (self._parent is None or self._parent_widget_enabled())

    def _parent_widget_enabled(self) -> bool:
        parent = self.parentWidget()
        return parent is None or parent.isEnabled()

    def _set_enabled(self, value) -> None:
        self._values["enabled"] = bool(value)

    def _get_visible(self) -> bool:
        return self.isVisible()

    def _set_visible(self, value) -> None:
        self._hidden = not bool(value)
        if value and self.parentWidget() is None:
            self._shown = True

    def isEnabled(self) -> bool:
        return self._get_enabled()

    def setEnabled(self, value: bool) -> None:
        self.enabled = value

    def setDisabled(self, value: bool) -> None:
        self.enabled = not value

    def isVisible(self) -> bool:
        if self._hidden:
            return False
        parent = self.parentWidget()
        if parent is None:
            return self._shown
        return parent.isVisible() and not parent._hides_children()

    def _hides_children(self) -> bool:
        return False

    def isHidden(self) -> bool:
        return self._hidden

    def setVisible(self, value: bool) -> None:
        self.visible = value

    def show(self) -> None:
        self.visible = True

    def hide(self) -> None:
        self.visible = False

    def close(self) -> bool:
        self._hidden = True
        self._shown = False
        return True

    def update(self) -> None:
        pass

    def repaint(self) -> None:
        pass

    def setToolTip(self, text: str) -> None:
        self.toolTip = text

    def setWindowTitle(self, title: str) -> None:
        self.windowTitle = title

    def setMinimumHeight(self, h: int) -> None:
        self.minimumHeight = h

    def setMaximumHeight(self, h: int) -> None:
        self.maximumHeight = h

    def resize(self, *size) -> None:
        pass

    def isWidgetType(self) -> bool:
        return True

    def parentWidget(self):
        parent = self._parent
        while parent is not None and not isinstance(parent, QWidget):
            parent = parent._parent
        return parent

    def layout(self):
        return self._layout

    def setLayout(self, layout) -> None:
        if self._layout is not None:
            raise SignatureError(f"{self!r} already has a layout")
        self._layout = layout
        layout.setParent(self)
        for widget in layout._pending:
            widget.setParent(self)
        layout._pending.clear()

    def ancestors(self):
        parent = self.parentWidget()
        while parent is not None:
            yield parent
            parent = parent.parentWidget()


class QLayout(QObject):
    properties = {"spacing": 6}

    def __init__(self, parent: QWidget | None = None):
        super().__init__(None)
        self._pending: list[QWidget] = []
        self._items: list = []
        if parent is not None:
            parent.setLayout(self)

    def parentWidget(self):
        parent = self._parent
        while parent is not None and not isinstance(parent, QWidget):
            parent = parent._parent
        return parent

    def _adopt(self, widget) -> None:
        owner = self.parentWidget()
        if owner is not None:
            widget.setParent(owner)
        else:
            self._pending.append(widget)

    def addWidget(self, widget, *args) -> None:
        if not isinstance(widget, QWidget):
            raise SignatureError(f"addWidget expects a QWidget, got {widget!r}")
        self._items.append(widget)
        self._adopt(widget)

    def addLayout(self, layout, *args) -> None:
        self._items.append(layout)
        layout.setParent(self)
        for widget in layout._pending:
            self._adopt(widget)
        layout._pending.clear()

    def addStretch(self, stretch: int = 0) -> None:
        self._items.append(None)

    def addItem(self, item) -> None:
        self._items.append(item)

    def setContentsMargins(self, *margins) -> None:
        pass

    def count(self) -> int:
        return len(self._items)

    def widgets(self) -> list:
        """Widgets in this layout and its nested layouts, in order (harness inspection)."""
        out = []
        for item in self._items:
            if isinstance(item, QWidget):
                out.append(item)
            elif isinstance(item, QLayout):
                out += item.widgets()
        return out


class QVBoxLayout(QLayout):
    pass


class QHBoxLayout(QLayout):
    pass


class QGridLayout(QLayout):
    pass


class QFormLayout(QLayout):
    def addRow(self, *args) -> None:
        for item in args:
            if isinstance(item, QWidget):
                self.addWidget(item)
            elif isinstance(item, QLayout):
                self.addLayout(item)
            elif isinstance(item, str):
                self.addWidget(QLabel(item))
            else:
                raise SignatureError(f"QFormLayout.addRow cannot take {item!r}")

    def setWidget(self, row: int, role: int, widget) -> None:
        self.addWidget(widget)


class QSpacerItem:
    def __init__(self, *args):
        self.args = args


class QFrame(QWidget):
    pass


class QLabel(QFrame):
    properties = {"text": "", "wordWrap": False, "alignment": Qt.AlignLeft, "textFormat": 0}
    slots = ("setText(QString)", "clear()")

    def __init__(self, text="", parent=None):
        if isinstance(text, QWidget):
            text, parent = "", text
        super().__init__(parent)
        self._values["text"] = str(text)

    def setText(self, text: str) -> None:
        self.text = str(text)

    def clear(self) -> None:
        self.text = ""


class QAbstractButton(QWidget):
    signals = ("clicked(bool)", "clicked()", "toggled(bool)", "pressed()", "released()")
    properties = {"text": "", "checkable": False, "checked": False, "icon": None}
    slots = ("click()", "toggle()", "setChecked(bool)")

    def __init__(self, text="", parent=None):
        if isinstance(text, QWidget):
            text, parent = "", text
        super().__init__(parent)
        self._values["text"] = str(text)

    def _set_checked(self, value) -> None:
        value = bool(value)
        if not self.checkable:
            return  # Qt ignores setChecked on a non-checkable button
        if value != self._values["checked"]:
            self._values["checked"] = value
            self._emit("toggled(bool)", value)
            self._on_checked_changed(value)

    def _on_checked_changed(self, value: bool) -> None:
        pass

    def setChecked(self, value: bool) -> None:
        self.checked = value

    def isChecked(self) -> bool:
        return self.checked

    def setText(self, text: str) -> None:
        self.text = text

    def setIcon(self, icon) -> None:
        self.icon = icon

    def toggle(self) -> None:
        self.checked = not self.checked

    def click(self) -> bool:
        """As QAbstractButton::click: nothing happens while the button is disabled."""
        if not self.isEnabled():
            return False
        self._emit("pressed()")
        self._emit("released()")
        if self.checkable:
            self.checked = not self.checked
        self._emit("clicked(bool)", bool(self.checked))
        self._emit("clicked()")
        return True


class QPushButton(QAbstractButton):
    properties = {"default": False, "flat": False}


class QToolButton(QAbstractButton):
    pass


class QCheckBox(QAbstractButton):
    signals = ("stateChanged(int)",)

    def _on_checked_changed(self, value: bool) -> None:
        self._emit("stateChanged(int)", 2 if value else 0)

    def __init__(self, text="", parent=None):
        super().__init__(text, parent)
        self._values["checkable"] = True


class QRadioButton(QAbstractButton):
    pass


class QComboBox(QWidget):
    signals = (
        "currentIndexChanged(int)",
        "currentIndexChanged(QString)",
        "currentTextChanged(QString)",
        "activated(int)",
    )
    properties = {"currentIndex": -1, "editable": False}
    slots = ("clear()", "setCurrentIndex(int)", "setCurrentText(QString)")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._items: list[tuple[str, Any]] = []

    def _set_currentIndex(self, index) -> None:
        index = int(index)
        if not -1 <= index < len(self._items):
            raise IndexError(f"{self!r}: index {index} outside 0..{len(self._items) - 1}")
        if index != self._values["currentIndex"]:
            self._values["currentIndex"] = index
            text = self._items[index][0] if index >= 0 else ""
            self._emit("currentIndexChanged(int)", index)
            self._emit("currentIndexChanged(QString)", text)
            self._emit("currentTextChanged(QString)", text)

    def _get_currentText(self) -> str:
        index = self._values["currentIndex"]
        return self._items[index][0] if index >= 0 else ""

    def addItem(self, text: str, userData=None) -> None:
        self._items.append((str(text), userData))
        if self._values["currentIndex"] < 0:
            self.currentIndex = 0

    def addItems(self, texts) -> None:
        for text in texts:
            self.addItem(text)

    def clear(self) -> None:
        self._items.clear()
        self.currentIndex = -1

    def count(self) -> int:
        return len(self._items)

    def itemText(self, index: int) -> str:
        return self._items[index][0]

    def itemData(self, index: int):
        return self._items[index][1]

    def findText(self, text: str) -> int:
        for i, (t, _) in enumerate(self._items):
            if t == text:
                return i
        return -1

    def setCurrentIndex(self, index: int) -> None:
        self.currentIndex = index

    def setCurrentText(self, text: str) -> None:
        index = self.findText(text)
        if index < 0:
            raise ValueError(f"{self!r} has no item {text!r}")
        self.currentIndex = index


class QLineEdit(QWidget):
    signals = (
        "textChanged(QString)",
        "textEdited(QString)",
        "editingFinished()",
        "returnPressed()",
    )
    properties = {"text": "", "placeholderText": "", "readOnly": False}
    slots = ("setText(QString)", "clear()")

    def _set_text(self, value) -> None:
        value = str(value)
        if value != self._values["text"]:
            self._values["text"] = value
            self._emit("textChanged(QString)", value)

    def setText(self, text: str) -> None:
        self.text = text

    def clear(self) -> None:
        self.text = ""


class QTextEdit(QWidget):
    signals = ("textChanged()",)
    properties = {"readOnly": False}


class QPlainTextEdit(QWidget):
    signals = ("textChanged()",)
    properties = {"readOnly": False, "plainText": ""}

    def setReadOnly(self, value: bool) -> None:
        self.readOnly = value

    def setFont(self, font) -> None:
        self._dynamic["__font"] = font

    def appendPlainText(self, text: str) -> None:
        self._values["plainText"] += ("\n" if self._values["plainText"] else "") + text

    def toPlainText(self) -> str:
        return self._values["plainText"]

    def verticalScrollBar(self):
        return QScrollBar()


class QScrollBar(QWidget):
    properties = {"value": 0, "maximum": 0, "minimum": 0}

    def setValue(self, value) -> None:
        self.value = value


class QAbstractSpinBox(QWidget):
    signals = ("editingFinished()",)
    properties = {"suffix": "", "prefix": "", "readOnly": False}


class QSpinBox(QAbstractSpinBox):
    signals = ("valueChanged(int)",)
    properties = {"value": 0, "minimum": 0, "maximum": 99, "singleStep": 1}

    def _set_value(self, value) -> None:
        value = int(min(max(int(value), self.minimum), self.maximum))
        if value != self._values["value"]:
            self._values["value"] = value
            self._emit("valueChanged(int)", value)

    def setRange(self, low, high) -> None:
        self.minimum, self.maximum = low, high
        self.value = self._values["value"]

    def setMinimum(self, low) -> None:
        self.setRange(low, max(low, self.maximum))

    def setMaximum(self, high) -> None:
        self.setRange(min(self.minimum, high), high)


class _DoubleValue:
    """Shared value logic of QDoubleSpinBox, ctkDoubleSpinBox and ctkSliderWidget."""

    def _clamp_round(self, value) -> float:
        value = float(value)
        value = min(max(value, self._values["minimum"]), self._values["maximum"])
        return round(value, int(self._values["decimals"]))

    def _set_value(self, value) -> None:
        value = self._clamp_round(value)
        if value != self._values["value"]:
            self._values["value"] = value
            self._emit("valueChanged(double)", value)

    def _set_minimum(self, low) -> None:
        self._values["minimum"] = float(low)
        if self._values["maximum"] < low:
            self._values["maximum"] = float(low)
        self.value = self._values["value"]

    def _set_maximum(self, high) -> None:
        self._values["maximum"] = float(high)
        if self._values["minimum"] > high:
            self._values["minimum"] = float(high)
        self.value = self._values["value"]

    def _set_decimals(self, decimals) -> None:
        self._values["decimals"] = int(decimals)
        self.value = self._values["value"]

    def setRange(self, low, high) -> None:
        self.minimum, self.maximum = low, high

    def setValue(self, value) -> None:
        self.value = value

    def setMinimum(self, low) -> None:
        self.minimum = low

    def setMaximum(self, high) -> None:
        self.maximum = high

    def setDecimals(self, decimals) -> None:
        self.decimals = decimals

    def setSingleStep(self, step) -> None:
        self.singleStep = step


DOUBLE_PROPERTIES = {
    "value": 0.0,
    "minimum": 0.0,
    "maximum": 99.99,
    "singleStep": 1.0,
    "decimals": 2,
}


class QDoubleSpinBox(_DoubleValue, QAbstractSpinBox):
    signals = ("valueChanged(double)",)
    properties = dict(DOUBLE_PROPERTIES)


class QSlider(QWidget):
    signals = ("valueChanged(int)", "sliderMoved(int)")
    properties = {"value": 0, "minimum": 0, "maximum": 99, "orientation": Qt.Horizontal}


class QProgressBar(QWidget):
    properties = {"value": 0, "minimum": 0, "maximum": 100}

    def setRange(self, low, high) -> None:
        self.minimum, self.maximum = low, high

    def setValue(self, value) -> None:
        self.value = value


class QTableView(QWidget):
    pass


class QStatusBar(QWidget):
    signals = ("messageChanged(QString)",)
    _py_attributes = ("messages",)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.messages: list[tuple[str, int]] = []

    def showMessage(self, text: str, timeout: int = 0) -> None:
        self.messages.append((str(text), int(timeout)))
        self._emit("messageChanged(QString)", str(text))

    def currentMessage(self) -> str:
        return self.messages[-1][0] if self.messages else ""

    def clearMessage(self) -> None:
        self.messages.append(("", 0))


class QMainWindow(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._status = QStatusBar(self)

    def statusBar(self):
        return self._status


class QShortcut(QObject):
    signals = ("activated()",)
    _py_attributes = ("key",)

    def __init__(self, key, parent=None):
        super().__init__(parent)
        self.key = key

    def setContext(self, context) -> None:
        self._dynamic["__context"] = context


class QDialog(QWidget):
    """A dialog; ``exec_()`` is answered by the harness application."""

    signals = ("accepted()", "rejected()", "finished(int)")
    properties = {"modal": False}
    Accepted, Rejected = 1, 0

    def __init__(self, parent=None, *args):
        super().__init__(None)  # dialogs are top-level windows
        self._owner = parent
        self._flags = 0x0008_0000 | Qt.WindowCloseButtonHint
        _app().dialogs.append(self)

    def setModal(self, modal: bool) -> None:
        self.modal = modal

    def windowFlags(self) -> int:
        return self._flags

    def setWindowFlags(self, flags: int) -> None:
        self._flags = int(flags)

    def exec_(self) -> int:
        return _app().answer_dialog(self)

    exec = exec_

    def accept(self) -> None:
        self.close()

    def reject(self) -> None:
        self.close()


class QMessageBox(QDialog):
    NoButton, Ok, Cancel, Yes, No = 0, 0x400, 0x400000, 0x4000, 0x10000
    Retry, Close, Abort, Ignore = 0x80000, 0x200000, 0x40000, 0x100000
    NoIcon, Information, Warning, Critical, Question = 0, 1, 2, 3, 4
    properties = {
        "text": "",
        "icon": 0,
        "standardButtons": 0x400,
        "detailedText": "",
        "informativeText": "",
    }

    def setText(self, text: str) -> None:
        self.text = text

    def setStandardButtons(self, buttons: int) -> None:
        self.standardButtons = buttons


class QProgressDialog(QDialog):
    """Slicer's progress dialog: values, labels and Cancel, recorded for the test."""

    signals = ("canceled()",)
    _py_attributes = ("history",)
    properties = {
        "value": 0,
        "minimum": 0,
        "maximum": 100,
        "labelText": "",
        "minimumDuration": 4000,
        "autoClose": True,
        "autoReset": True,
    }

    def __init__(self, parent=None, *args):
        super().__init__(parent)
        self._canceled = False
        self._cancel_text = "Cancel"
        self.history: list[tuple[int, str]] = []
        _app().progress_dialogs.append(self)

    def _get_wasCanceled(self) -> bool:
        return self._canceled

    def _set_value(self, value) -> None:
        value = int(value)
        if not self._values["minimum"] <= value <= self._values["maximum"]:
            raise ValueError(f"progress value {value} outside the dialog's range")
        self._values["value"] = value
        self.history.append((value, self._values["labelText"]))
        _app().on_progress(self)

    def setValue(self, value) -> None:
        self.value = value

    def setLabelText(self, text: str) -> None:
        self.labelText = text

    def setCancelButtonText(self, text: str) -> None:
        self._cancel_text = text

    def setMinimumDuration(self, msec: int) -> None:
        self.minimumDuration = msec

    def setMaximum(self, value: int) -> None:
        self.maximum = value

    def cancel(self) -> None:
        """The user pressed Cancel."""
        if self._cancel_text is None:
            raise SignatureError("this progress dialog has no Cancel button")
        self._canceled = True
        self._emit("canceled()")


class QFileDialog(QDialog):
    @staticmethod
    def getSaveFileName(parent=None, caption="", directory="", fileFilter="", *args) -> str:
        return _app().answer_file_dialog("save", caption, directory, fileFilter)

    @staticmethod
    def getOpenFileName(parent=None, caption="", directory="", fileFilter="", *args) -> str:
        return _app().answer_file_dialog("open", caption, directory, fileFilter)

    @staticmethod
    def getExistingDirectory(parent=None, caption="", directory="", *args) -> str:
        return _app().answer_file_dialog("folder", caption, directory, "")


class QUiLoader(QObject):
    def load(self, qfile, parent=None):
        from .uiloader import load_ui

        return load_ui(qfile.fileName(), parent)


class QPixmap:
    """What ``QWidget.grab()`` returns: an RGBA image saved as PNG."""

    def __init__(self, rgba=None):
        self.rgba = rgba

    def isNull(self) -> bool:
        return self.rgba is None

    def save(self, path: str, *args) -> bool:
        if self.rgba is None:
            return False
        from osteoimaging.mrml.views import write_png

        write_png(self.rgba, path)
        return True


QT_CLASSES = [
    Qt,
    QEventLoop,
    QColor,
    QIcon,
    QSize,
    QFont,
    QKeySequence,
    QFile,
    QSettings,
    QTimer,
    QThread,
    QApplication,
    QObject,
    QWidget,
    QLayout,
    QVBoxLayout,
    QHBoxLayout,
    QGridLayout,
    QFormLayout,
    QSpacerItem,
    QFrame,
    QLabel,
    QAbstractButton,
    QPushButton,
    QToolButton,
    QCheckBox,
    QRadioButton,
    QComboBox,
    QLineEdit,
    QTextEdit,
    QPlainTextEdit,
    QScrollBar,
    QAbstractSpinBox,
    QSpinBox,
    QDoubleSpinBox,
    QSlider,
    QProgressBar,
    QTableView,
    QStatusBar,
    QMainWindow,
    QShortcut,
    QDialog,
    QMessageBox,
    QProgressDialog,
    QFileDialog,
    QUiLoader,
    QPixmap,
]
