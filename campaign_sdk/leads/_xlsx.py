"""Reading an Excel workbook (``.xlsx`` / ``.xlsm``) of leads with openpyxl, row by row.

The first sheet's first row names the columns; every cell becomes text as Excel shows it for a
plain number (``14155552671``, ``2.5``), pandas' NA markers and empty cells are missing, and the
empty rows Excel leaves after the data are ignored. The workbook is read in openpyxl's read-only
mode, so a large sheet is never held whole in memory.
"""

from __future__ import annotations

import datetime as dt
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from campaign_sdk._exceptions import LeadValidationError

XLSX_SUFFIXES = (".xlsx", ".xlsm")
OLD_EXCEL_SUFFIXES = (".xls", ".xlsb", ".ods")


def _open(path: Path) -> Any:
    import openpyxl

    try:
        with warnings.catch_warnings():  # "Workbook contains no default style": harmless for data
            warnings.simplefilter("ignore", UserWarning)
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise LeadValidationError(f"cannot read {path} as an Excel workbook (.xlsx): {exc}") from None


def cell_text(value: object, na_values: frozenset[str]) -> str | None:
    """One cell as text: None / NA markers missing, whole floats without ``.0``, dates ISO."""
    if value is None:
        return None
    if isinstance(value, str):
        return None if value in na_values else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def xlsx_header(path: Path) -> tuple[str, list[str]]:
    """The first sheet's name and its column names (the first row)."""
    book = _open(path)
    try:
        sheet = book.worksheets[0]
        first = next(sheet.iter_rows(max_row=1, values_only=True), ())
    finally:
        book.close()
    names = list(first)
    while names and names[-1] in (None, ""):
        names.pop()
    unnamed = [i + 1 for i, name in enumerate(names) if name in (None, "")]
    if unnamed:
        raise LeadValidationError(
            f"column(s) {unnamed} of sheet {sheet.title!r} in {path} have no name in the first row; "
            "name every column"
        )
    return sheet.title, [cell_text(name, frozenset()) or "" for name in names]


def xlsx_rows(path: Path, columns: list[str], wanted: list[str], size: int,
              na_values: frozenset[str]) -> Iterator[dict[str, pa.Array]]:
    """Chunks of at most ``size`` data rows (after the header) with the ``wanted`` columns."""
    where = [columns.index(c) for c in wanted]
    book = _open(path)
    try:
        rows: list[tuple[object, ...]] = []
        blank = 0  # empty rows held back: dropped if nothing follows them
        for row in book.worksheets[0].iter_rows(min_row=2, values_only=True):
            if all(v is None or v == "" for v in row):
                blank += 1
                continue
            rows.extend([()] * blank)
            blank = 0
            rows.append(row)
            while len(rows) >= size:
                yield _chunk(rows[:size], wanted, where, na_values)
                rows = rows[size:]
        if rows:
            yield _chunk(rows, wanted, where, na_values)
    finally:
        book.close()


def _chunk(rows: list[tuple[object, ...]], wanted: list[str], where: list[int],
           na_values: frozenset[str]) -> dict[str, pa.Array]:
    return {
        name: pa.array([cell_text(row[i] if i < len(row) else None, na_values) for row in rows], pa.string())
        for name, i in zip(wanted, where)
    }
