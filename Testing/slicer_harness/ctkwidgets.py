"""CTK (module ``ctk``) and qMRML (in ``slicer``) widget classes, strictly stood in.

``qMRMLNodeComboBox`` lists the scene's nodes as the real one does: only the classes in
``nodeTypes`` (subclasses only with ``showChildNodeTypes``), no nodes hidden from editors,
"None" only with ``noneEnabled``, "Create new" only with ``addEnabled``; with ``noneEnabled``
off it selects the first node when it has none (on ``setMRMLScene`` and when a node is
added). Selecting a node it does not list raises.
"""

# ruff: noqa: RUF012  (declared signals, properties and slots are class-level tables)

from __future__ import annotations

import weakref

from .qobject import NotStoodIn, QObject, SignatureError
from .qtwidgets import (
    DOUBLE_PROPERTIES,
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QMessageBox,
    QPushButton,
    QTableView,
    QWidget,
    _DoubleValue,
)

# -- CTK ----------------------------------------------------------------------------------------


class ctkCollapsibleButton(QAbstractButton):
    signals = ("contentsCollapsed(bool)",)
    properties = {"collapsed": False, "collapsedHeight": 14, "contentsFrameShape": 0}

    def _set_collapsed(self, value) -> None:
        value = bool(value)
        if value != self._values["collapsed"]:
            self._values["collapsed"] = value
            self._emit("contentsCollapsed(bool)", value)

    def _hides_children(self) -> bool:
        return self._values["collapsed"]

    def click(self) -> bool:
        if not self.isEnabled():
            return False
        self.collapsed = not self.collapsed
        self._emit("clicked(bool)", not self.collapsed)
        self._emit("clicked()")
        return True


class ctkCollapsibleGroupBox(QWidget):
    properties = {"title": "", "collapsed": False}


class ctkDoubleSpinBox(_DoubleValue, QWidget):
    signals = ("valueChanged(double)", "decimalsChanged(int)", "editingFinished()")
    properties = {**DOUBLE_PROPERTIES, "suffix": "", "prefix": "", "readOnly": False}


class ctkSliderWidget(_DoubleValue, QWidget):
    signals = ("valueChanged(double)", "valueIsChanging(double)", "decimalsChanged(int)")
    properties = {
        **DOUBLE_PROPERTIES,
        "maximum": 99.0,
        "pageStep": 10.0,
        "suffix": "",
        "prefix": "",
        "tracking": True,
        "spinBoxVisible": True,
    }


class ctkDoubleSlider(_DoubleValue, QWidget):
    signals = ("valueChanged(double)",)
    properties = dict(DOUBLE_PROPERTIES)


class ctkRangeWidget(QWidget):
    signals = ("valuesChanged(double,double)",)
    properties = {
        "minimumValue": 0.0,
        "maximumValue": 99.0,
        "minimum": 0.0,
        "maximum": 99.0,
        "decimals": 2,
        "singleStep": 1.0,
    }


class ctkDoubleRangeSlider(ctkRangeWidget):
    pass


class ctkPathLineEdit(QWidget):
    signals = ("currentPathChanged(QString)", "validInputChanged(bool)")
    properties = {
        "currentPath": "",
        "nameFilters": [],
        "filters": 0,
        "label": "",
        "showBrowseButton": True,
        "showHistoryButton": True,
        "settingKey": "",
        "sizeAdjustPolicy": 0,
    }
    slots = ("setCurrentPath(QString)",)
    #: ctkPathLineEdit::Filter (QDir::Filter values), as a .ui ``<set>`` names them.
    _FILTERS = {
        "Dirs": 0x001,
        "Files": 0x002,
        "Drives": 0x004,
        "NoSymLinks": 0x008,
        "AllEntries": 0x007,
        "Readable": 0x010,
        "Writable": 0x020,
        "Executable": 0x040,
        "Modified": 0x080,
        "Hidden": 0x100,
        "System": 0x200,
        "AllDirs": 0x400,
        "CaseSensitive": 0x800,
        "NoDotAndDotDot": 0x1000,
    }

    def _set_filters(self, value) -> None:
        """An int, or a .ui flag set such as ``ctkPathLineEdit::Dirs|ctkPathLineEdit::Readable``
        (each name must be a ctkPathLineEdit::Filter)."""
        if isinstance(value, str):
            flags = 0
            for name in value.split("|"):
                scope, _, flag = name.strip().rpartition("::")
                if scope != "ctkPathLineEdit" or flag not in self._FILTERS:
                    raise NotStoodIn(f"{name.strip()!r} is not a ctkPathLineEdit::Filter")
                flags |= self._FILTERS[flag]
            value = flags
        if not isinstance(value, int) or isinstance(value, bool):
            raise SignatureError(f"ctkPathLineEdit.filters takes Filters, got {value!r}")
        self._values["filters"] = value

    def _set_currentPath(self, value) -> None:
        value = str(value)
        if value != self._values["currentPath"]:
            self._values["currentPath"] = value
            self._emit("currentPathChanged(QString)", value)

    def setCurrentPath(self, path: str) -> None:
        self.currentPath = path


class ctkDirectoryButton(QWidget):
    signals = ("directoryChanged(QString)",)
    properties = {"directory": ""}


class ctkComboBox(QComboBox):
    properties = {"defaultText": ""}


class ctkCheckBox(QCheckBox):
    pass


class ctkCheckablePushButton(QPushButton):
    properties = {"checkBoxControlsButtonToggleState": False}


class ctkColorPickerButton(QPushButton):
    signals = ("colorChanged(QColor)",)
    properties = {"color": None}


class ctkMessageBox(QMessageBox):
    properties = {"dontShowAgainSettingsKey": "", "dontShowAgainVisible": False}


class ctkWidgetsUtils:
    pass


CTK_CLASSES = [
    ctkCollapsibleButton,
    ctkCollapsibleGroupBox,
    ctkDoubleSpinBox,
    ctkSliderWidget,
    ctkDoubleSlider,
    ctkRangeWidget,
    ctkDoubleRangeSlider,
    ctkPathLineEdit,
    ctkDirectoryButton,
    ctkComboBox,
    ctkCheckBox,
    ctkCheckablePushButton,
    ctkColorPickerButton,
    ctkMessageBox,
    ctkWidgetsUtils,
]

# -- qMRML / qSlicer (attributes of the ``slicer`` module) ----------------------------------------


class qMRMLWidget(QWidget):
    signals = ("mrmlSceneChanged(vtkMRMLScene*)",)
    slots = ("setMRMLScene(vtkMRMLScene*)",)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = None

    def setMRMLScene(self, scene) -> None:
        if scene is not self._scene:
            self._scene = scene
            self._emit("mrmlSceneChanged(vtkMRMLScene*)", scene)

    def mrmlScene(self):
        return self._scene


class qSlicerWidget(qMRMLWidget):
    pass


class qSlicerScriptedLoadableModuleWidget(qSlicerWidget):
    """The C++ parent of a scripted module's widget: the module panel."""

    properties = {"isEntered": False}

    def __init__(self, parent=None):
        super().__init__(parent)
        self._python_self = None

    def self(self):
        return self._python_self


class qSlicerAbstractCoreModule(QObject):
    """A loaded module (``slicer.modules.<name>``)."""

    properties = {
        "title": "",
        "categories": [],
        "dependencies": [],
        "contributors": [],
        "helpText": "",
        "acknowledgementText": "",
        "icon": None,
        "hidden": False,
        "index": -1,
        "associatedNodeTypes": [],
        "path": "",
    }

    def __init__(self, name: str, logic=None):
        super().__init__(None)
        self.objectName = name
        self._logic = logic
        self._widget = None

    def _get_name(self) -> str:
        return self._values["objectName"]

    def logic(self):
        return self._logic

    def widgetRepresentation(self):
        return self._widget

    def isWidgetRepresentationCreationEnabled(self) -> bool:
        return self._widget is not None


class qSlicerScriptedLoadableModule(qSlicerAbstractCoreModule):
    pass


class qMRMLTableView(QTableView):
    slots = (
        "setMRMLScene(vtkMRMLScene*)",
        "setMRMLTableNode(vtkMRMLTableNode*)",
        "setMRMLTableNode(vtkMRMLNode*)",
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = None
        self._table = None

    def setMRMLScene(self, scene) -> None:
        self._scene = scene

    def setMRMLTableNode(self, node) -> None:
        if node is not None and not node.IsA("vtkMRMLTableNode"):
            raise SignatureError(f"setMRMLTableNode expects a vtkMRMLTableNode, got {node!r}")
        if node is not None and node.GetScene() is not self._scene:
            raise SignatureError("the table node is not in the view's scene")
        self._table = node

    def mrmlTableNode(self):
        return self._table


OBSERVING_SCENE: weakref.WeakSet = weakref.WeakSet()
"""Node combo boxes observing a scene (released when the harness session closes)."""


class qMRMLNodeComboBox(qMRMLWidget):
    signals = (
        "currentNodeChanged(vtkMRMLNode*)",
        "currentNodeChanged(bool)",
        "currentNodeIDChanged(QString)",
        "nodeAdded(vtkMRMLNode*)",
        "nodeAddedByUser(vtkMRMLNode*)",
        "nodeAboutToBeRemoved(vtkMRMLNode*)",
        "nodeActivated(vtkMRMLNode*)",
    )
    properties = {
        "nodeTypes": [],
        "showChildNodeTypes": True,
        "noneEnabled": False,
        "addEnabled": True,
        "removeEnabled": True,
        "renameEnabled": False,
        "editEnabled": False,
        "showHidden": False,
        "baseName": "",
        "selectNodeUponCreation": True,
        "noneDisplay": "None",
        "hideChildNodeTypes": [],
    }
    slots = ("setCurrentNode(vtkMRMLNode*)", "setCurrentNodeID(QString)")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._current = None
        self._observations: list[int] = []
        self._attributes: dict[str, str] = {}

    def _set_nodeTypes(self, types) -> None:
        self._values["nodeTypes"] = [str(t) for t in types]

    def addAttribute(self, node_type: str, name: str, value="") -> None:
        self._attributes[name] = str(value)

    def setMRMLScene(self, scene) -> None:
        import vtk

        old = self._scene
        if old is not None:
            for tag in self._observations:
                old.RemoveObserver(tag)
        self._observations = []
        super().setMRMLScene(scene)
        if scene is not None:
            OBSERVING_SCENE.add(self)
            self._observations = [
                scene.AddObserver(scene.NodeAddedEvent, self._on_node_added),
                scene.AddObserver(scene.NodeRemovedEvent, self._on_node_removed),
                scene.AddObserver(vtk.vtkCommand.ModifiedEvent, self._on_scene_modified),
            ]
        self._select(None if self._current is None or scene is None else self._current)
        self._select_first_if_needed()

    def release(self) -> None:
        """Stop observing the scene (what the widget's destructor does)."""
        if self._scene is not None:
            for tag in self._observations:
                self._scene.RemoveObserver(tag)
        self._observations = []

    def _matches(self, node) -> bool:
        if node is None or node.GetScene() is not self._scene:
            return False
        if node.GetHideFromEditors() and not self.showHidden:
            return False
        types = self.nodeTypes
        if self.showChildNodeTypes:
            ok = any(node.IsA(t) for t in types)
        else:
            ok = node.GetClassName() in types
        ok = ok and not any(node.IsA(t) for t in self.hideChildNodeTypes)
        return ok and all(node.GetAttribute(k) == v for k, v in self._attributes.items())

    def nodes(self) -> list:
        """The nodes the combo box lists, in scene order (harness inspection)."""
        if self._scene is None:
            return []
        all_nodes = self._scene.GetNodes()
        found = [all_nodes.GetItemAsObject(i) for i in range(all_nodes.GetNumberOfItems())]
        return [n for n in found if self._matches(n)]

    def nodeCount(self) -> int:
        return len(self.nodes())

    def currentNode(self):
        return self._current

    def currentNodeID(self) -> str:
        return self._current.GetID() if self._current is not None else ""

    def setCurrentNode(self, node) -> None:
        if node is not None and not self._matches(node):
            raise SignatureError(
                f"{self!r} does not list {node.GetClassName()} {node.GetName()!r} "
                f"(nodeTypes {self.nodeTypes}, showChildNodeTypes {self.showChildNodeTypes})"
            )
        self._select(node)

    def setCurrentNodeID(self, node_id: str) -> None:
        self.setCurrentNode(self._scene.GetNodeByID(node_id) if node_id else None)

    def _select(self, node) -> None:
        if node is self._current:
            return
        self._current = node
        self._emit("currentNodeChanged(vtkMRMLNode*)", node)
        self._emit("currentNodeChanged(bool)", node is not None)
        self._emit("currentNodeIDChanged(QString)", node.GetID() if node is not None else "")

    def _select_first_if_needed(self) -> None:
        if self._current is None and not self.noneEnabled:
            listed = self.nodes()
            if listed:
                self._select(listed[0])

    def _on_node_added(self, scene, event) -> None:
        self._select_first_if_needed()

    def _on_node_removed(self, scene, event) -> None:
        if self._current is not None and self._current.GetScene() is not self._scene:
            self._select(None)
            self._select_first_if_needed()

    def _on_scene_modified(self, scene, event) -> None:
        if self._current is not None and not self._scene.IsNodePresent(self._current):
            self._select(None)

    # -- what a user can do with the combo box (harness actions) ----------------------------
    def userSelect(self, node) -> None:
        if not self.isVisible() or not self.isEnabled():
            raise SignatureError(f"{self!r} is not visible and enabled")
        if node is None and not self.noneEnabled:
            raise SignatureError(f"{self!r} offers no 'None' (noneEnabled is off)")
        if node is not None and node not in self.nodes():
            raise SignatureError(f"{self!r} does not list {node.GetName()!r}")
        self._select(node)
        self._emit("nodeActivated(vtkMRMLNode*)", node)

    def userAddNode(self):
        """'Create new …' from the drop-down list."""
        if not self.addEnabled:
            raise SignatureError(f"{self!r} has no 'Create new' entry (addEnabled is off)")
        node_type = self.nodeTypes[0]
        name = self.baseName or node_type.removeprefix("vtkMRML").removesuffix("Node")
        node = self._scene.AddNewNodeByClass(node_type, self._scene.GenerateUniqueName(name))
        self._emit("nodeAddedByUser(vtkMRMLNode*)", node)
        if self.selectNodeUponCreation:
            self._select(node)
        return node


class qMRMLSliderWidget(ctkSliderWidget):
    pass


class qMRMLSpinBox(ctkDoubleSpinBox):
    pass


class qMRMLRangeWidget(ctkRangeWidget):
    pass


class qMRMLSubjectHierarchyTreeView(qMRMLWidget):
    pass


QMRML_CLASSES = [
    qMRMLWidget,
    qSlicerWidget,
    qSlicerScriptedLoadableModuleWidget,
    qSlicerAbstractCoreModule,
    qSlicerScriptedLoadableModule,
    qMRMLTableView,
    qMRMLNodeComboBox,
    qMRMLSliderWidget,
    qMRMLSpinBox,
    qMRMLRangeWidget,
    qMRMLSubjectHierarchyTreeView,
]


class DICOMDatabase:
    """``slicer.dicomDatabase`` (ctkDICOMDatabase): the instance files the test registered."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    def fileForInstance(self, uid: str) -> str:
        return self.files.get(uid, "")

    def __getattr__(self, name: str):
        raise NotStoodIn(f"ctkDICOMDatabase.{name} is not stood in")
