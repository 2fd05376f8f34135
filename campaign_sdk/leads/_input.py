"""Reading lead input (DataFrame, CSV / Parquet / Excel path, CampaignLeadUser list) in bounded chunks.

Every chunk is a dict of Arrow string arrays (null: missing), so the rest of the loader sees one
shape whatever the source. CSV files are read with pyarrow's streaming reader in the dialect
detected by :mod:`campaign_sdk.leads._dialect`, every column as text (leading zeros and ``+``
survive) and pandas' default NA markers as missing; Parquet files batch by batch; ``.xlsx``
workbooks row by row (:mod:`campaign_sdk.leads._xlsx`); none is ever held whole in memory.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from campaign_sdk._exceptions import LeadValidationError
from campaign_sdk.leads._dialect import InputFormat, not_text, sniff_csv
from campaign_sdk.leads._xlsx import OLD_EXCEL_SUFFIXES, XLSX_SUFFIXES, xlsx_header, xlsx_rows
from campaign_sdk.phones import as_text
from campaign_sdk.schemas import CampaignLeadUser

LeadInput: TypeAlias = pd.DataFrame | str | os.PathLike[str] | Sequence[CampaignLeadUser]
Chunk = dict[str, pa.Array]

# pandas.read_csv's default NA markers, so a CSV reads the same as with keep_default_na=True.
NA_VALUES = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]
_CSV_BLOCK = 8 << 20
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass
class Source:
    """Where the rows come from: column names, the row count when known up front, the
    size of the file (for the progress-bar threshold) and how it is read."""

    columns: list[str]
    rows: int | None
    size: int
    _chunks: Any
    user_list: bool = False
    input_format: InputFormat = InputFormat("dataframe")

    def chunks(self, columns: Sequence[str], chunk_size: int) -> Iterator[Chunk]:
        """Chunks of at most ``chunk_size`` rows with the given columns, as string arrays."""
        return self._chunks(list(columns), chunk_size)


def open_source(data: LeadInput, *, encoding: str | None = None) -> Source:
    """Look at ``data`` (columns, size, CSV dialect) without reading all of it. ``encoding``:
    the text encoding of a CSV file (UTF-8, with or without a BOM, when not given)."""
    if isinstance(data, pd.DataFrame):
        return _frame_source(data)
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise LeadValidationError(f"lead file {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            return _parquet_source(path)
        if suffix in XLSX_SUFFIXES:
            return _xlsx_source(path)
        if suffix in OLD_EXCEL_SUFFIXES:
            raise LeadValidationError(f"{path} is a {suffix} file; save it as .xlsx or as CSV UTF-8 and load that")
        return _csv_source(path, encoding)
    return _users_source(data)


def _unique(columns: list[str], where: str) -> list[str]:
    seen = {c for c in columns if columns.count(c) > 1}
    if seen:
        raise LeadValidationError(f"{where} has duplicate column names {sorted(seen)}; rename them")
    return columns


def _frame_source(frame: pd.DataFrame) -> Source:
    columns = _unique([str(c) for c in frame.columns], "the DataFrame")
    frame = frame.set_axis(columns, axis=1)

    def chunks(wanted: list[str], size: int) -> Iterator[Chunk]:
        for start in range(0, len(frame), size):
            part = frame.iloc[start : start + size]
            yield {c: as_text(part[c]) for c in wanted}

    return Source(columns, len(frame), 0, chunks)


def _users_source(items: Sequence[CampaignLeadUser]) -> Source:
    rows = []
    for position, item in enumerate(items):
        if not isinstance(item, CampaignLeadUser):
            raise LeadValidationError(
                "add_leads takes a DataFrame, a CSV/Parquet path or CampaignLeadUser items; "
                f"item {position} is a {type(item).__name__}"
            )
        rows.append({
            "phone_number": item.phone_number,
            "conversation_user_id": item.conversation_user_id,
            **item.custom_variables,
        })
    frame = pd.DataFrame(rows, columns=None if rows else ["phone_number", "conversation_user_id"])
    if "conversation_user_id" in frame:
        frame["conversation_user_id"] = frame["conversation_user_id"].astype("Int64")
    source = _frame_source(frame)
    source.user_list = True
    source.input_format = InputFormat("users")
    return source


def _csv_source(path: Path, encoding: str | None) -> Source:
    dialect = sniff_csv(path, encoding)
    utf8 = dialect.encoding == "utf-8"
    try:
        with path.open(newline="", encoding="utf-8-sig" if utf8 else dialect.encoding) as handle:
            header = next(csv.reader(handle, delimiter=dialect.delimiter or ","), [])
    except UnicodeDecodeError:
        raise not_text(path, encoding) from None
    columns = _unique(header, f"the CSV file {path}")

    def chunks(wanted: list[str], size: int) -> Iterator[Chunk]:
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK, encoding="utf8" if utf8 else dialect.encoding),
                parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter or ","),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in columns}, include_columns=wanted,
                    null_values=NA_VALUES, strings_can_be_null=True, quoted_strings_can_be_null=True,
                ),
            )
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                yield from _split(batch, wanted, size)
        except pa.ArrowInvalid as exc:
            hint = "; save it as UTF-8 (CSV UTF-8 in Excel), or pass its encoding" if "UTF8" in str(exc) else ""
            raise LeadValidationError(f"cannot read {path} as CSV ({dialect}): {exc}{hint}") from None

    return Source(columns, None, path.stat().st_size, chunks, input_format=dialect)


def _xlsx_source(path: Path) -> Source:
    sheet, header = xlsx_header(path)
    columns = _unique(header, f"sheet {sheet!r} of {path}")
    na = frozenset(NA_VALUES)

    def chunks(wanted: list[str], size: int) -> Iterator[Chunk]:
        return xlsx_rows(path, columns, wanted, size, na)

    return Source(columns, None, path.stat().st_size, chunks, input_format=InputFormat("xlsx", sheet=sheet))


def _parquet_source(path: Path) -> Source:
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise LeadValidationError(f"cannot read {path} as Parquet: {exc}") from None
    columns = _unique(list(file.schema_arrow.names), f"the Parquet file {path}")

    def chunks(wanted: list[str], size: int) -> Iterator[Chunk]:
        for batch in file.iter_batches(batch_size=size, columns=wanted):
            yield from _split(batch, wanted, size)

    return Source(columns, file.metadata.num_rows, path.stat().st_size, chunks, input_format=InputFormat("parquet"))


def _split(batch: pa.RecordBatch, wanted: list[str], size: int) -> Iterator[Chunk]:
    for start in range(0, batch.num_rows, size):
        part = batch.slice(start, size)
        yield {c: as_text(part.column(c)) for c in wanted}


def read_input(data: LeadInput, *, encoding: str | None = None) -> pd.DataFrame:
    """The whole input as a DataFrame of strings (None where missing); for small inputs."""
    source = open_source(data, encoding=encoding)
    chunks = [pa.table(chunk) for chunk in source.chunks(source.columns, 1 << 30)]
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in source.columns})
    frame = pa.concat_tables(chunks).to_pandas().astype(object)
    return frame.where(frame.notna(), None)
