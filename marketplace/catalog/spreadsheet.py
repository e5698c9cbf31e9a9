"""Reading and writing catalog spreadsheets: bytes in, a table of cell strings out (and back).

Owns: recognising what an uploaded file is (XLSX, CSV in UTF-8/UTF-8-BOM/UTF-16/GBK/GB18030, or
something else wearing a spreadsheet's name), refusing dangerous or unreadable files *before*
parsing them (size, zip bombs, DTDs, old .xls), turning cells into plain strings, and writing
CSV/XLSX files (the import template, catalog exports, problem reports) with spreadsheet formula
injection neutralised. It knows nothing of product columns: ``rows.py`` gives cells a meaning.
Must not import Flask views, forms or the database.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from xml.etree import ElementTree

from marketplace.errors import ValidationFailed
from marketplace.i18n import _, _l

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
#: an upload larger than this is refused before it is looked at
MAX_UPLOAD_BYTES = 50 * MiB
#: the sum of the declared uncompressed sizes of an XLSX's parts (zip-bomb guard)
MAX_UNPACKED_BYTES = 200 * MiB
#: a part this large must not be compressed better than MAX_COMPRESSION_RATIO
RATIO_CHECK_FROM_BYTES = 5 * MiB
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_MEMBERS = 5_000
#: data rows accepted in one file (the import must handle 10,000)
MAX_ROWS = 20_000
#: cells beyond this column are ignored (no catalog has that many columns)
MAX_COLUMNS = 200
#: rows looked at to find the header (a title row or two may sit above it)
HEADER_SEARCH_ROWS = 10

ERROR = "error"
WARNING = "warning"

#: a cell starting with one of these is taken for a formula by spreadsheet programs
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGIC = (
    b"MZ",  # Windows executable
    b"\x7fELF",
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x1f\x8b",  # gzip
    b"RIFF",
    b"\xca\xfe\xba\xbe",
    b"%!PS",
)
_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# cheap byte-level hints that the (slower) XML scan of the sheet is needed
_SCAN_HINT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?(?:f|mergeCell)[\s>/]|\st=\"e\"")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


class SpreadsheetError(ValidationFailed):
    """The whole file is refused (too big, not a spreadsheet, missing columns); ``message`` is lazy."""

    def __init__(self, message, field: str | None = "file"):
        # unlike DomainError, do not render the message here: outside a request (the CLI) the
        # locale cannot be chosen yet; str(error) renders it when shown
        Exception.__init__(self, message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class Problem:
    """Something wrong with one cell, one row or the file, as the user sees it.

    ``row`` is the spreadsheet row number (the header is row 1 in a plain file), ``column`` the
    header text the user wrote (or a column letter), ``message`` a lazy string rendered in the
    user's language when shown. Warnings do not stop a row from being imported.
    """

    row: int | None
    column: str | None
    message: object
    severity: str = ERROR
    #: the A1 reference of the cell concerned, when known (merged ranges give their first cell)
    cell: str | None = field(default=None, compare=False)

    @property
    def is_error(self) -> bool:
        """Whether the problem blocks the row (or file)."""
        return self.severity == ERROR

    def describe(self) -> str:
        """One line for a terminal or a report: 'Row 5, column 货号: …' in the current language."""
        if self.row is not None and self.column:
            return _("Row %(row)s, column %(column)s: %(message)s", row=self.row, column=self.column,
                     message=self.message)
        if self.row is not None:
            return _("Row %(row)s: %(message)s", row=self.row, message=self.message)
        if self.column:
            return _("Column %(column)s: %(message)s", column=self.column, message=self.message)
        return str(self.message)


@dataclass
class Table:
    """The cells of a file's first sheet as strings, blank rows left out."""

    #: the first non-blank row (``rows.py`` may find the real header a few rows lower)
    header: list[str]
    header_row: int
    #: (spreadsheet row number, cell strings) for every non-blank row after the header
    rows: list[tuple[int, list[str]]]
    format: str  # "xlsx" or "csv"
    encoding: str | None = None  # for CSV: "UTF-8", "UTF-8 (BOM)", "UTF-16", "GBK" or "GB18030"
    delimiter: str | None = None
    sheet: str | None = None
    #: cell problems found while reading (merged cells, formulas without a value, error cells)
    problems: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)


# --------------------------------------------------------------------------- reading


def read_table(filename: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_rows: int = MAX_ROWS) -> Table:
    """Recognise an uploaded CSV or XLSX and return its first sheet; raise SpreadsheetError if refused."""
    size = len(data)
    if size > max_bytes:
        raise SpreadsheetError(_l("The file is %(size)s MB; the limit is %(limit)s MB.",
                                  size=_megabytes(size), limit=_megabytes(max_bytes, 0)))
    if size == 0:
        raise SpreadsheetError(_l("The file is empty."))
    head = data[:512]
    if head.startswith(_OLE_MAGIC):
        raise SpreadsheetError(_l(
            "This is an old Excel workbook (.xls) or a password-protected file: save it as .xlsx "
            "(without a password) or as CSV and upload that."
        ))
    if head.startswith(b"PK"):
        return _read_xlsx(data, max_rows)
    if head.startswith(_BINARY_MAGIC) or (b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))):
        logger.info("refused upload %r: binary content %r", filename, head[:8])
        raise SpreadsheetError(_l("This is not a spreadsheet: upload .xlsx or .csv."))
    return _read_csv(data, max_rows)


def _megabytes(size: int, places: int = 1) -> str:
    return f"{size / MiB:.{places}f}"


def _read_rows(numbered_cells: Iterable[tuple[int, list[str]]], max_rows: int) -> tuple[int, list[str], list]:
    """Split non-blank rows into the first (header) and the rest, enforcing the row limit."""
    header_row, header, rows = 0, None, []
    for number, cells in numbered_cells:
        if not any(cells):
            continue
        if header is None:
            header_row, header = number, cells
            continue
        rows.append((number, cells))
        if len(rows) > max_rows:
            raise SpreadsheetError(_l("The file has more than %(limit)s rows; split it into several files.",
                                      limit=max_rows))
    if header is None:
        raise SpreadsheetError(_l("The file has no rows: it holds no data."))
    return header_row, header, rows


# ----- CSV


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: BOMs first, then UTF-8, GBK, GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 (BOM)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    for codec, name in (("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030")):
        try:
            return data.decode(codec), name
        except UnicodeDecodeError:
            continue
    raise SpreadsheetError(_l("The file's text encoding could not be recognised: save it as \"CSV UTF-8\"."))


def _looks_like_markup(text: str) -> None:
    start = text.lstrip()[:4096].lower()
    if not start.startswith("<"):
        return
    if "urn:schemas-microsoft-com:office:spreadsheet" in start:
        raise SpreadsheetError(_l("This is an Excel 2003 XML spreadsheet: save it as .xlsx or CSV."))
    if "<html" in start or "<table" in start or start.startswith("<!doctype html"):
        raise SpreadsheetError(_l(
            "This is a web page saved with a spreadsheet's name: open it in Excel and save it as .xlsx or CSV."
        ))
    raise SpreadsheetError(_l("This is not a spreadsheet: upload .xlsx or .csv."))


def _sniff_delimiter(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            counts = {delimiter: line.count(delimiter) for delimiter in (",", "\t", ";")}
            best = max(counts, key=lambda d: counts[d])
            return best if counts[best] else ","
    return ","


def _read_csv(data: bytes, max_rows: int) -> Table:
    text, encoding = _decode(data)
    text = text.lstrip("\ufeff")
    _looks_like_markup(text)
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > max(3, len(sample) // 100):
        raise SpreadsheetError(_l("This is not a spreadsheet: upload .xlsx or .csv."))
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def numbered():
        number = 0
        try:
            for number, record in enumerate(reader, start=1):  # noqa: B007 (number is read in except)
                yield number, [cell.strip() for cell in record[:MAX_COLUMNS]]
        except csv.Error as error:
            logger.info("CSV error after row %s: %s", number, error)
            raise SpreadsheetError(_l(
                "Row %(row)s could not be read: a quotation mark is not closed or a cell is too long.",
                row=number + 1,
            )) from error

    header_row, header, rows = _read_rows(numbered(), max_rows)
    return Table(header, header_row, rows, "csv", encoding=encoding, delimiter=delimiter)


# ----- XLSX


def _check_zip(data: bytes) -> zipfile.ZipFile:
    """Open the zip and vet it without extracting anything: a real workbook, of a sane unpacked size."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        logger.info("refused upload: bad zip (%s)", error)
        raise SpreadsheetError(_l(
            "The workbook is damaged or is not an Excel .xlsx file: open it in Excel and save it again."
        )) from error
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            raise SpreadsheetError(_l("This is a binary Excel workbook (.xlsb): save it as .xlsx or CSV."))
        if "content.xml" in names and "mimetype" in names:
            raise SpreadsheetError(_l("This is an OpenDocument spreadsheet (.ods): save it as .xlsx or CSV."))
        raise SpreadsheetError(_l("This is not a spreadsheet: upload .xlsx or .csv."))
    if len(members) > MAX_ZIP_MEMBERS:
        raise SpreadsheetError(_l(
            "The workbook is damaged or is not an Excel .xlsx file: open it in Excel and save it again."
        ))
    # zipfile never yields more than a member's declared file_size (it stops there and checks the
    # CRC), so the declared sizes bound what any later reader can unpack.
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        logger.warning("refused upload: zip unpacks to %s bytes", unpacked)
        raise SpreadsheetError(_l(
            "The workbook is too large when unpacked (%(size)s MB; the limit is %(limit)s MB).",
            size=_megabytes(unpacked), limit=_megabytes(MAX_UNPACKED_BYTES, 0),
        ))
    for member in members:
        if member.file_size > RATIO_CHECK_FROM_BYTES and (
            member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            logger.warning("refused upload: %s compressed %s → %s", member.filename,
                           member.file_size, member.compress_size)
            raise SpreadsheetError(_l(
                "The workbook is compressed suspiciously well and was not opened: save it again from Excel."
            ))
    return archive


def _prescan(archive: zipfile.ZipFile) -> set[str]:
    """Refuse DTDs (entity expansion) in any XML part; return the parts that need a cell scan."""
    needs_scan = set()
    for member in archive.infolist():
        if not member.filename.endswith((".xml", ".rels")):
            continue
        tail = b""
        with archive.open(member) as stream:
            while chunk := stream.read(MiB):
                window = tail + chunk
                if _DTD.search(window):
                    raise SpreadsheetError(_l(
                        "The workbook is damaged or is not an Excel .xlsx file: open it in Excel and save it again."
                    ))
                if member.filename.startswith("xl/worksheets/") and _SCAN_HINT.search(window):
                    needs_scan.add(member.filename)
                tail = window[-64:]
    return needs_scan


def split_cell_ref(ref: str) -> tuple[int, int]:
    """'B7' → (row 7, column 2); (0, 0) when it is no cell reference."""
    match = _CELL_REF.match(ref.replace("$", "").upper())
    if not match:
        return 0, 0
    letters, digits = match.groups()
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return int(digits), column


def _scan_sheet_xml(stream) -> list[Problem]:
    """Merged ranges, formulas without a cached value and error cells, from the sheet's XML."""
    problems = []
    # _prescan refused any DTD, so no entity can expand here
    for _event, element in ElementTree.iterparse(stream, events=("end",)):  # noqa: S314
        tag = element.tag
        if tag == _SHEET_NS + "c":
            formula = element.find(_SHEET_NS + "f")
            kind = element.get("t", "n")
            ref = element.get("r") or ""
            row, _column = split_cell_ref(ref)
            if formula is not None and kind not in ("str", "inlineStr"):
                value = element.find(_SHEET_NS + "v")
                if value is None or not (value.text or "").strip():
                    problems.append(Problem(row or None, None, _l(
                        "Formula without a value in %(cell)s: paste values instead of formulas.", cell=ref),
                        cell=ref))
            elif kind == "e":
                value = element.find(_SHEET_NS + "v")
                problems.append(Problem(row or None, None, _l(
                    "Cell %(cell)s shows the error %(value)s: correct it or clear it.",
                    cell=ref, value=(value.text if value is not None else "#ERROR")), cell=ref))
            element.clear()
        elif tag == _SHEET_NS + "row":
            element.clear()
        elif tag == _SHEET_NS + "mergeCell":
            ref = element.get("ref") or ""
            first, _sep, last = ref.partition(":")
            first_row, _c = split_cell_ref(first)
            last_row, _c = split_cell_ref(last or first)
            problems.append(Problem(first_row or None, None, _l(
                "Merged cells %(cells)s: unmerge them and fill in every cell.", cells=ref),
                cell=first))
            # every row the merge covers lost its value in that column
            for row in range(first_row + 1, min(last_row, first_row + MAX_ROWS) + 1):
                problems.append(Problem(row, None, _l(
                    "Merged cells %(cells)s: unmerge them and fill in every cell.", cells=ref),
                    cell=f"{first.rstrip('0123456789')}{row}"))
    return problems


def _cell_text(value) -> str:
    """A cell value as the user sees it: 12.5 not 12.500000001, 100 not 100.0, dates as ISO."""
    kind = type(value)
    if kind is str:
        return value.strip()
    if value is None:
        return ""
    if kind is int:
        return str(value)
    if kind is float:
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = format(value, ".15g")  # Excel shows 15 significant digits
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
        return text
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is datetime:
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if kind is date or kind is time:
        return value.isoformat()
    if kind is timedelta:
        return str(value)
    return str(value).strip()


def _sheet_width(sheet) -> int:
    """The width of the first rows (where the header is): cells right of it have no column name.

    Reading only that far spares padding every row to MAX_COLUMNS, or to a stray far-right cell.
    """
    width, seen = 1, 0
    for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
        for index in range(len(values or ()), 0, -1):
            if values[index - 1] not in (None, ""):
                width, seen = max(width, index), seen + 1
                break
        if seen >= HEADER_SEARCH_ROWS:
            break
    return width


def _sheet_rows(sheet, width: int):
    """(row number, cell strings) for every row of the sheet, blank ones included."""
    for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=width), start=1):
        if not values:
            yield number, []
            continue
        cells = [_cell_text(value) for value in values]
        while cells and not cells[-1]:
            cells.pop()
        yield number, cells


def _read_xlsx(data: bytes, max_rows: int) -> Table:
    archive = _check_zip(data)
    from openpyxl import load_workbook

    workbook = None
    try:
        needs_scan = _prescan(archive)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "extension not supported" and the like
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not workbook.worksheets:
            raise SpreadsheetError(_l("The workbook has no worksheet."))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # a false <dimension> must not make every row 16,384 cells wide
        path = getattr(sheet, "_worksheet_path", "").lstrip("/")
        problems = []
        if path in needs_scan:
            with archive.open(path) as stream:
                problems = _scan_sheet_xml(stream)
        header_row, header, rows = _read_rows(_sheet_rows(sheet, _sheet_width(sheet)), max_rows)
        title = sheet.title
    except SpreadsheetError:
        raise
    except Exception as error:  # bad CRC, truncated part, bad XML, password, anything openpyxl raises
        logger.info("damaged workbook upload: %r", error)
        raise SpreadsheetError(_l(
            "The workbook is damaged or is not an Excel .xlsx file: open it in Excel and save it again."
        )) from error
    finally:
        if workbook is not None:
            workbook.close()
    _name_columns(problems, header)
    return Table(header, header_row, rows, "xlsx", sheet=title, problems=problems)


def _name_columns(problems: list[Problem], header: Sequence[str]) -> None:
    """Give cell problems the header text of their column (frozen dataclass: rebuild in place)."""
    for index, problem in enumerate(problems):
        _row, column = split_cell_ref(problem.cell or "")
        name = header[column - 1] if 0 < column <= len(header) and header[column - 1] else column_letter(column)
        problems[index] = Problem(problem.row, name or None, problem.message, problem.severity, problem.cell)


def column_letter(index: int) -> str:
    """1 → 'A', 27 → 'AA' (0 → '')."""
    letters = ""
    while index > 0:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# --------------------------------------------------------------------------- writing


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


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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
            cell = WriteOnlyCell(sheet, value=_xlsx_value(name))
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in rows:
            sheet.append([_xlsx_value(cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, Decimal)):
        return value
    return neutralise(_ILLEGAL_XML.sub("", str(value)))


def write_problems(problems: Sequence[Problem], fmt: str) -> bytes:
    """The downloadable problem report (row, column, severity, message) in the current language."""
    header = [_("Row"), _("Column"), _("Severity"), _("Problem")]
    rows = [
        (problem.row if problem.row is not None else "", problem.column or "",
         _("Error") if problem.is_error else _("Warning"), str(problem.message))
        for problem in problems
    ]
    if fmt == "csv":
        return write_csv(header, rows)
    if fmt == "xlsx":
        return write_xlsx([(_("Problems"), header, rows)], widths=[[8, 24, 10, 90]])
    raise ValueError(f"unknown format {fmt!r}")


# --------------------------------------------------------------------------- template and export
# The column vocabulary lives in rows.py, which imports this module: import it where used.


def _check_lang_format(lang: str, fmt: str) -> None:
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language {lang!r} (zh or en)")
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown format {fmt!r} (csv or xlsx)")


def _sheet_title(lang: str) -> str:
    return "产品" if lang == "zh" else "Products"


def export_rows(products: Iterable, fmt: str, lang: str) -> bytes:
    """A catalog file (CSV UTF-8 with BOM, or XLSX) of product dicts with the canonical keys.

    Build each dict with ``rows.product_to_row(product)`` (or ``ProductInput.as_row()``); the file
    has the template's columns in ``lang`` and reads back through ``read_table``/``validate_rows``
    to the same values.
    """
    from marketplace.catalog import rows as columns

    _check_lang_format(lang, fmt)
    header = columns.template_header(lang)
    cells = (columns.format_cells(product, lang) for product in products)
    if fmt == "csv":
        return write_csv(header, cells)
    widths = [[column.width for column in columns.TEMPLATE_COLUMNS]]
    return write_xlsx([(_sheet_title(lang), header, cells)], widths=widths)


def write_template(lang: str, fmt: str) -> bytes:
    """The import template in ``zh`` or ``en``: the header row and an example row (a rice cooker).

    XLSX adds a second sheet (说明 / Instructions) describing each column and listing the
    categories, units and certification kinds, and drop-down lists on the vocabulary columns.
    """
    from marketplace.catalog import rows as columns

    _check_lang_format(lang, fmt)
    header = columns.template_header(lang)
    example = columns.format_cells(columns.EXAMPLE_PRODUCT.as_row(), lang)
    if fmt == "csv":
        return write_csv(header, [example])
    return _template_xlsx(lang, header, example)


def _template_xlsx(lang: str, header: list[str], example: list) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from marketplace.catalog import rows as columns
    from marketplace.catalog.categories import CATEGORIES, CERTIFICATION_KINDS, UNITS

    zh = lang == "zh"
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(lang)
    sheet.append([neutralise(name) for name in header])
    sheet.append([_xlsx_value(value) for value in example])
    letters = {}
    for index, column in enumerate(columns.TEMPLATE_COLUMNS, start=1):
        letter = column_letter(index)
        letters[column.key] = letter
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        if column.required:
            cell.fill = required_fill
        sheet.column_dimensions[letter].width = column.width
        if column.key in ("sku", "hs_code"):  # keep leading zeros that users type
            sheet.column_dimensions[letter].number_format = "@"
        if column.multiline:
            sheet.cell(row=2, column=index).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet("说明" if zh else "Instructions")
    notes.append(["列名", "必填", "填写说明", "示例"] if zh else ["Column", "Required", "Format", "Example"])
    for index, column in enumerate(columns.TEMPLATE_COLUMNS):
        notes.append([
            neutralise(header[index]),
            ("是" if column.required else "否") if zh else ("yes" if column.required else "no"),
            column.help_zh if zh else column.help_en,
            neutralise(str(example[index])),
        ])
    headings = [1]
    notes.append([])
    headings.append(notes.max_row + 1)
    notes.append(["类目（填写中文名、英文名或代码）", "英文名", "代码"] if zh
                 else ["Category (write the name or the code)", "Chinese name", "Code"])
    first_category = notes.max_row + 1
    for category in CATEGORIES:
        zh_name, en_name = columns.category_name(category.code, "zh"), columns.category_name(category.code, "en")
        notes.append([zh_name, en_name, category.code] if zh else [en_name, zh_name, category.code])
    last_category = notes.max_row
    notes.append([])
    headings.append(notes.max_row + 1)
    notes.append(["单位", "也可写作"] if zh else ["Unit", "Also written as"])
    for unit in UNITS:
        notes.append([unit, ", ".join(columns.UNIT_ALIASES.get(unit, ()))])
    notes.append([])
    headings.append(notes.max_row + 1)
    notes.append(["认证类型", "说明"] if zh else ["Certification kind", "Meaning"])
    for code, label in CERTIFICATION_KINDS:
        notes.append([code, columns._msgid(label)])
    notes.append([])
    headings.append(notes.max_row + 1)
    notes.append(["库存地点", "CCC认证", "是/否"] if zh else ["Stock location", "CCC status", "Yes/no"])
    stock_words = [words[0 if zh else 1] for words in columns.STOCK_LOCATION_WORDS.values()]
    ccc_words = [words[0 if zh else 1] for words in columns.CCC_WORDS.values()]
    yes_no = ["是", "否"] if zh else ["yes", "no"]
    for position in range(3):
        notes.append([stock_words[position], ccc_words[position], yes_no[position] if position < 2 else None])
    for number in headings:
        for cell in notes[number]:
            cell.font = bold
    notes.column_dimensions["A"].width = 30
    notes.column_dimensions["B"].width = 24
    notes.column_dimensions["C"].width = 70
    notes.column_dimensions["D"].width = 40

    def dropdown(key: str, formula: str) -> None:
        # no error box: the import accepts more spellings than the list shows
        validation = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=False)
        validation.add(f"{letters[key]}2:{letters[key]}{MAX_ROWS + 1}")
        sheet.add_data_validation(validation)

    dropdown("category", f"'{notes.title}'!$A${first_category}:$A${last_category}")
    dropdown("unit", '"' + ",".join(UNITS) + '"')
    dropdown("stock_location", '"' + ",".join(stock_words) + '"')
    dropdown("ccc_status", '"' + ",".join(ccc_words) + '"')
    for key in ("gb_standard_met", "chinese_label_ready", "vat_invoice"):
        dropdown(key, '"' + ",".join(yes_no) + '"')
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
