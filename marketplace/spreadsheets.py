"""Writing CSV and XLSX files that users download, shared by every feature that offers one.

Owns: the MIME types of the two formats, formula-injection neutralising (and its undoing on a
cell read back), CSV in UTF-8 with a BOM (so Chinese Excel opens it) and write-only XLSX, and
the download response that carries them. It knows nothing of any feature's columns. Reading
uploads is ``marketplace.imports``. Must not import the database or any feature package.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

#: a cell starting with one of these is taken for a formula by spreadsheet programs
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value: str) -> str:
    """Prefix a quote to text a spreadsheet program would run as a formula (=, +, -, @, tab, CR)."""
    if value and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """Undo ``neutralise`` on a cell read back (the quote is ours, not the user's data)."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def column_letter(index: int) -> str:
    """1 → 'A', 27 → 'AA' (0 → '')."""
    letters = ""
    while index > 0:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def write_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """CSV in UTF-8 with a BOM (so Chinese Excel opens it), CRLF lines, every text cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(str(name)) for name in header])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(str(cell)) for cell in row])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def write_xlsx(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]],
               widths: Sequence[Sequence[int]] | None = None) -> bytes:
    """An XLSX (openpyxl write-only) of (title, header, rows) sheets; text neutralised, numbers kept."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for index, (title, header, rows) in enumerate(sheets):
        sheet = workbook.create_sheet(title)
        if widths and index < len(widths):
            for column, width in enumerate(widths[index], start=1):
                sheet.column_dimensions[column_letter(column)].width = width
        sheet.freeze_panes = "A2"
        header_cells = []
        for name in header:
            cell = WriteOnlyCell(sheet, value=xlsx_value(name))
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in rows:
            sheet.append([xlsx_value(cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_value(value):
    """A value as an XLSX cell takes it: numbers kept, text neutralised and without XML-illegal characters."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, Decimal)):
        return value
    return neutralise(_ILLEGAL_XML.sub("", str(value)))


def download(data: bytes, fmt: str, filename: str):
    """A response that makes the browser save ``data`` as ``filename`` (never rendered in the page)."""
    from flask import make_response

    response = make_response(data)
    response.headers["Content-Type"] = MIMETYPES[fmt]
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
