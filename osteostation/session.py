"""What the station does to the MRML scene, without the web page (testable headless).

A :class:`StationSession` lists the series under the data folder, loads one into the
scene (read with the logic layer's reader, as ``osteo focal`` reads it, then put in a
volume node), turns a click into a seed point node, and measures through
:func:`osteoimaging.mrml.focal_workflow.run_focal` — the one case pipeline — so a click
gives the row ``osteo focal --seed`` gives at the same RAS point. It writes the study
report (:func:`osteoimaging.mrml.report.save_report`) and the DICOM export into its own
output folder, never into the data folder.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteostation.calibration import CalibrationChoice
from osteostation.levels import check_station_level, next_level, previous_level
from osteostation.paths import data_root, safe_path
from osteostation.series import (
    Profile,
    Series,
    find_by_id,
    list_profiles,
    list_series,
    new_key,
    series_path,
)

#: The CT node's name: never the file name or anything from DICOM.
CT_NODE_NAME = "CT"
#: Gap between vertebral bodies assumed by "next/previous vertebra", as a fraction of the
#: body height (an intervertebral disc is about a quarter to a third of the adjacent body's
#: height in the lumbar spine); only places the slice, the reader clicks the body.
DISC_FRACTION = 0.3


@dataclass
class Measured:
    """One measured level: its seed, the FocalRun and the body's extent along S."""

    level: str
    seed_ras: tuple[float, float, float]
    run: Any
    superior_inferior_mm: tuple[float, float] = (0.0, 0.0)


@dataclass
class StationSession:
    """The station's scene-side state: series, the loaded CT and the measured levels."""

    data_dir: str | Path
    scene: Any
    key: bytes = field(default_factory=new_key)
    output_dir: Path | None = None

    def __post_init__(self) -> None:
        self.root = data_root(self.data_dir)
        if self.output_dir is None:
            self.output_dir = Path(tempfile.mkdtemp(prefix="osteo-station-"))
            self._owns_output = True
        else:
            self.output_dir = Path(self.output_dir)
            self.output_dir.mkdir(parents=True, exist_ok=True)
            self._owns_output = False
        self.series: list[Series] = []
        self.profiles: list[Profile] = []
        self.current: Series | None = None
        self.ct_node = None
        self.ct_volume = None
        self.measured: dict[str, Measured] = {}
        self.last_level: str | None = None
        self._nodes: list[Any] = []
        self.refresh()

    # -- data folder -------------------------------------------------------------------

    def refresh(self) -> None:
        """List the series and calibration profiles under the data folder again."""
        self.series = list_series(self.root, self.key)
        self.profiles = list_profiles(self.root, self.key)
        logger.info(
            "station: %d series and %d calibration profiles", len(self.series), len(self.profiles)
        )

    def profile_path(self, profile_id: str) -> Path:
        """The file of a listed profile (checked to be under the data folder)."""
        profile = find_by_id(self.profiles, profile_id, "calibration profile")
        return safe_path(self.root, profile.relative)

    def close(self) -> None:
        """Remove the output folder this session created."""
        if self._owns_output and self.output_dir is not None:
            shutil.rmtree(self.output_dir, ignore_errors=True)

    # -- loading -----------------------------------------------------------------------

    def _clear(self) -> None:
        for node in self._nodes:
            if node.GetScene() is self.scene:
                self.scene.RemoveNode(node)
        self._nodes.clear()
        self.measured.clear()
        self.ct_node = self.ct_volume = self.current = None
        self.last_level = None

    def track(self, node) -> Any:
        """Remember a node to remove when another series is loaded."""
        if node is not None and node not in self._nodes:
            self._nodes.append(node)
        return node

    def load(self, series_id: str):
        """Read series ``series_id`` (checked as HU, as ``osteo focal`` does) into a node."""
        from osteoimaging.mrml.volumes import volume_to_node
        from osteoimaging.validation import read_ct

        series = find_by_id(self.series, series_id, "series")
        path = series_path(self.root, series)
        volume = read_ct(path, series_uid=series.series_uid)
        self._clear()
        self.ct_volume = volume
        self.ct_node = self.track(volume_to_node(volume, self.scene, CT_NODE_NAME))
        self.current = series
        logger.info("station: series %s loaded (%s)", series.id, volume.describe())
        return self.ct_node

    # -- measuring ---------------------------------------------------------------------

    def seed_node(self, level: str, ras) -> Any:
        """A markups point node holding only the click (``run_focal`` reads point 0)."""
        from osteoimaging.mrml.markups import add_seed

        level = check_station_level(level)
        old = self.scene.GetFirstNodeByName(f"{level} seed")
        if old is not None:
            self.scene.RemoveNode(old)
        node = self.track(add_seed(self.scene, ras, name=f"{level} seed"))
        node.SetNthControlPointLabel(0, level)
        node.SetAttribute("OsteoImaging.level", level)
        return node

    def prepare(self) -> None:
        """Create the CT's segmentation and results table before a measurement, so that
        the measurement (possibly on a worker thread) only fills them."""
        from osteoimaging.mrml.focal_workflow import results_table, vertebrae_segmentation

        if self.ct_node is None:
            raise InputError("choose a CT series first")
        self.track(vertebrae_segmentation(self.ct_node))
        self.track(results_table(self.ct_node))

    def request(self, level: str, seed_node, choice: CalibrationChoice):
        """The case request of ``level`` from ``seed_node`` (reads the scene; main thread)."""
        from osteoimaging.mrml.focal_workflow import focal_request

        if self.ct_node is None:
            raise InputError("choose a CT series first")
        return focal_request(
            self.ct_node,
            check_station_level(level),
            seed_node=seed_node,
            calibration=choice.calibration,
            material=choice.material,
        )

    def store(self, case):
        """Put a measured case into the scene (segment, maps, row; main thread)."""
        from osteoimaging.mrml.focal_workflow import store_result

        return store_result(self.scene, self.ct_node, case, seeded=True)

    def measure(self, level: str, seed_node, choice: CalibrationChoice, progress=None):
        """Measure ``level`` from ``seed_node`` with the case pipeline, as ``run_focal``
        does: :meth:`request`, ``measure_case``, :meth:`store` (one thread)."""
        from osteoimaging.case import measure_case

        return self.store(measure_case(self.request(level, seed_node, choice), progress))

    def record(self, run, seed_ras) -> Measured:
        """Keep a finished run (its map nodes are tracked for removal)."""
        for node in run.map_nodes.values():
            self.track(node)
        extent = superior_inferior_extent(run.result.body) if run.result is not None else (0, 0)
        seed = tuple(float(v) for v in seed_ras)
        measured = Measured(run.level, seed, run, extent)  # type: ignore[arg-type]
        self.measured[run.level] = measured
        self.last_level = run.level
        return measured

    def rows(self) -> list[dict]:
        """The measured rows in level order."""
        from osteoimaging.mrml.focal_workflow import LEVELS

        order = {name: i for i, name in enumerate(LEVELS)}
        return [m.run.row for _, m in sorted(self.measured.items(), key=lambda i: order[i[0]])]

    # -- navigation --------------------------------------------------------------------

    def neighbour_target(self, level: str, step: int) -> tuple[str, tuple | None]:
        """The level ``step`` (+1 down, −1 up) from ``level`` and where to look for it:
        its own seed when measured, else an estimate one body height plus a disc away from
        the nearest measured level (None when nothing was measured)."""
        target = next_level(level) if step > 0 else previous_level(level)
        if target is None:
            raise InputError(f"no level {'below' if step > 0 else 'above'} {level}")
        if target in self.measured:
            return target, self.measured[target].seed_ras
        reference = self.measured.get(level) or self.measured.get(self.last_level or "")
        if reference is None:
            return target, None
        from osteoimaging.mrml.focal_workflow import LEVELS

        distance = LEVELS.index(target) - LEVELS.index(reference.level)
        low, high = reference.superior_inferior_mm
        height = max(high - low, 10.0)
        x, y, z = reference.seed_ras
        return target, (x, y, z - distance * height * (1.0 + DISC_FRACTION))

    # -- outputs -----------------------------------------------------------------------

    def new_output(self, name: str) -> tuple[str, Path]:
        """(token, path) of a new output file ``<token>/<name>`` in the output folder."""
        assert self.output_dir is not None
        token = secrets.token_hex(8)
        folder = self.output_dir / token
        folder.mkdir()
        return token, folder / name

    def save_report(self) -> tuple[str, Path]:
        """The study report of the measured levels, in the output folder."""
        from osteoimaging.mrml.report import save_report

        if self.ct_node is None:
            raise InputError("choose a CT series first")
        token, path = self.new_output("report.html")
        save_report(self.ct_node, path)
        return token, path

    def export_dicom(self, deidentify: bool = False) -> tuple[str, Path]:
        """SEG, Parametric Maps and SR of the measured levels, zipped, in the output folder."""
        from osteoimaging.mrml.dicom_export import export_case_dicom
        from osteostation.dicom_export import zip_files

        if self.current is None or self.current.kind != "dicom":
            raise InputError("DICOM export needs a CT loaded from a DICOM series")
        token, path = self.new_output("osteoimaging-dicom.zip")
        folder = path.parent / "dicom"
        files = export_case_dicom(
            self.ct_node,
            series_path(self.root, self.current),
            folder,
            series_uid=self.current.series_uid,
            volume=self.ct_volume,
            deidentify=deidentify,
        )
        zip_files(files, path)
        shutil.rmtree(folder, ignore_errors=True)
        return token, path


def superior_inferior_extent(body) -> tuple[float, float]:
    """(lowest, highest) RAS S coordinate (mm) of the voxel centres of a body mask."""
    indices = np.argwhere(np.asarray(body.array, bool))
    if indices.size == 0:
        return (0.0, 0.0)
    low, high = indices.min(axis=0)[::-1], indices.max(axis=0)[::-1]  # (k, j, i) → (i, j, k)
    corners = np.array([low, high], dtype=float)
    grid = np.stack(np.meshgrid(*corners.T, indexing="ij"), -1).reshape(-1, 3)
    superior = np.array([body.index_to_physical(p)[2] for p in grid])  # LPS z = RAS S
    return float(superior.min()), float(superior.max())
