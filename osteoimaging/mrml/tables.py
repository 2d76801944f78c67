"""Results → a table node (one row per vertebra level and sub-region), saved as CSV/TSV.

Rows are keyed by (level, region): measuring a level again replaces its row, so a
radiologist can measure L1, then L2, … and compare in one table. Numbers are stored as
double columns (Slicer's table view sorts them numerically), text as string columns.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import slicer
import vtk

from osteoimaging.errors import InputError

KEY_COLUMNS = ("level", "region")


def _column_names(table) -> list[str]:
    return [table.GetColumnName(c) for c in range(table.GetNumberOfColumns())]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _add_column(table_node, name: str, numeric: bool) -> None:
    array = vtk.vtkDoubleArray() if numeric else vtk.vtkStringArray()
    array.SetName(name)
    array.SetNumberOfTuples(table_node.GetNumberOfRows())
    for row in range(table_node.GetNumberOfRows()):
        if numeric:
            array.SetValue(row, math.nan)
        else:
            array.SetValue(row, "")
    table_node.GetTable().AddColumn(array)


def new_results_table(scene, name: str = "OsteoImaging results"):
    """An empty table node with the key columns."""
    node = scene.AddNewNodeByClass("vtkMRMLTableNode", name)
    for column in KEY_COLUMNS:
        _add_column(node, column, numeric=False)
    return node


def _add_missing_columns(table_node, values: dict[str, Any], text: tuple[str, ...] = ()) -> list:
    """Add a column for each new name of ``values`` (numbers and None → double, the rest and
    the ``text`` columns → string); returns all column names."""
    names = _column_names(table_node.GetTable())
    for name, value in values.items():
        if name not in names:
            numeric = name not in text and (_is_number(value) or value is None)
            _add_column(table_node, name, numeric=numeric)
            names.append(name)
    return names


def _find_or_add_row(table_node, key: dict[str, str]) -> int:
    """The index of the row whose key columns hold ``key``'s values, or of a new row (NaN in
    double columns, "" in string columns)."""
    table = table_node.GetTable()
    columns = [table.GetColumnByName(c) for c in key]
    wanted = tuple(key.values())
    for row in range(table_node.GetNumberOfRows()):
        if tuple(column.GetValue(row) for column in columns) == wanted:
            return row
    row = table_node.AddEmptyRow()
    for c in range(table.GetNumberOfColumns()):
        array = table.GetColumn(c)
        array.SetValue(row, math.nan if isinstance(array, vtk.vtkDoubleArray) else "")
    return row


def set_result_row(table_node, level: str, region: str, values: dict[str, Any]) -> int:
    """Write one row (replacing the row with the same level and region); returns its index.

    Numbers (and None → NaN) go into double columns, everything else into string columns;
    new columns are added as values with new names appear.
    """
    table = table_node.GetTable()
    _add_missing_columns(table_node, values)
    row = _find_or_add_row(table_node, dict(zip(KEY_COLUMNS, (level, region), strict=True)))
    table.GetColumnByName("level").SetValue(row, level)
    table.GetColumnByName("region").SetValue(row, region)
    for name, value in values.items():
        column = table.GetColumnByName(name)
        if isinstance(column, vtk.vtkDoubleArray):
            column.SetValue(row, math.nan if value is None else float(value))
        else:
            column.SetValue(row, "" if value is None else str(value))
    table.Modified()
    table_node.Modified()
    return row


def upsert_row(table_node, values: dict[str, Any], key: str = "level") -> int:
    """Write one row keyed by its ``key`` column (replacing the row with the same key).

    Columns are created as values with new names appear: numbers (and None → NaN) in
    double columns, everything else in string columns. Returns the row index.
    """
    table = table_node.GetTable()
    names = _add_missing_columns(table_node, values, text=(key,))
    row = _find_or_add_row(table_node, {key: str(values[key])})
    for name in names:
        array, value = table.GetColumnByName(name), values.get(name)
        if isinstance(array, vtk.vtkDoubleArray):
            number = math.nan if value is None or not _is_number(value) else float(value)
            array.SetValue(row, number)
        else:
            array.SetValue(row, "" if value is None else str(value))
    table.Modified()
    table_node.Modified()
    return row


def rows_table(scene, name: str, rows: list[dict[str, Any]]):
    """A table node named ``name`` holding exactly ``rows`` (replacing what it held)."""
    nodes = scene.GetNodesByClassByName("vtkMRMLTableNode", name)
    node = nodes.GetItemAsObject(0) if nodes.GetNumberOfItems() else None
    if node is None:
        node = scene.AddNewNodeByClass("vtkMRMLTableNode", name)
    node.SetAndObserveTable(vtk.vtkTable())
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    for column in columns:
        numeric = all(_is_number(r.get(column)) or r.get(column) is None for r in rows)
        _add_column(node, column, numeric)
    table = node.GetTable()
    for row in rows:
        index = node.AddEmptyRow()
        for column in columns:
            array, value = table.GetColumnByName(column), row.get(column)
            if isinstance(array, vtk.vtkDoubleArray):
                array.SetValue(index, math.nan if value is None else float(value))
            else:
                array.SetValue(index, "" if value is None else str(value))
    node.Modified()
    return node


def table_rows(table_node) -> list[dict[str, Any]]:
    """The rows as dicts (floats for double columns, str otherwise)."""
    table = table_node.GetTable()
    names = _column_names(table)
    rows = []
    for row in range(table_node.GetNumberOfRows()):
        rows.append({n: table.GetColumnByName(n).GetVariantValue(row).ToString() for n in names})
        for n in names:
            column = table.GetColumnByName(n)
            if isinstance(column, vtk.vtkDoubleArray):
                rows[-1][n] = column.GetValue(row)
    return rows


def save_table(table_node, path: str | Path) -> Path:
    """Write the table as CSV (``.csv``) or TSV (``.tsv``/``.txt``), atomically.

    Slicer's table storage also writes the column types beside it (``<name>.schema.csv``),
    so that Slicer reads the numbers back as numbers.
    """
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".tsv", ".txt"):
        raise InputError("table file must end in .csv or .tsv", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = slicer.vtkMRMLTableStorageNode()
    with tempfile.TemporaryDirectory(prefix=".osteo-table-", dir=path.parent) as folder:
        storage.SetFileName(str(Path(folder) / path.name))
        if not storage.WriteData(table_node):
            raise InputError("could not write the table", path)
        for written in sorted(Path(folder).iterdir(), key=lambda p: p.name != path.name):
            os.replace(written, path.parent / written.name)
    return path
