"""Parametric Maps: one voxel map (focal BMC loss, focal BMD loss, intercept width, BMD)
per DICOM Parametric Map, on the map's own grid in the source's frame of reference.

* Pixels are IEEE floats (Float Pixel Data, or Double Float Pixel Data for float64
  maps), stored as computed, so values round-trip bit for bit; integer maps are stored as
  float32 (exact below 2**24).
* NaN (outside the trabecular ROI) is stored as NaN: PS3.5 Section 8 allows IEEE 754 NaN
  in OF/OD values (clarified by CP-2352). The Real World Value Mapping (identity: slope
  1, intercept 0) gives the unit in UCUM and the quantity's code, its value range is the
  finite range of the map.
* Geometry: the frames are the map's k slices; each carries its Image Position, and the
  shared Plane Orientation and Pixel Measures hold the direction and spacing
  (:mod:`osteoimaging.dicom.grid`), so oblique 0.3 mm analysis grids are stored as they
  are, without resampling.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset

from osteoimaging.dicom import codes, grid, identity
from osteoimaging.dicom.source import DicomSource
from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

PM_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.30"


def _pixels(volume: Volume, what: str) -> np.ndarray:
    array = np.asarray(volume.array)
    if array.dtype in (np.float32, np.float64):
        pixels = array
    elif np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        pixels = array.astype(np.float32)
        if not np.array_equal(pixels.astype(array.dtype), array):
            raise InputError(f"{what}: integer values too large for exact float32 storage")
    else:
        raise InputError(f"{what}: cannot store {array.dtype} pixels (float or integer)")
    if np.isinf(pixels).any():
        raise InputError(f"{what}: infinite values")
    if not np.isfinite(pixels).any():
        raise InputError(f"{what}: no finite value (empty map)")
    return np.ascontiguousarray(pixels)


def _window(pixels: np.ndarray) -> tuple[float, float]:
    finite = pixels[np.isfinite(pixels)]
    lo, hi = (float(v) for v in np.percentile(finite, [1.0, 99.0]))
    if not hi > lo:
        lo, hi = float(finite.min()), float(finite.max())
    width = hi - lo if hi > lo else max(abs(hi), 1.0)
    return (lo + hi) / 2.0, width


def _window_arguments(center: float, width: float) -> dict:
    """highdicom 0.28 takes VOI LUT transformations (0.27: window centre/width)."""
    parameters = inspect.signature(hd.pm.ParametricMap).parameters
    if "voi_lut_transformations" in parameters:
        return {
            "voi_lut_transformations": [
                hd.VOILUTTransformation(window_center=center, window_width=width)
            ]
        }
    return {"window_center": center, "window_width": width}


def content_label(name: str) -> str:
    """A Content Label (CS, ≤ 16 characters, A–Z 0–9 _) from a map name."""
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())[:16] or "MAP"


def build_parametric_map(
    source: DicomSource,
    volume: Volume,
    name: str,
    *,
    level: str,
    series_number: int,
    series_description: str | None = None,
) -> hd.pm.ParametricMap:
    """One map as a Parametric Map derived from the source series (module docstring)."""
    level = codes.normalise_level(level)
    what = f"{level} map {name!r}"
    unit = str(volume.metadata.get("units", ""))
    if not unit:
        raise InputError(f"{what}: no units in the map's metadata")
    quantity = codes.quantity(name, unit)
    unit_code = codes.ucum(unit)
    pixels = _pixels(volume, what)
    if abs(np.linalg.det(volume.direction)) < 1e-6:
        raise InputError(f"{what}: degenerate direction")
    finite = pixels[np.isfinite(pixels)]
    mapping = hd.pm.RealWorldValueMapping(
        lut_label=quantity.label[:16],
        lut_explanation=f"{quantity.concept.meaning} ({unit_code.value}), {level}",
        unit=unit_code,
        value_range=(float(finite.min()), float(finite.max())),
        slope=1,
        intercept=0,
        quantity_definition=quantity.concept,
    )
    center, width = _window(pixels)
    nan_note = "; NaN outside the ROI" if np.isnan(pixels).any() else ""
    pm = hd.pm.ParametricMap(
        source_images=source.datasets,
        pixel_array=pixels,
        **identity.new_instance(series_number),
        **identity.enhanced_equipment(),
        contains_recognizable_visual_features=False,
        real_world_value_mappings=[mapping],
        content_label=content_label(name),
        content_description=f"{level} {quantity.label} ({unit_code.value}){nan_note}"[:64],
        pixel_measures=grid.pixel_measures(volume),
        plane_orientation=grid.plane_orientation(volume),
        plane_positions=grid.plane_positions(volume),
        series_description=series_description or f"OsteoImaging {level} {quantity.label}",
        coding_schemes=codes.coding_schemes(),
        **_window_arguments(center, width),
    )
    pm.SharedFunctionalGroupsSequence[0].FrameAnatomySequence = [_frame_anatomy(level)]
    _order_frames_along_normal(pm)
    return pm


def _order_frames_along_normal(pm: Dataset) -> None:
    """Store the frames in ascending order along the plane normal (row × column cosines).

    highdicom writes them in descending order; dcmqi's ``paramap2itkimage`` (the reader
    behind Slicer's Parametric Map loading) stacks frames in file order from the lowest
    position, so it would load such a map reversed. Each frame keeps its own position.
    """
    cosines = np.asarray(
        pm.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient,
        float,
    )
    normal = np.cross(cosines[:3], cosines[3:])
    frames = pm.PerFrameFunctionalGroupsSequence
    distance = [
        float(np.asarray(f.PlanePositionSequence[0].ImagePositionPatient, float) @ normal)
        for f in frames
    ]
    order = np.argsort(distance, kind="stable")
    if np.array_equal(order, np.arange(len(frames))):
        return
    keyword = "DoubleFloatPixelData" if "DoubleFloatPixelData" in pm else "FloatPixelData"
    dtype = np.float64 if keyword == "DoubleFloatPixelData" else np.float32
    pixels = np.frombuffer(pm[keyword].value, dtype=dtype).reshape(len(frames), -1)
    setattr(pm, keyword, np.ascontiguousarray(pixels[order]).tobytes())
    pm.PerFrameFunctionalGroupsSequence = [frames[int(i)] for i in order]
    for n, item in enumerate(pm.PerFrameFunctionalGroupsSequence, 1):
        item.FrameContentSequence[0].DimensionIndexValues = [n]


def _frame_anatomy(level: str) -> Dataset:
    """Frame Anatomy: the level's vertebra, an unpaired structure (laterality U)."""
    code = codes.vertebra_code(level)
    region = Dataset()
    region.CodeValue = code.value
    region.CodingSchemeDesignator = code.scheme_designator
    region.CodeMeaning = code.meaning
    item = Dataset()
    item.AnatomicRegionSequence = [region]
    item.FrameLaterality = "U"
    return item


def read_parametric_map(path: str | Path) -> Volume:
    """A Parametric Map as our Volume, decoded with pydicom alone: the stored values (ours
    are identity mappings), its grid from the frames' positions, orientation and pixel
    measures, ``metadata["units"]`` = the UCUM unit of the first mapping.

    Frames are ordered along the normal of the image plane (row × column cosines), so a
    map written from a left-handed grid comes back with its k axis reversed (same
    voxels at the same points).
    """
    ds = pydicom.dcmread(str(path))
    if str(ds.SOPClassUID) != PM_SOP_CLASS:
        raise InputError("not a Parametric Map", path)
    frames = np.asarray(ds.pixel_array)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    frames = frames.reshape(n, int(ds.Rows), int(ds.Columns))
    shared = ds.SharedFunctionalGroupsSequence[0]
    cosines = np.asarray(shared.PlaneOrientationSequence[0].ImageOrientationPatient, float)
    measures = shared.PixelMeasuresSequence[0]
    row_spacing, column_spacing = (float(v) for v in measures.PixelSpacing)
    positions = np.asarray(
        [
            item.PlanePositionSequence[0].ImagePositionPatient
            for item in ds.PerFrameFunctionalGroupsSequence
        ],
        float,
    )
    normal = np.cross(cosines[:3], cosines[3:])
    order = np.argsort(positions @ normal, kind="stable")
    positions, frames = positions[order], frames[order]
    if n > 1:
        steps = np.diff(positions, axis=0)
        step = (positions[-1] - positions[0]) / (n - 1)
        if np.abs(steps - step).max() > grid.POSITION_TOL_MM:
            raise InputError("frames are not evenly spaced along one axis", path)
    else:
        step = normal * float(measures.get("SpacingBetweenSlices", measures.SliceThickness))
    slice_spacing = float(np.linalg.norm(step))
    mapping = shared.RealWorldValueMappingSequence[0]
    return Volume(
        array=frames,
        spacing=(column_spacing, row_spacing, slice_spacing),
        origin=tuple(positions[0]),
        direction=np.stack([cosines[:3], cosines[3:], step / slice_spacing], axis=1),
        metadata={
            "units": str(mapping.MeasurementUnitsCodeSequence[0].CodeValue),
            "label": str(mapping.LUTLabel),
        },
    )
