"""One headless "Slicer application": slicer-core's MRML + Slicer's real Python layer + stand-ins.

``SlicerSession(version)`` imports slicer-core's ``slicer`` package, then loads the files of
``../shared/slicer-python/<version>/slicer/`` (``util``, ``i18n``, ``ScriptedLoadableModule``,
``parameterNodeWrapper``, ``packaging`` from 5.12, ``testing``) by path under their real
names, installs the ``qt``/``ctk`` stand-ins, ``slicer.app``, ``slicer.mrmlScene`` and
``slicer.modules``, and loads scripted modules the way Slicer's scripted-module factory
does (module folder appended to ``sys.path``, file loaded as a module named after it, the
module class instantiated with its ``qSlicerScriptedLoadableModule``). Closing the session
restores ``sys.modules``, ``sys.path`` and the ``slicer`` package as they were.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
import types
from pathlib import Path

from . import ctkwidgets, qobject, qtwidgets, sampledata
from .application import HarnessApplication, ModulePanel

ROOT = Path(__file__).resolve().parents[2]
SLICER_PYTHON = Path(os.environ.get("OSTEO_SHARED", ROOT.parent / "shared")) / "slicer-python"
VERSIONS = ("5.10.0", "5.12.3")
# Core modules a scripted module may name in ``parent.dependencies``: name → logic class.
CORE_MODULES = {
    "Colors": "vtkSlicerColorLogic",
    "Volumes": "vtkSlicerVolumesLogic",
    "Segmentations": "vtkSlicerSegmentationsModuleLogic",
    "SubjectHierarchy": "vtkSlicerSubjectHierarchyModuleLogic",
    "Tables": "vtkSlicerTablesLogic",
    "Markups": "vtkSlicerMarkupsLogic",
    "Plots": "vtkSlicerPlotsLogic",
}
_OWNED_MODULES = ("qt", "ctk", "SampleData")
_LAYER_FILES = ("i18n", "util", "ScriptedLoadableModule", "testing", "packaging")


def layer_path(version: str) -> Path:
    return SLICER_PYTHON / version / "slicer"


def missing_reason(version: str = VERSIONS[0]) -> str | None:
    """Why a session cannot run here (None if it can)."""
    if not layer_path(version).is_dir():
        return f"Slicer's Python layer {layer_path(version)} is absent (../shared/slicer-python)"
    if importlib.util.find_spec("slicer") is None:
        return "slicer-core is not installed (pip install .[slicer])"
    return None


class _TrackedModules(types.ModuleType):
    """``slicer.modules``: records which core modules the scripted modules use."""

    def __getattribute__(self, name):
        if not name.startswith("_"):
            types.ModuleType.__getattribute__(self, "_used").add(name)
        return types.ModuleType.__getattribute__(self, name)


class _HidingFinder(importlib.abc.MetaPathFinder):
    """Wraps a meta path finder so that it finds none of ``hidden`` (as if not installed)."""

    def __init__(self, finder, hidden: set[str]):
        self.finder, self.hidden = finder, hidden

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.hidden:
            return None
        find = getattr(self.finder, "find_spec", None)
        return find(name, path, target) if find is not None else None

    def invalidate_caches(self):
        if hasattr(self.finder, "invalidate_caches"):
            self.finder.invalidate_caches()

    def find_distributions(self, *args, **kwargs):
        find = getattr(self.finder, "find_distributions", None)
        return find(*args, **kwargs) if find is not None else iter(())


class _SourceCheckoutOnly(importlib.abc.MetaPathFinder):
    """Finds ``names`` only on ``sys.path`` folders outside site-packages (a source checkout
    used as Slicer would, not the pip-installed copy)."""

    def __init__(self, names: set[str]):
        self.names = names

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        folders = [p for p in sys.path if "site-packages" not in p and "dist-packages" not in p]
        spec = importlib.machinery.PathFinder.find_spec(name, folders)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return spec


class SlicerSession:
    """A Slicer application of ``version`` (see the module docstring)."""

    def __init__(
        self,
        version: str,
        workdir: str | None = None,
        testing: bool = False,
        hide_packages: dict[str, str] | None = None,
        source_checkout: bool = False,
    ):
        reason = missing_reason(version)
        if reason:
            raise RuntimeError(reason)
        import slicer

        from osteoimaging.mrml.app import headless_slicer

        self.version = version
        self._tmp = tempfile.mkdtemp(prefix=f"slicer-harness-{version}-", dir=workdir)
        self._saved_modules = dict(sys.modules)
        self._saved_path = list(sys.path)
        self._saved_slicer = dict(vars(slicer))
        self._saved_environ = os.environ.get("PATH", "")
        self._saved_version = importlib.metadata.version
        self._observed: list = []
        qobject.SLOT_ERRORS.clear()
        self.core = headless_slicer(cache_dir=os.path.join(self._tmp, "cache"))
        self.scene = self.core.scene
        self.app = HarnessApplication(self.core, version, self._tmp, testing=testing)
        self._hidden_imports = set((hide_packages or {}).values())
        self._fresh_logic = bool(hide_packages) or source_checkout
        if self._fresh_logic:  # import the logic layer anew, against what is (not) installed
            for name in [n for n in sys.modules if n.split(".")[0] == "osteoimaging"]:
                del sys.modules[name]
        self._hide(hide_packages or {})
        if source_checkout:
            sys.meta_path.insert(0, _SourceCheckoutOnly({"osteoimaging", "OsteoImagingGui"}))
        self._python_slicer_shim()
        self._install_qt()
        self._install_slicer(slicer)
        self.modules: dict[str, types.ModuleType] = {}
        self.panels: dict[str, ModulePanel] = {}

    # -- environment ----------------------------------------------------------------------------
    def _hide(self, packages: dict[str, str]) -> None:
        """``packages`` maps distribution names to import names to make absent."""
        if not packages:
            return
        imports = set(packages.values())
        sys.meta_path[:] = [_HidingFinder(f, imports) for f in sys.meta_path]
        for name in [n for n in sys.modules if n.split(".")[0] in packages.values()]:
            del sys.modules[name]
        hidden = {d.lower() for d in packages}
        real_version = importlib.metadata.version

        def version(name):
            if name.lower().replace("_", "-") in hidden:
                raise importlib.metadata.PackageNotFoundError(name)
            return real_version(name)

        importlib.metadata.version = version

    def _python_slicer_shim(self) -> None:
        """``PythonSlicer`` on PATH, as in Slicer: this Python (pip installs go into it)."""
        folder = Path(self._tmp) / "bin"
        folder.mkdir()
        shim = folder / "PythonSlicer"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
        os.environ["PATH"] = f"{folder}{os.pathsep}{self._saved_environ}"

    def _install_qt(self) -> None:
        qt = types.ModuleType("qt", "Qt classes stood in by the Slicer harness")
        for cls in qtwidgets.QT_CLASSES:
            setattr(qt, cls.__name__, cls)
        ctk = types.ModuleType("ctk", "CTK classes stood in by the Slicer harness")
        for cls in ctkwidgets.CTK_CLASSES:
            setattr(ctk, cls.__name__, cls)
        sys.modules["qt"], sys.modules["ctk"] = qt, ctk
        sys.modules["SampleData"] = sampledata.module()

    def _load(self, name: str, path: Path, package: bool = False):
        spec = importlib.util.spec_from_file_location(
            name, path, submodule_search_locations=[str(path.parent)] if package else None
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    def _install_slicer(self, slicer) -> None:
        layer = layer_path(self.version)
        modules = _TrackedModules("slicer.modules", "the loaded Slicer modules")
        modules._used = set()
        sys.modules["slicer.modules"] = modules
        slicer.modules = modules
        slicer.moduleNames = sys.modules["slicer.moduleNames"] = types.ModuleType(
            "slicer.moduleNames"
        )
        slicer.app = self.app
        slicer.mrmlScene = self.scene
        slicer.dicomDatabase = self.dicom_database = ctkwidgets.DICOMDatabase()
        for cls in ctkwidgets.QMRML_CLASSES:
            setattr(slicer, cls.__name__, cls)
        for name in _LAYER_FILES:
            path = layer / f"{name}.py"
            if path.is_file():
                setattr(slicer, name, self._load(f"slicer.{name}", path))
        slicer.parameterNodeWrapper = self._load(
            "slicer.parameterNodeWrapper", layer / "parameterNodeWrapper" / "__init__.py", True
        )
        for module_name, logic_class in CORE_MODULES.items():
            logic = self.core.logics.get(module_name)
            if logic is None:
                logic = getattr(slicer, logic_class)()
                logic.SetMRMLApplicationLogic(self.core.app_logic)
                logic.SetMRMLScene(self.scene)
                self.core.app_logic.SetModuleLogic(module_name, logic)
                self.core.logics[module_name] = logic
            module = ctkwidgets.qSlicerAbstractCoreModule(module_name, logic)
            setattr(modules, module_name.lower(), module)
            setattr(slicer.moduleNames, module_name, module_name)
            self.app.module_manager.modules[module_name] = module
        modules._used.clear()

    def add_dicom_series(self, volume, folder, name: str = "CT"):
        """A CT as the DICOM module loads it: a volume node whose ``DICOM.instanceUIDs``
        attribute lists its instances, each known to ``slicer.dicomDatabase``."""
        import pydicom

        from osteoimaging.mrml.volumes import volume_to_node

        node = volume_to_node(volume, self.scene, name)
        uids = []
        for path in sorted(Path(folder).iterdir()):
            if not path.is_file():
                continue
            header = pydicom.dcmread(str(path), stop_before_pixels=True)
            uid = str(
                header.get("SOPInstanceUID", "") or header.file_meta.MediaStorageSOPInstanceUID
            )
            self.dicom_database.files[uid] = str(path)
            uids.append(uid)
        node.SetAttribute("DICOM.instanceUIDs", " ".join(uids))
        return node

    @property
    def slicer(self):
        import slicer

        return slicer

    # -- scripted modules, as Slicer's scripted module factory loads them ------------------------
    def load_module(self, path: str | Path):
        path = Path(path).resolve()
        name = path.stem
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.append(folder)  # ctkFactoryScriptedItem::load: "<MODULEPATH>" on sys.path
        module = self._load(name, path)
        parent = ctkwidgets.qSlicerScriptedLoadableModule(name)
        parent.path = str(path)
        instance = getattr(module, name)(parent)
        missing = [d for d in parent.dependencies if d not in self.app.module_manager.modules]
        if missing:
            raise RuntimeError(f"{name} depends on modules that are not loaded: {missing}")
        slicer = self.slicer
        setattr(slicer.modules, f"{name}Instance", instance)
        setattr(slicer.modules, name.lower(), parent)
        setattr(slicer.moduleNames, name, name)
        self.app.module_manager.modules[name] = parent
        self.modules[name] = module
        slicer.modules._used.clear()
        return module

    def start(self) -> None:
        """Application start-up done: ``startupCompleted()`` (sample data registration)."""
        self.app._emit("startupCompleted()")

    def module_dependencies(self, name: str) -> list[str]:
        return list(self.app.module_manager.modules[name].dependencies)

    def used_core_modules(self) -> set[str]:
        """Core modules (``slicer.modules.<name>``) used since the modules were loaded."""
        core = {m.lower(): m for m in CORE_MODULES}
        return {core[n] for n in self.slicer.modules._used if n in core}

    def open_module(self, name: str):
        """The user selects the module: widget created and set up on first use, then entered."""
        slicer = self.slicer
        parent = self.app.module_manager.modules[name]
        widget = parent._widget.self() if parent._widget is not None else None
        if widget is None:
            panel = ModulePanel()
            panel.setLayout(qtwidgets.QVBoxLayout())
            panel.setMRMLScene(self.scene)
            widget = getattr(self.modules[name], f"{name}Widget")(panel)
            panel._python_self = widget
            parent._widget = panel
            setattr(slicer.modules, f"{name}Widget", widget)
            self.panels[name] = panel
            widget.setup()
            self.main_window_show(panel)
        panel = self.panels[name]
        panel.isEntered = True
        widget.enter()
        return widget

    def main_window_show(self, panel) -> None:
        panel.setParent(self.app.main_window)

    def leave_module(self, name: str) -> None:
        panel = self.panels[name]
        panel.isEntered = False
        panel.self().exit()

    def unload_module(self, name: str) -> None:
        """``qSlicerModuleManager::moduleAboutToBeUnloaded`` → the widget's ``cleanup()``."""
        self.app.module_manager._emit("moduleAboutToBeUnloaded(QString)", name)

    # -- teardown ----------------------------------------------------------------------------------
    def close(self) -> None:
        import slicer

        for name in list(self.panels):  # application exit: the module widgets' cleanup()
            self.unload_module(name)
        self.scene.Clear(0)
        for combo in list(ctkwidgets.OBSERVING_SCENE):
            combo.release()
        self.app.close()
        # Unwrap and drop the harness's finders only: packages imported meanwhile may have
        # added their own (importlib_metadata's replaces the stdlib's distribution finder).
        finders = [f.finder if isinstance(f, _HidingFinder) else f for f in sys.meta_path]
        sys.meta_path[:] = [f for f in finders if not isinstance(f, _SourceCheckoutOnly)]
        importlib.metadata.version = self._saved_version
        for name in list(sys.modules):
            if name not in self._saved_modules and self._owned(name):
                del sys.modules[name]
        for name, module in self._saved_modules.items():
            if sys.modules.get(name) is not module and self._owned(name):
                sys.modules[name] = module
        sys.path[:] = self._saved_path
        for key in list(vars(slicer)):
            if key not in self._saved_slicer:
                delattr(slicer, key)
        for key, value in self._saved_slicer.items():
            setattr(slicer, key, value)
        os.environ["PATH"] = self._saved_environ
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _owned(self, name: str) -> bool:
        """Modules this session replaced or added (restored or dropped when it closes)."""
        top = name.split(".")[0]
        return (
            name in _OWNED_MODULES
            or name.startswith("slicer.")
            or top == "OsteoImagingGui"
            or name in self.modules
            or top in self._hidden_imports
            or (self._fresh_logic and top == "osteoimaging")
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def tmp(self) -> Path:
        return Path(self._tmp)

    @staticmethod
    def slot_errors() -> list:
        return list(qobject.SLOT_ERRORS)
