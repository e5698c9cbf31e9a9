"""Reading an uploaded spreadsheet: bytes in, a table of cell strings out.

Owns: recognising what an uploaded file is (XLSX, CSV in UTF-8/UTF-8-BOM/UTF-16/GBK/GB18030, or
something else wearing a spreadsheet's name), refusing dangerous or unreadable files *before*
parsing them (size, zip bombs, DTDs in any part of the zip whatever its name or encoding, old
.xls, sheets past Excel's last row), and turning cells into plain strings. Crafted files cost
little: merged ranges are clamped to the rows in use, problems are capped per file
(``problems.ProblemBudget``), and empty rows are never materialised (a long run of them ends the
sheet). It knows nothing of any feature's columns. Must not import Flask views, forms or the database.
"""
from __future__ import annotations

import bisect
import codecs
import csv
import io
import logging
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from defusedxml.ElementTree import iterparse as safe_iterparse

from marketplace.i18n import _l
from marketplace.imports.problems import ERROR, WARNING, Problem, ProblemBudget, SpreadsheetError
from marketplace.spreadsheets import column_letter

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
#: Excel's last row: a sheet going further was not written by a spreadsheet program
EXCEL_MAX_ROWS = 1_048_576
_EXCEL_LAST_ROW = format(EXCEL_MAX_ROWS, ",")
#: this many empty rows in a row end the sheet (what lies below is not read)
MAX_EMPTY_RUN = 1_000

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
# cheap hints that the (slower) XML scan of a part is needed
_SCAN_HINT = re.compile(r"<(?:[A-Za-z0-9_]+:)?(?:f|mergeCell)[\s>/]|\st=\"e\"")
_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DIMENSION = re.compile(r"<(?:[A-Za-z0-9_]+:)?dimension\s+ref=\"([A-Za-z$0-9:]+)\"")
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")
# byte order marks and the first bytes of "<" in encodings that are not ASCII-compatible
_XML_ENCODINGS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)


def _damaged() -> SpreadsheetError:
    return SpreadsheetError(_l(
        "The workbook is damaged or is not an Excel .xlsx file: open it in Excel and save it again."
    ))


@dataclass
class Table:
    """The cells of a file's first sheet as strings, blank rows left out."""

    #: the first non-blank row (the columns may find the real header a few rows lower)
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
    #: the file's cap on problems, shared by the reading and the row checks
    budget: ProblemBudget = field(default_factory=ProblemBudget)
    #: rows with a cell error that was counted but not kept (past the cap): they are refused all the same
    error_rows: set[int] = field(default_factory=set)

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


# ----- XLSX: the zip and its parts


def _check_zip(data: bytes) -> zipfile.ZipFile:
    """Open the zip and vet it without extracting anything: a real workbook, of a sane unpacked size."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        logger.info("refused upload: bad zip (%s)", error)
        raise _damaged() from error
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            raise SpreadsheetError(_l("This is a binary Excel workbook (.xlsb): save it as .xlsx or CSV."))
        if "content.xml" in names and "mimetype" in names:
            raise SpreadsheetError(_l("This is an OpenDocument spreadsheet (.ods): save it as .xlsx or CSV."))
        raise SpreadsheetError(_l("This is not a spreadsheet: upload .xlsx or .csv."))
    if len(members) > MAX_ZIP_MEMBERS:
        raise _damaged()
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


def _xml_chunks(stream) -> Iterator[str]:
    """The text of a part that an XML parser would read, in chunks; nothing when it is no XML.

    The encoding comes from the byte order mark or the first bytes of ``<`` (UTF-16 and UTF-32
    need no XML declaration to be read), so a DTD cannot hide in a non-ASCII encoding.
    """
    first = stream.read(64 * 1024)
    codec = "latin-1"  # ASCII-compatible: the markup we look for is plain ASCII
    for mark, name in _XML_ENCODINGS:
        if first.startswith(mark):
            codec = name
            break
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    text = decoder.decode(first).lstrip("\ufeff \t\r\n")
    if not text.startswith("<"):
        return  # an image or other binary part: no XML parser reads it
    yield text
    while chunk := stream.read(MiB):
        yield decoder.decode(chunk)


def _prescan(archive: zipfile.ZipFile) -> tuple[set[str], dict[str, str]]:
    """Refuse a DTD (entity expansion) in any part of the zip, whatever its name or encoding.

    Returns the parts that need the cell scan (formulas, error cells, merged cells) and the
    ``<dimension>`` each part declares.
    """
    needs_scan, dimensions = set(), {}
    for member in archive.infolist():
        if member.is_dir():
            continue
        tail = ""
        with archive.open(member) as stream:
            for position, chunk in enumerate(_xml_chunks(stream)):
                window = tail + chunk
                if _DTD.search(window):
                    logger.warning("refused upload: DTD in part %r", member.filename)
                    raise SpreadsheetError(_l(
                        "The workbook holds a document type declaration (DTD), which Excel never writes, "
                        "so it was not opened: save it again from Excel."
                    ))
                if _SCAN_HINT.search(window):
                    needs_scan.add(member.filename)
                if position == 0 and (found := _DIMENSION.search(window)):
                    dimensions[member.filename] = found.group(1)
                tail = window[-64:]
    return needs_scan, dimensions


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


def _beyond_excel() -> SpreadsheetError:
    return SpreadsheetError(_l(
        "The sheet goes past row %(limit)s, the last row Excel has: it was not saved by Excel. "
        "Copy the data into a new workbook and upload that.", limit=_EXCEL_LAST_ROW))


def _check_dimension(ref: str | None) -> int:
    """The last row of the sheet's declared used range; refuse one going past Excel's last row."""
    if not ref:
        return 0
    first, _sep, last = ref.partition(":")
    row, _column = split_cell_ref(last or first)
    if row > EXCEL_MAX_ROWS:
        raise _beyond_excel()
    return row


@dataclass
class _SheetScan:
    """What the XML scan of a sheet found: cell problems and merged ranges (not yet expanded)."""

    problems: list[Problem] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)
    #: rows whose cell errors were past the cap
    error_rows: set[int] = field(default_factory=set)

    def add(self, budget: ProblemBudget, problem: Problem) -> None:
        """Keep the problem if the budget allows it, else remember that its row has an error."""
        if not budget.add(self.problems, problem) and problem.row:
            self.error_rows.add(problem.row)


def _scan_sheet_xml(stream, budget: ProblemBudget) -> _SheetScan:
    """Merged ranges, formulas without a cached value and error cells, from the sheet's XML."""
    scan = _SheetScan()
    for _event, element in safe_iterparse(stream, events=("end",), forbid_dtd=True):
        tag = element.tag
        if tag == _SHEET_NS + "c":
            formula = element.find(_SHEET_NS + "f")
            kind = element.get("t", "n")
            ref = element.get("r") or ""
            row, _column = split_cell_ref(ref)
            if formula is not None and kind not in ("str", "inlineStr"):
                value = element.find(_SHEET_NS + "v")
                if value is None or not (value.text or "").strip():
                    scan.add(budget, Problem(row or None, None, _l(
                        "Formula without a value in %(cell)s: paste values instead of formulas.", cell=ref),
                        cell=ref))
            elif kind == "e":
                value = element.find(_SHEET_NS + "v")
                scan.add(budget, Problem(row or None, None, _l(
                    "Cell %(cell)s shows the error %(value)s: correct it or clear it.",
                    cell=ref, value=(value.text if value is not None else "#ERROR")), cell=ref))
            element.clear()
        elif tag == _SHEET_NS + "row":
            element.clear()
        elif tag == _SHEET_NS + "mergeCell":
            scan.merges.append(element.get("ref") or "")
            element.clear()
    return scan


def _add_merge_problems(scan: _SheetScan, used_rows: Sequence[int], budget: ProblemBudget) -> None:
    """One problem for each merged range, and one for each row in use that the range emptied.

    Only rows that hold data count, so ``A1:A1048576`` costs what the file's rows cost, not a
    million problems; past the budget, problems are only counted (their rows still refused).
    """
    for ref in scan.merges:
        first, _sep, last = ref.partition(":")
        first_row, _c = split_cell_ref(first)
        last_row, _c = split_cell_ref(last or first)
        message = _l("Merged cells %(cells)s: unmerge them and fill in every cell.", cells=ref)
        scan.add(budget, Problem(first_row or None, None, message, cell=first))
        if not first_row or last_row <= first_row:
            continue
        # every row in use that the merge covers lost its value in that column
        start = bisect.bisect_right(used_rows, first_row)
        end = bisect.bisect_right(used_rows, last_row)
        letters = first.replace("$", "").rstrip("0123456789").upper()
        for position in range(start, end):
            if budget.remaining <= 0:
                budget.omitted_errors += end - position
                scan.error_rows.update(used_rows[position:end])
                break
            row = used_rows[position]
            scan.add(budget, Problem(row, None, message, cell=f"{letters}{row}"))


# ----- XLSX: cells


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


@dataclass
class _SheetEnd:
    """Where reading a sheet stopped early: at a row with data (``unread_from``) or a blank one (``blank_from``)."""

    unread_from: int = 0
    blank_from: int = 0


def _parsed_rows(workbook, sheet) -> Iterator[tuple[int, list]]:
    """(row number, parsed cells) for the rows the sheet's XML holds, and only those.

    openpyxl's read-only ``iter_rows`` fills every missing row up to the last with an empty one
    (a million for one far cell); its own parser yields just the rows written.
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    with sheet._get_source() as source:
        parser = WorkSheetParser(source, workbook.shared_strings, data_only=True, epoch=workbook.epoch,
                                 date_formats=workbook._date_formats,
                                 timedelta_formats=workbook._timedelta_formats)
        yield from parser.parse()


def _row_cells(parsed: list, width: int) -> list[str]:
    """The row's first ``width`` cells as strings, trailing blanks dropped."""
    cells = [""] * width
    for cell in parsed:
        column = cell["column"]
        if column <= width:
            cells[column - 1] = _cell_text(cell["value"])
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _sheet_rows(rows: Iterable[tuple[int, list]], end: _SheetEnd) -> Iterator[tuple[int, list[str]]]:
    """(row number, cell strings) of the rows written, until a run of MAX_EMPTY_RUN empty rows.

    The width is that of the first rows (where the header is): cells right of it have no column
    name, and a stray far-right cell must not pad every row.
    """
    head: list[tuple[int, list[str]]] = []
    width = None
    last_filled = 0
    for number, parsed in rows:
        if number > EXCEL_MAX_ROWS:
            raise _beyond_excel()
        cells = _row_cells(parsed, width or MAX_COLUMNS)
        if last_filled and number - last_filled > MAX_EMPTY_RUN:
            if any(cells):
                end.unread_from = number
            else:
                end.blank_from = number
            break
        if not any(cells):
            continue
        last_filled = number
        if width is not None:
            yield number, cells
            continue
        head.append((number, cells))
        if len(head) >= HEADER_SEARCH_ROWS:
            width = max(len(cells) for _n, cells in head)
            yield from head
    if width is None:
        yield from head


def _read_xlsx(data: bytes, max_rows: int) -> Table:
    archive = _check_zip(data)
    from openpyxl import load_workbook

    workbook = None
    budget = ProblemBudget()
    end = _SheetEnd()
    try:
        needs_scan, dimensions = _prescan(archive)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "extension not supported" and the like
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not workbook.worksheets:
            raise SpreadsheetError(_l("The workbook has no worksheet."))
        sheet = workbook.worksheets[0]
        path = getattr(sheet, "_worksheet_path", "").lstrip("/")
        declared_last_row = _check_dimension(dimensions.get(path))
        scan = _SheetScan()
        if path in needs_scan:
            with archive.open(path) as stream:
                scan = _scan_sheet_xml(stream, budget)
        header_row, header, rows = _read_rows(_sheet_rows(_parsed_rows(workbook, sheet), end), max_rows)
        title = sheet.title
    except SpreadsheetError:
        raise
    except Exception as error:  # bad CRC, truncated part, bad XML, password, anything openpyxl raises
        logger.info("damaged workbook upload: %r", error)
        raise _damaged() from error
    finally:
        if workbook is not None:
            workbook.close()
    used_rows = sorted([header_row] + [number for number, _cells in rows])  # <row r=…> may come in any order
    _add_merge_problems(scan, used_rows, budget)
    problems = scan.problems
    if end.blank_from and declared_last_row >= end.blank_from:
        end.unread_from = end.blank_from  # the sheet says it goes on below the empty rows
    if end.unread_from:
        problems.insert(0, Problem(end.unread_from, None, _l(
            "Rows from %(row)s on were not read: more than %(run)s empty rows lie above them. Delete the empty "
            "rows and upload the file again.", row=end.unread_from, run=MAX_EMPTY_RUN), WARNING))
    _name_columns(problems, header)
    return Table(header, header_row, rows, "xlsx", sheet=title, problems=problems, budget=budget,
                 error_rows=scan.error_rows)


def _name_columns(problems: list[Problem], header: Sequence[str]) -> None:
    """Give cell problems the header text of their column (frozen dataclass: rebuild in place)."""
    for index, problem in enumerate(problems):
        _row, column = split_cell_ref(problem.cell or "")
        if not column:
            continue
        name = header[column - 1] if 0 < column <= len(header) and header[column - 1] else column_letter(column)
        problems[index] = Problem(problem.row, name or None, problem.message, problem.severity, problem.cell)


__all__ = ["ERROR", "WARNING", "HEADER_SEARCH_ROWS", "MAX_ROWS", "Problem", "SpreadsheetError", "Table",
           "read_table", "split_cell_ref"]
