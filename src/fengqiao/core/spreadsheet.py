"""A list as an Excel workbook, as the console shows it: one header row (frozen, in the
caller's language), one row per record, columns as wide as their contents, moments in the
installation's zone; and the Content-Disposition that names the download.

The caller decides what a cell holds (masked already, names in the caller's language); this
module only lays it out."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from fengqiao.core import clock

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# For the OpenAPI document of an endpoint that answers a workbook.
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an Excel workbook (xlsx)",
        "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
    }
}

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
# Column widths in Excel's units (about one Latin character; a Chinese one takes two).
MIN_WIDTH, MAX_WIDTH = 6, 60


@dataclass(frozen=True)
class Download:
    """A workbook made for one caller, with the names it downloads as."""

    content: bytes
    filename: str  # in the caller's language
    fallback: str  # the same in ASCII
    rows: int  # records written, the header not counted


@dataclass(frozen=True)
class Column:
    key: str  # the row's key
    header: str  # in the caller's language
    number_format: str | None = None  # e.g. PERCENT_FORMAT; moments get DATETIME_FORMAT


def _shown(value: Any) -> Any:
    """What a cell holds: a moment as the local time of the installation (Excel has no
    zones), text with the control characters Excel refuses left out."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(clock.zone())
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):
        return "".join(ch for ch in value if ch in "\t\n" or unicodedata.category(ch) != "Cc")
    return value


def _width(value: Any, number_format: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len("2026-12-03 09:30")
    if isinstance(value, date):
        return len("2026-12-03")
    if isinstance(value, float) and number_format == PERCENT_FORMAT:
        return len("100.0%")
    text = str(value)
    longest = max(text.splitlines() or [""], key=len)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def workbook(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], *, sheet: str) -> bytes:
    """The rows as an xlsx file: the header row, then one row per mapping (missing keys
    are empty cells)."""
    # Loaded on the first export rather than at start-up: most processes never write one.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    book = Workbook()
    ws = book.active
    assert isinstance(ws, Worksheet)  # a new workbook has its one sheet
    ws.title = sheet[:31]  # Excel's limit for a sheet's name
    bold = Font(bold=True)
    for i, column in enumerate(columns, start=1):
        ws.cell(row=1, column=i, value=column.header).font = bold
    widths = [_width(c.header, None) for c in columns]
    for r, row in enumerate(rows, start=2):
        for i, column in enumerate(columns):
            value = _shown(row.get(column.key))
            if value is None:
                continue
            cell = ws.cell(row=r, column=i + 1, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text as typed, never a formula
            if column.number_format:
                cell.number_format = column.number_format
            elif isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(value, date):
                cell.number_format = DATE_FORMAT
            widths[i] = max(widths[i], _width(value, column.number_format))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))
    ws.freeze_panes = "A2"  # the header stays in view
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def attachment(filename: str, fallback: str) -> str:
    """A Content-Disposition that downloads as `filename` (any language, RFC 5987) and as
    `fallback` (ASCII) for clients that know no other."""
    if not fallback.isascii() or any(ch in fallback for ch in '"\\'):
        raise ValueError(f"fallback file name must be plain ASCII: {fallback!r}")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def response(download: Download) -> Response:
    """The answer that downloads the workbook: never cached (it holds personal data)."""
    return Response(
        download.content,
        media_type=XLSX,
        headers={
            "Content-Disposition": attachment(download.filename, download.fallback),
            "Cache-Control": "no-store",
        },
    )


def dated_name(stem_zh: str, stem_en: str, lang: str) -> tuple[str, str]:
    """`<stem>-YYYYMMDD.xlsx` for today in the installation's zone, in the caller's
    language, and its ASCII fallback."""
    day = clock.now().astimezone(clock.zone()).strftime("%Y%m%d")
    return f"{stem_en if lang == 'en' else stem_zh}-{day}.xlsx", f"{stem_en}-{day}.xlsx"
