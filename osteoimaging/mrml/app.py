"""Headless Slicer application set-up: a scene with the module logics Slicer creates at start.

Mirrors what ``qSlicerCoreApplication`` and the loadable modules do when the desktop
application starts (and what trame-slicer's ``SlicerApp`` does): an application logic
with its colour logic and default colour nodes, then the Colors, Volumes,
Segmentations, SubjectHierarchy and Tables module logics registered on the application
logic. ``vtkSlicerSegmentationsModuleLogic.SetMRMLScene`` registers the segmentation
converter rules (binary labelmap ↔ closed surface …) that segmentation storage needs.

Inside the Slicer application none of this is needed: use ``slicer.mrmlScene``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

import slicer
import vtk

SLICE_VIEWS = {"Red": "Axial", "Yellow": "Sagittal", "Green": "Coronal"}


@dataclass
class HeadlessSlicer:
    """A scene, its application logic and the module logics keyed by module name."""

    scene: Any
    app_logic: Any
    logics: dict[str, Any] = field(default_factory=dict)
    slice_logics: dict[str, Any] = field(default_factory=dict)

    def logic(self, module: str) -> Any:
        return self.logics[module]


def _register(app: HeadlessSlicer, module: str, logic: Any) -> None:
    logic.SetMRMLApplicationLogic(app.app_logic)
    logic.SetMRMLScene(app.scene)
    app.app_logic.SetModuleLogic(module, logic)
    app.logics[module] = logic


def _data_io(scene, cache_dir: str) -> None:
    """Cache and data-I/O managers (the application's; .mrb reading extracts into the cache)."""
    cache = slicer.vtkCacheManager()
    cache.SetRemoteCacheDirectory(cache_dir)
    scene.SetCacheManager(cache)
    data_io = slicer.vtkDataIOManager()
    data_io.SetCacheManager(cache)
    scene.SetDataIOManager(data_io)


def headless_slicer(
    scene=None, slice_views: dict[str, str] | None = None, cache_dir: str | None = None
) -> HeadlessSlicer:
    """Create (or equip ``scene`` as) a scene with Slicer's core module logics.

    ``slice_views`` maps the slice views to create (slice node + composite node + slice
    logic each) to their orientation; default: the application's Red/Yellow/Green.
    ``cache_dir`` is where loaded scene bundles are unpacked (default: a new temporary
    folder, removed at exit).
    """
    scene = scene if scene is not None else slicer.vtkMRMLScene()
    if cache_dir is None:
        cache_dir = tempfile.mkdtemp(prefix="osteo-mrml-cache-")
        atexit.register(shutil.rmtree, cache_dir, True)
    _data_io(scene, cache_dir)
    app_logic = slicer.vtkSlicerApplicationLogic()
    # No Slicer installation tree: the colour logic finds no colour files there (the
    # built-in colour tables are still created) and temporary files go to the cache.
    app_logic.SetHomeDirectory(cache_dir)
    app_logic.SetShareDirectory("share")
    os.makedirs(os.path.join(cache_dir, "share", "ColorFiles"), exist_ok=True)
    app_logic.SetTemporaryPath(cache_dir)
    app_logic.SetMRMLScene(scene)
    app_logic.GetColorLogic().SetMRMLScene(scene)
    app_logic.GetColorLogic().AddDefaultColorNodes()
    app_logic.SetSliceLogics(vtk.vtkCollection())
    app_logic.SetViewLogics(vtk.vtkCollection())
    app = HeadlessSlicer(scene=scene, app_logic=app_logic)

    _register(app, "Colors", slicer.vtkSlicerColorLogic())
    _register(app, "Volumes", slicer.vtkSlicerVolumesLogic())
    _register(app, "Segmentations", slicer.vtkSlicerSegmentationsModuleLogic())
    _register(app, "SubjectHierarchy", slicer.vtkSlicerSubjectHierarchyModuleLogic())
    _register(app, "Tables", slicer.vtkSlicerTablesLogic())
    slicer.vtkMRMLSliceNode.AddDefaultSliceOrientationPresets(scene, True)

    for name, orientation in (SLICE_VIEWS if slice_views is None else slice_views).items():
        logic = slicer.vtkMRMLSliceLogic()
        logic.SetMRMLApplicationLogic(app_logic)
        logic.SetMRMLScene(scene)
        logic.AddSliceNode(name).SetOrientation(orientation)
        app_logic.GetSliceLogics().AddItem(logic)
        app.slice_logics[name] = logic
    return app
