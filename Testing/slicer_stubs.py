"""Stand-ins for the parts of Slicer's Python that ``slicer-core`` lacks — test harness only.

``slicer-core`` has MRML, the module logics and ``slicer.util``, but not the Qt side:
``slicer.ScriptedLoadableModule`` base classes, ``slicer.parameterNodeWrapper``, ``qt``,
``slicer.mrmlScene`` and ``slicer.modules``. These minimal stand-ins let the modules'
Logic and ScriptedLoadableModuleTest classes run headless on a real MRML scene; the
widgets (Qt) still need real Slicer. The parameter node stand-in only holds typed
defaults: binding to widgets is checked statically in test_slicer_module_contract.py.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import types
import typing
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _scripted_loadable_module(scene) -> types.ModuleType:
    module = types.ModuleType("slicer.ScriptedLoadableModule")

    class ScriptedLoadableModule:
        def __init__(self, parent):
            self.parent = parent

    class ScriptedLoadableModuleLogic:
        def getParameterNode(self):
            if not hasattr(self, "_parameterNode"):
                node = scene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
                node.SetAttribute("ModuleName", type(self).__name__.removesuffix("Logic"))
                self._parameterNode = node
            return self._parameterNode

    class ScriptedLoadableModuleWidget:
        def __init__(self, parent=None):
            self.parent = parent

    class ScriptedLoadableModuleTest(unittest.TestCase):
        def delayDisplay(self, message, msec=0):
            pass

    for cls in (
        ScriptedLoadableModule,
        ScriptedLoadableModuleLogic,
        ScriptedLoadableModuleWidget,
        ScriptedLoadableModuleTest,
    ):
        setattr(module, cls.__name__, cls)
    return module


def _default(annotation, value):
    if value is not None:
        return value
    base = typing.get_args(annotation)[0] if typing.get_origin(annotation) else annotation
    return base() if base in (pathlib.Path, str, bool, int, float) else None


def _parameter_node_wrapper() -> types.ModuleType:
    module = types.ModuleType("slicer.parameterNodeWrapper")

    def parameterNodeWrapper(cls):
        annotations = dict(cls.__annotations__)
        defaults = {n: _default(a, cls.__dict__.get(n)) for n, a in annotations.items()}

        def __init__(self, parameterNode):
            self.parameterNode = parameterNode
            for name, value in defaults.items():
                setattr(self, name, value)

        return type(cls.__name__, (), {"__init__": __init__, "__annotations__": annotations})

    module.parameterNodeWrapper = parameterNodeWrapper
    module.Choice = lambda choices: ("Choice", tuple(choices))
    module.WithinRange = lambda low, high: ("WithinRange", low, high)
    return module


def load_module_file(monkeypatch, app, name: str) -> types.ModuleType:
    """Import ``<name>/<name>.py`` with the stand-ins in place on ``app``'s scene."""
    import slicer

    monkeypatch.setitem(sys.modules, "qt", types.ModuleType("qt"))
    monkeypatch.setitem(
        sys.modules, "slicer.ScriptedLoadableModule", _scripted_loadable_module(app.scene)
    )
    monkeypatch.setitem(sys.modules, "slicer.parameterNodeWrapper", _parameter_node_wrapper())
    monkeypatch.setattr(slicer, "mrmlScene", app.scene, raising=False)
    monkeypatch.setattr(slicer, "modules", types.SimpleNamespace(), raising=False)
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.delitem(sys.modules, "OsteoImagingGui", raising=False)
    spec = importlib.util.spec_from_file_location(name, ROOT / name / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module
