"""What a lead file is: its format and, for a CSV, its dialect (delimiter, BOM, encoding, header).

CSV dialects are detected with the standard library's :class:`csv.Sniffer` on the first 64 KiB.
A file that reads as several comma-separated columns is read that way, as it always was; only a
file whose first line is one column under commas takes the sniffed delimiter (``;`` from
European Excel, tab, ``|``). The header verdict is the sniffer's opinion of the first line; it
is reported and explains a missing phone column, but never changes how the file is read.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

from campaign_sdk._exceptions import LeadValidationError

SAMPLE_BYTES = 64 << 10
DELIMITERS = ",;\t|"
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class InputFormat:
    """How the lead input was read, as reported in ``LeadLoadReport.input_format``.

    ``kind`` is ``csv``, ``xlsx``, ``parquet``, ``dataframe`` or ``users``. For a CSV:
    ``delimiter``, ``encoding`` (``utf-8`` unless one was given), ``bom`` (a UTF-8 byte-order
    mark, as Excel's "CSV UTF-8" writes) and ``header`` (whether the first line looks like column
    names to :class:`csv.Sniffer`; None when it cannot tell). For a workbook: ``sheet``.

    >>> print(InputFormat("csv", delimiter=";", encoding="utf-8", bom=True, header=True))
    CSV, semicolon-separated, UTF-8 with BOM, first line a header (detected by csv.Sniffer)
    """

    kind: str
    delimiter: str | None = None
    encoding: str | None = None
    bom: bool = False
    header: bool | None = None
    sheet: str | None = None

    def __str__(self) -> str:
        if self.kind == "xlsx":
            return f"Excel workbook, sheet {self.sheet!r}"
        if self.kind != "csv":
            return {"dataframe": "DataFrame", "users": "CampaignLeadUser items"}.get(self.kind, self.kind.title())
        encoding = "UTF-8" if self.encoding == "utf-8" else str(self.encoding)
        header = {True: "first line a header", False: "first line looks like data, not a header",
                  None: "header not detected"}[self.header]
        delimiter = _NAMES.get(self.delimiter or ",", repr(self.delimiter))
        bom = " with BOM" if self.bom else ""
        return f"CSV, {delimiter}-separated, {encoding}{bom}, {header} (detected by csv.Sniffer)"


def sniff_csv(path: Path, encoding: str | None = None) -> InputFormat:
    """The dialect of the CSV file at ``path``; :class:`LeadValidationError` if it is not text
    in ``encoding`` (UTF-8 when not given)."""
    try:
        name = codecs.lookup(encoding or "utf-8").name
    except LookupError:
        raise LeadValidationError(f"encoding {encoding!r} is not one Python knows (e.g. 'cp1252', 'latin-1')") from None
    with path.open("rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
    bom = name == "utf-8" and raw.startswith(codecs.BOM_UTF8)
    cut = len(raw) == SAMPLE_BYTES  # the sample may end inside a line, or inside a character
    try:
        text = raw[len(codecs.BOM_UTF8) if bom else 0:].decode(name)
    except UnicodeDecodeError as exc:
        if not cut or exc.start < len(raw) - 8:
            raise not_text(path, encoding) from None
        text = raw[len(codecs.BOM_UTF8) if bom else 0: exc.start].decode(name)
    if cut:
        text = text[: text.rfind("\n") + 1] or text
    first = text.partition("\n")[0].rstrip("\r")
    delimiter = ","
    if len(_fields(first, ",")) <= 1:
        try:
            sniffed = csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
        except csv.Error:
            sniffed = ","
        if len(_fields(first, sniffed)) > 1:
            delimiter = sniffed
    return InputFormat("csv", delimiter=delimiter, encoding=name, bom=bom, header=_has_header(text, delimiter))


def _fields(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


class _Known(csv.Sniffer):
    """csv.Sniffer's header test, for a delimiter already decided."""

    def __init__(self, delimiter: str) -> None:
        super().__init__()
        self.dialect = type("Detected", (csv.excel,), {"delimiter": delimiter})

    def sniff(self, sample: str, delimiters: str | None = None) -> type[csv.Dialect]:  # noqa: ARG002
        return self.dialect


def _has_header(text: str, delimiter: str) -> bool | None:
    if sum(1 for line in text.splitlines() if line.strip()) < 2:
        return None  # a header needs at least one data line to be told from one
    try:
        return _Known(delimiter).has_header(text)
    except csv.Error:
        return None


def not_text(path: Path, encoding: str | None) -> LeadValidationError:
    if encoding:
        return LeadValidationError(f"{path} is not {encoding} text; pass the encoding it was saved with")
    return LeadValidationError(
        f"{path} is not UTF-8 text; save it as UTF-8 (CSV UTF-8 in Excel), or pass the encoding "
        "it was saved with (e.g. encoding='cp1252')"
    )
