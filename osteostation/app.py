"""The browser reading station: trame-slicer's views of the MRML scene, the reader's
controls, and the one case pipeline behind a click.

A click in a slice view places a Slicer markups point (Slicer's own placement, as in the
FocalOsteoDefect module); the point becomes the level's seed node, the bridge turns the
nodes into a case request (:func:`osteoimaging.mrml.focal_workflow.focal_request`), the
one case pipeline (:func:`osteoimaging.case.measure_case`) runs on a worker thread while
the page shows its progress (the worker never touches the scene; the views pause their
rendering so that the measurement has the CPU), and the result is stored back on the
server's thread
(:func:`~osteoimaging.mrml.focal_workflow.store_result`); then the map is shown over the CT
in all three views with its legend, the views jump to the seed, and the row joins the
results table. Errors go to the page (and the log, without patient data), never lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from trame.app import TrameApp
from trame.widgets import html

from osteoimaging.case import measure_case
from osteoimaging.errors import CancelledError, InputError
from osteoimaging.log import logger
from osteostation.calibration import calibration_choice
from osteostation.levels import check_station_level, level_after, level_for_click
from osteostation.render import configure_offscreen
from osteostation.session import StationSession
from osteostation.ui import TABLE_COLUMNS, WINDOW_PRESETS, build_ui

#: Slice views: singleton tag → (orientation, label colour).
VIEWS = {
    "Red": ("Axial", "#F34A33"),
    "Yellow": ("Sagittal", "#EFD64D"),
    "Green": ("Coronal", "#6DAD4A"),
}
#: Width of the axial view once a vertebra is measured (mm).
AXIAL_FOV_MM = 160.0
#: Download folder served to the page (relative URL, so a reverse-proxy prefix works).
DOWNLOADS = "downloads"


def station_layout():
    """Axial view large on the left; sagittal above coronal on the right."""
    from trame_slicer.views import Layout, LayoutDirection, ViewLayoutDefinition

    return Layout(
        LayoutDirection.Horizontal,
        [
            ViewLayoutDefinition.axial_view(),
            Layout(
                LayoutDirection.Vertical,
                [ViewLayoutDefinition.sagittal_view(), ViewLayoutDefinition.coronal_view()],
            ),
        ],
        flex_sizes=["3", "2"],
    )


def slice_view_gutter(server, view_id: str, view) -> None:
    """Each slice view's overlay: its name and the slice slider (Slicer's slice offset)."""
    from trame_slicer.app.logic.slice_view_logic import connect_slice_view_slider_to_state
    from trame_slicer.app.ui.slider import Slider

    tag = view.get_singleton_tag()
    orientation, colour = VIEWS.get(tag, (tag, "#ffffff"))
    html.Div(
        orientation,
        classes="text-caption",
        style=f"position:absolute;top:2px;left:8px;color:{colour};pointer-events:none;",
    )
    with html.Div(
        classes="slice-slider-gutter",
        style="position:absolute;bottom:0;left:0;width:100%;background-color:transparent;",
    ):
        Slider(
            typed_state=connect_slice_view_slider_to_state(server, view),
            theme="dark",
            density="compact",
        )


def legend_state(key: str, units: str | None = None) -> dict:
    """The page's colour legend of map ``key`` (the palette and range Slicer shows)."""
    from osteoimaging.maps import map_info
    from osteoimaging.mrml.maps import palette_colours

    info = map_info(key)
    colours = palette_colours(info.colormap, 9)
    stops = ", ".join(f"rgb({int(255 * r)},{int(255 * g)},{int(255 * b)})" for r, g, b in colours)
    fmt = info.label_format
    return {
        "title": f"{info.label} ({units or info.units})",
        "gradient": f"linear-gradient(to right, {stops})",
        "min": fmt % info.display_min,
        "max": fmt % info.display_max,
    }


def _value_text(value: Any) -> str:
    """A row value as exact text (``repr`` of floats: reads back to the same number)."""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value)
    return "" if value is None else str(value)


def row_state(row: dict, seed_ras) -> dict:
    """One results-table row for the page: formatted cells, exact values, the whole row."""
    cells, values = {}, {}
    for key, _, fmt in TABLE_COLUMNS:
        value = row.get(key)
        values[key] = _value_text(value)
        if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
            nan = isinstance(value, float) and math.isnan(value)
            cells[key] = "–" if nan else fmt.format(value)
        else:
            cells[key] = "" if value is None else str(value)
    if row.get("qc_flags"):
        cells["qc"] = f"{row['qc']}: {row['qc_flags']}"
    if row.get("bmd_units"):
        cells["trabecular_bmd"] += f" {row['bmd_units']}"
    return {
        "level": row["level"],
        "cells": cells,
        "values": values,
        "json": json.dumps(row),
        "seed": json.dumps([float(v) for v in seed_ras]),
        "source": str(row.get("source", "")),
    }


def _message(exc: BaseException, root: Path) -> str:
    """The error for the page, with the data folder's absolute path left out."""
    text = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
    return text.replace(f"{root}/", "").replace(str(root), "data folder")


class _QuietThread(logging.Filter):
    """Drops the records of one thread (the warm-up's flags are about a synthetic cube)."""

    def __init__(self, thread_id: int):
        super().__init__()
        self.thread_id = thread_id

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread_id


def warm_up() -> None:
    """Load ITK's GrowCut and numba's compiled kernels before the first click, with one
    measurement of a synthetic bone cube (its result and flags are discarded)."""
    import numpy as np

    from osteoimaging.case import BodySource, CaseRequest, measure_case
    from osteoimaging.volume import Volume

    t0 = time.perf_counter()
    array = np.zeros((48, 48, 48), np.int16)
    array[8:40, 8:40, 8:40] = 250
    cube = Volume(array=array, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0), direction=np.eye(3))
    quiet = _QuietThread(threading.get_ident())
    logger.addFilter(quiet)
    try:
        measure_case(CaseRequest(ct=cube, bodies=[BodySource("L1", seed_ras=(-24.0, -24.0, 24.0))]))
    except Exception as exc:  # only loading matters here
        logger.debug("station warm-up: %s", exc)
    finally:
        logger.removeFilter(quiet)
    logger.info("station: warm-up in %.1f s", time.perf_counter() - t0)


class StationApp(TrameApp):
    """The station on one data folder (one scene; one reader at a time)."""

    def __init__(self, data_dir, server=None, output_dir=None, warm: bool = True):
        super().__init__(server, client_type="vue3")
        configure_offscreen()
        import slicer
        import vtk
        from slicer import vtkMRMLMarkupsNode
        from trame_rca.utils import RcaEncoder
        from trame_slicer.core import LayoutManager, SlicerApp
        from trame_slicer.rca_view import register_rca_factories

        self.slicer = SlicerApp()
        # Slicer's colour legends (the maps' legends in the views): the node class the
        # application's colour logic registers; trame-slicer's scene lacks it.
        self.slicer.scene.RegisterNodeClass(slicer.vtkMRMLColorLegendDisplayNode())
        self.session = StationSession(data_dir, self.slicer.scene, output_dir=output_dir)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="osteo-station")
        self._cancel = False
        self._shown_map = None
        # trame-slicer observes the interactor's WindowResizeEvent, which VTK 9.6 warns
        # about once per view; the views resize correctly (trame-rca sends the event).
        vtk.vtkObject.GlobalWarningDisplayOff()
        register_rca_factories(
            self.slicer.view_manager,
            self.server,
            slice_view_ui_f=slice_view_gutter,
            rca_encoder=RcaEncoder.JPEG,
            # = trame-rca's still quality: one frame per update instead of a quick frame
            # then a sharper one (half the rendering on a CPU-only machine).
            interactive_quality=90,
        )
        self.layouts = LayoutManager(self.slicer.scene, self.slicer.view_manager, self.server)
        self.layouts.register_layout_dict({"station": station_layout()})
        self.layouts.set_layout("station")
        vtk.vtkObject.GlobalWarningDisplayOn()
        self.server.enable_module({"serve": {DOWNLOADS: str(self.session.output_dir)}})
        self._init_state()
        self._bind_controller()
        self.ui = build_ui(self.server, self.layouts, self.ctrl)
        self._click_node = self._new_click_node()
        self._click_node.AddObserver(vtkMRMLMarkupsNode.PointPositionDefinedEvent, self._on_click)
        for view in self.slice_views():
            view.get_view_node().AddObserver("ModifiedEvent", self._on_slice_modified)
        self._enable_clicks(True)
        if warm:
            self.executor.submit(warm_up)

    # -- set-up ------------------------------------------------------------------------

    def _init_state(self) -> None:
        from osteoimaging.maps import MAPS
        from osteoimaging.mrml.dicom_export import dicom_export_available
        from osteoimaging.mrml.focal_workflow import LEVELS

        available, reason = dicom_export_available()
        self.dicom_available = available
        self.state.update(
            {
                "series_items": self._series_items(),
                "series_id": None,
                "level_items": list(LEVELS),
                "level": "L1",
                "map_items": [{"title": m.label, "value": k} for k, m in MAPS.items()],
                "map_key": "focal_bmc_loss",
                "legend": None,
                "opacity": 0.6,
                "window_preset": "bone",
                "calibration_kind": "none",
                "slope": "",
                "intercept": "",
                "material": "HA",
                "profile_id": None,
                "profile_items": self._profile_items(),
                "calibration_text": "none: values in HU",
                "busy": False,
                "progress": 0,
                "progress_text": "",
                "error": "",
                "rows": [],
                "shown_level": None,
                "hint": "Choose a CT series.",
                "status": f"{len(self.session.series)} series in the data folder",
                "dicom_enabled": False,
                "dicom_tooltip": reason or "Load a DICOM series and measure a vertebra first",
                "deidentify": True,
                "view_geometry": {},
                "last_timing": None,
                "report_url": None,
                "dicom_url": None,
            }
        )
        self.state.change("series_id")(self._on_series)
        self.state.change("window_preset")(self._on_window)
        self.state.change("map_key", "opacity")(self._on_overlay)
        self.state.change("calibration_kind", "slope", "intercept", "material", "profile_id")(
            self._on_calibration
        )

    def _bind_controller(self) -> None:
        self.ctrl.save_report = self.save_report
        self.ctrl.export_dicom = self.export_dicom
        self.ctrl.next_vertebra = lambda: self.step_vertebra(+1)
        self.ctrl.previous_vertebra = lambda: self.step_vertebra(-1)
        self.ctrl.cancel = self.cancel
        self.server.trigger("show_level")(self.show_level)

    def _series_items(self) -> list[dict]:
        return [{"title": s.label, "value": s.id} for s in self.session.series]

    def _profile_items(self) -> list[dict]:
        return [{"title": p.relative, "value": p.id} for p in self.session.profiles]

    def _new_click_node(self):
        node = self.slicer.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "station clicks")
        node.CreateDefaultDisplayNodes()
        display = node.GetDisplayNode()
        display.SetPointLabelsVisibility(False)
        display.SetSelectedColor(1.0, 0.85, 0.2)
        return node

    def slice_views(self) -> list:
        return self.slicer.view_manager.get_slice_views()

    # -- errors and progress ---------------------------------------------------------

    def show_error(self, exc: BaseException) -> None:
        """Put the error on the page; unexpected errors also go to the log with a trace."""
        message = _message(exc, self.session.root)
        if not isinstance(exc, (InputError, CancelledError)):
            logger.exception("station: unexpected error")
        else:
            logger.warning("station: %s", type(exc).__name__)
        with self.state:
            self.state.error = message

    def _set_progress(self, fraction: float, message: str) -> None:
        with self.state:
            self.state.progress = round(100 * fraction)
            if message:
                self.state.progress_text = f"{self._busy_level}: {message}"

    def cancel(self) -> None:
        self._cancel = True

    # -- series and display ------------------------------------------------------------

    def _on_series(self, series_id=None, **_) -> None:
        if not series_id:
            return
        try:
            node = self.session.load(series_id)
        except Exception as exc:
            self.show_error(exc)
            return
        self._shown_map = None
        self.slicer.display_manager.show_volume_in_slice_background(node)
        self.slicer.display_manager.show_volume_in_slice_foreground(None)
        for view in self.slice_views():
            view.reset_view()
        self._on_window(self.state.window_preset)
        self.state.update(
            {
                "rows": [],
                "shown_level": None,
                "legend": None,
                "error": "",
                "level": "L1",
                "hint": "Click the middle of the L1 body (or choose the level first).",
                "status": f"CT {self.session.ct_volume.describe()}",
                "dicom_enabled": False,
                "report_url": None,
                "dicom_url": None,
            }
        )
        self._update_dicom_state()

    def _on_window(self, window_preset=None, **_) -> None:
        node = self.session.ct_node
        if node is None or window_preset not in WINDOW_PRESETS:
            return
        display = node.GetDisplayNode()
        _, window, level = WINDOW_PRESETS[window_preset]
        if window is None:
            display.AutoWindowLevelOn()
        else:
            display.AutoWindowLevelOff()
            display.SetWindowLevel(window, level)

    def _on_overlay(self, **_) -> None:
        if self.state.shown_level:
            self.show_level(self.state.shown_level, jump=False)

    def show_level(self, level: str, jump: bool = True) -> None:
        """Show ``level``'s map (the chosen one) over the CT, its legend, and its seed."""
        from osteoimaging.mrml.views import show_map

        measured = self.session.measured.get(level)
        if measured is None:
            return
        node = measured.run.map_nodes.get(self.state.map_key)
        show_map(self.slicer.scene, self.session.ct_node, node, opacity=float(self.state.opacity))
        self._style_legend(node)
        self._shown_map = node
        units = node.GetAttribute("OsteoImaging.units") if node is not None else None
        self.state.legend = legend_state(self.state.map_key, units) if node is not None else None
        self.state.shown_level = level
        if jump:
            self.jump_to(measured.seed_ras)
            self.zoom_axial(measured.seed_ras)
        self._render_all()

    def _style_legend(self, map_node) -> None:
        """Slicer's colour legend of the shown map, small and in the axial view only (the
        page shows the same legend beside the views)."""
        from osteoimaging.mrml.maps import legend_node

        legend = legend_node(map_node) if map_node is not None else None
        red = self.slicer.view_manager.get_view("Red")
        if legend is None or red is None:
            return
        legend.SetViewNodeIDs([red.get_view_node_id()])
        legend.SetSize(0.07, 0.3)
        legend.SetPosition(0.98, 0.04)
        legend.SetNumberOfLabels(3)

    def jump_to(self, ras) -> None:
        """Move every slice view's plane through ``ras`` (no pan; Slicer's "jump")."""
        for view in self.slice_views():
            view.get_view_node().JumpSliceByOffsetting(*[float(v) for v in ras])

    def zoom_axial(self, ras, width_mm: float = AXIAL_FOV_MM) -> None:
        """Centre the axial view on ``ras`` with ``width_mm`` across (a vertebra and its
        surroundings; the next body is in view after scrolling the slice)."""
        view = self.slicer.view_manager.get_view("Red")
        if view is None:
            return
        node = view.get_view_node()
        fov = node.GetFieldOfView()
        if fov[0] <= width_mm:
            node.JumpSliceByCentering(*[float(v) for v in ras])
            return
        node.SetFieldOfView(width_mm, width_mm * fov[1] / fov[0], fov[2])
        node.JumpSliceByCentering(*[float(v) for v in ras])

    def _render_all(self) -> None:
        for view in self.slice_views():
            view.schedule_render()

    def _on_slice_modified(self, node, _event) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        matrix = node.GetXYToRAS()
        geometry = {
            "xy_to_ras": [matrix.GetElement(r, c) for r in range(4) for c in range(4)],
            "dimensions": list(node.GetDimensions()[:2]),
            "orientation": node.GetOrientation(),
        }
        if self.state.view_geometry.get(node.GetSingletonTag()) != geometry:
            tag = node.GetSingletonTag()
            self.state.view_geometry = {**self.state.view_geometry, tag: geometry}
            self.state.flush()

    # -- calibration -------------------------------------------------------------------

    def calibration(self):
        kind = self.state.calibration_kind
        profile = (
            self.session.profile_path(self.state.profile_id)
            if kind == "profile" and self.state.profile_id
            else None
        )
        return calibration_choice(
            kind, self.state.slope, self.state.intercept, self.state.material, profile
        )

    def _on_calibration(self, **_) -> None:
        try:
            self.state.calibration_text = self.calibration().text
        except InputError as exc:
            self.state.calibration_text = str(exc)

    # -- clicks and measuring ----------------------------------------------------------

    def _enable_clicks(self, enabled: bool) -> None:
        if enabled:
            self.slicer.markups_logic.place_node(self._click_node, persistent=True)
        else:
            self.slicer.markups_logic.disable_place_mode()

    def _on_click(self, node, _event) -> None:
        n = node.GetNumberOfControlPoints()
        if n == 0:
            return
        ras = [0.0, 0.0, 0.0]
        node.GetNthControlPointPositionWorld(n - 1, ras)
        node.SetNthControlPointVisibility(n - 1, False)
        from trame_server.utils.asynchronous import create_task

        create_task(self.measure_click(tuple(ras)))

    async def measure_click(self, ras) -> dict | None:
        """Measure the vertebra at ``ras`` (RAS mm) as the chosen level; returns timings."""
        if self.state.busy:
            return None
        if self.session.ct_node is None:
            self.show_error(InputError("choose a CT series first"))
            return None
        t0 = time.perf_counter()
        seed = None
        try:
            level = level_for_click(self.state.level, self.session.last_level)
            choice = self.calibration()
            seed = self.session.seed_node(level, ras)
            self.session.prepare()
            request = self.session.request(level, seed, choice)
        except Exception as exc:
            if seed is not None:
                self.slicer.scene.RemoveNode(seed)
            self.show_error(exc)
            return None
        self._busy_level = level
        self._cancel = False
        with self.state:
            self.state.busy = True
            self.state.error = ""
            self.state.progress = 0
            self.state.progress_text = f"{level}: starting"
        self._enable_clicks(False)
        # The views do not render while the pipeline runs: on a 2-core machine their
        # software rendering took CPU from the measurement (the page shows progress).
        for view in self.slice_views():
            view.set_render_blocked(True)
        loop = asyncio.get_running_loop()

        def progress(fraction: float, message: str = "") -> bool:
            loop.call_soon_threadsafe(self._set_progress, fraction, message)
            return not self._cancel

        # The worker runs the case pipeline only; the scene is read before and written
        # after, on this thread.
        try:
            case = await loop.run_in_executor(self.executor, measure_case, request, progress)
            run = self.session.store(case)
        except Exception as exc:
            self.show_error(exc)
            run = None
        finally:
            for view in self.slice_views():
                view.set_render_blocked(False)
            self._enable_clicks(True)
        t1 = time.perf_counter()
        if run is None:  # the error is on the page; the failed click leaves no point
            self.slicer.scene.RemoveNode(seed)
            with self.state:
                self.state.busy = False
            self._render_all()
            return None
        self.session.record(run, ras)
        _style_seed(seed)
        self._style_segments()
        self.show_level(level)
        timing = {"measure_s": t1 - t0, "total_s": time.perf_counter() - t0}
        with self.state:
            self.state.rows = [
                row_state(m.run.row, m.seed_ras)
                for m in sorted(self.session.measured.values(), key=lambda m: _order(m.level))
            ]
            self.state.level = level_after(level)
            self.state.busy = False
            self.state.last_timing = timing
            self.state.hint = f"Next click: {self.state.level}."
            flags = f" — {run.row['qc_flags']}" if run.row.get("qc_flags") else ""
            self.state.status = f"{level} measured in {timing['total_s']:.1f} s{flags}"
        self._update_dicom_state()
        logger.info("station: %s measured in %.2f s", level, timing["total_s"])
        return timing

    def _style_segments(self) -> None:
        """Bodies as outlines (the map shows inside)."""
        from osteoimaging.mrml.focal_workflow import vertebrae_segmentation

        node = vertebrae_segmentation(self.session.ct_node, create=False)
        display = node.GetDisplayNode() if node is not None else None
        if display is not None:
            display.SetVisibility2DFill(False)
            display.SetVisibility2DOutline(True)
            display.SetSliceIntersectionThickness(2)

    def step_vertebra(self, step: int) -> None:
        """Next (+1, caudal) or previous (−1) vertebra: choose that level and move the
        views to it (its seed when measured, else one body height plus a disc away)."""
        try:
            current = check_station_level(self.state.level)
            target, ras = self.session.neighbour_target(current, step)
        except InputError as exc:
            self.show_error(exc)
            return
        self.state.level = target
        if target in self.session.measured:
            self.show_level(target)
            self.state.hint = f"{target} is measured; click to measure it again."
        elif ras is not None:
            self.jump_to(ras)
            self._render_all()
            self.state.hint = f"Click the middle of the {target} body."
        else:
            self.state.hint = f"Click the middle of the {target} body."

    # -- outputs -----------------------------------------------------------------------

    def _update_dicom_state(self) -> None:
        series = self.session.current
        if not self.dicom_available:
            return
        if series is None or series.kind != "dicom":
            self.state.dicom_enabled = False
            self.state.dicom_tooltip = "DICOM export needs a CT loaded from a DICOM series"
        elif not self.session.measured:
            self.state.dicom_enabled = False
            self.state.dicom_tooltip = "Measure a vertebra first"
        else:
            self.state.dicom_enabled = True
            self.state.dicom_tooltip = "SEG, Parametric Maps and SR of the measured levels (zip)"

    def _offer(self, key: str, token: str, path: Path) -> None:
        """Publish an output's relative URL (``downloads/<token>/<name>``) on the page."""
        self.state[key] = f"{DOWNLOADS}/{token}/{path.name}"

    def save_report(self) -> None:
        try:
            token, path = self.session.save_report()
        except Exception as exc:
            self.show_error(exc)
            return
        self.state.status = "Study report written"
        self._offer("report_url", token, path)

    async def export_dicom(self) -> None:
        if not self.state.dicom_enabled:
            return
        self.state.busy = True
        self._busy_level = "DICOM"
        self.state.progress_text = "DICOM export: writing SEG, Parametric Maps and SR"
        self.state.flush()
        loop = asyncio.get_running_loop()
        try:
            token, path = await loop.run_in_executor(
                self.executor, self.session.export_dicom, bool(self.state.deidentify)
            )
        except Exception as exc:
            self.show_error(exc)
            return
        finally:
            with self.state:
                self.state.busy = False
        self.state.status = "DICOM objects written"
        self._offer("dicom_url", token, path)


def _style_seed(node) -> None:
    """A small cyan cross with its level name (the map stays visible around it)."""
    display = node.GetDisplayNode() if node is not None else None
    if display is None:
        return
    display.SetGlyphTypeFromString("Cross2D")
    display.SetGlyphScale(2.0)
    display.SetTextScale(2.5)
    display.SetSelectedColor(0.3, 0.9, 1.0)
    display.SetColor(0.3, 0.9, 1.0)


def _order(level: str) -> int:
    from osteoimaging.mrml.focal_workflow import LEVELS

    return LEVELS.index(level)
