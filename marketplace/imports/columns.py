"""Giving a table's cells a meaning: columns found by their header, every row checked against a row spec.

Owns: ``Column`` (a canonical column, its template headers and the other headers accepted for
it), header matching (case, spaces, full-/half-width forms, a leading or trailing ``*`` and, when
the full text is not known, a trailing bracketed note such as ``单价(元)`` are ignored), finding
the header row, and ``validate_rows``: the loop that parses every cell, names the row and column
of every problem, and hands each row's values to the kind's ``RowSpec.build``.

A kind of import (the catalog's products; procurement requests next) plugs in with a
``RowSpec``: its columns, a parser per column and the function that turns a row's values into
its input shape. Committing the valid rows is the kind's own service. No database, no Flask.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from marketplace.i18n import _l, current_locale_code
from marketplace.imports.cells import CellError, clean_text, to_decimal
from marketplace.imports.problems import WARNING, Problem, SpreadsheetError
from marketplace.imports.table import HEADER_SEARCH_ROWS, Table, split_cell_ref
from marketplace.spreadsheets import unneutralise


@dataclass(frozen=True)
class Column:
    """A canonical column: its template headers, other accepted headers, rules and help text."""

    key: str
    zh: str
    en: str
    required: bool = False
    max_length: int | None = None
    aliases: tuple[str, ...] = ()
    help_zh: str = ""
    help_en: str = ""
    multiline: bool = False
    #: accepted on import but not offered in the template (e.g. ``price`` beside ``price_tiers``)
    in_template: bool = True
    width: int = 14

    @property
    def names(self) -> tuple[str, ...]:
        """Every header accepted for the column: template Chinese, template English, key, aliases."""
        return (self.zh, self.en, self.key, *self.aliases)


_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "{": "(", "}": ")",
                           "<": "(", ">": ")", "《": "(", "》": ")"})
_HEADER_NOISE = re.compile(r"[\s_\-–—/·.:：,，、'\"]+")
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")


def header_forms(text: str) -> tuple[str, str]:
    """The header as written (normalised) and without a trailing bracketed note."""
    text = unicodedata.normalize("NFKC", text or "").lower().translate(_BRACKETS)
    text = _HEADER_NOISE.sub("", text.replace("\ufeff", "")).strip("*")
    bare = text
    while True:
        stripped = _TRAILING_NOTE.sub("", bare).strip("*")
        if stripped == bare or not stripped:
            break
        bare = stripped
    return text, bare


def _reader_language() -> str:
    try:
        return "en" if current_locale_code() == "en" else "zh"
    except Exception:  # outside an app or request: Chinese, the first language
        return "zh"


class ColumnNames:
    """Column names that render in the language of whoever reads the message (for lazy messages)."""

    def __init__(self, columns: Mapping[str, Column], keys: Sequence[str]):
        self.columns = columns
        self.keys = tuple(keys)

    def __str__(self) -> str:
        if _reader_language() == "en":
            return ", ".join(self.columns[key].en for key in self.keys)
        return "、".join(self.columns[key].zh for key in self.keys)

    def __repr__(self) -> str:
        return f"ColumnNames({self.keys!r})"


@dataclass
class RowResult:
    """One data row: its values when it has no error, and the problems kept for it."""

    row_number: int
    values: object | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the row can be imported."""
        return self.values is not None


@dataclass
class ValidationResult:
    """Every data row's result, plus problems of the file as a whole (unknown columns, skipped rows).

    At most ``problems.MAX_PROBLEMS`` problems are kept per file; ``omitted_errors`` and
    ``omitted_warnings`` count the others (every row with an error is still marked invalid).
    """

    rows: list[RowResult]
    problems: list[Problem]
    #: canonical key → the header text the file used for it
    columns: dict[str, str]
    header_row: int
    omitted_errors: int = 0
    omitted_warnings: int = 0

    @property
    def valid_rows(self) -> list[RowResult]:
        """Rows without errors."""
        return [row for row in self.rows if row.ok]

    @property
    def invalid_rows(self) -> list[RowResult]:
        """Rows with at least one error."""
        return [row for row in self.rows if not row.ok]

    @property
    def has_errors(self) -> bool:
        """Whether any row or the file has an error (warnings do not count)."""
        return (any(not row.ok for row in self.rows) or any(p.is_error for p in self.problems)
                or bool(self.omitted_errors))

    @property
    def omitted(self) -> int:
        """Problems found but not kept (the report says "and N more")."""
        return self.omitted_errors + self.omitted_warnings

    def all_problems(self) -> list[Problem]:
        """File problems and row problems in row order (for the report and the command line)."""
        found = list(self.problems)
        for row in self.rows:
            found.extend(row.problems)
        return sorted(found, key=lambda p: (p.row or 0, 0 if p.is_error else 1))


FAILED = object()  # a cell that had a problem (keeps dependent checks quiet)


@dataclass
class RowContext:
    """One row being checked, as ``RowSpec.build`` sees it."""

    number: int
    #: canonical key → parsed value (``FAILED`` for a cell that had a problem)
    values: dict[str, object]
    #: canonical key → the header the file used
    names: Mapping[str, str]
    #: the canonical keys the file has (an alternative column counts as the one it replaces)
    provided: frozenset[str]
    #: problems of the row so far; ``build`` appends its own
    problems: list[Problem]
    #: shared by every row of the file (e.g. SKUs seen so far, for duplicates)
    memo: dict


@dataclass(frozen=True)
class RowSpec:
    """What one kind of import reads: its columns, a parser per column, how a row becomes the kind's input.

    ``build(context)`` returns the input object of the row, or None when ``context.problems`` is
    not empty (it may add problems of its own: checks across columns or rows). ``alternatives`` maps a required column to one that may stand in for
    it (``price_tiers`` ← ``price``); ``empty_values`` gives the value of an empty cell in a
    provided column; ``example_keys`` are the columns named when no header is found.
    """

    columns: tuple[Column, ...]
    parsers: Mapping[str, Callable[[str], object]]
    build: Callable[[RowContext], object]
    empty_values: Mapping[str, object] = field(default_factory=dict)
    alternatives: Mapping[str, str] = field(default_factory=dict)
    example_keys: tuple[str, ...] = ()

    def __post_init__(self):
        index: dict[str, str] = {}
        for column in self.columns:
            for name in column.names:
                normal, _bare = header_forms(name)
                if index.setdefault(normal, column.key) != column.key:
                    raise RuntimeError(f"header alias {name!r} means both {index[normal]} and {column.key}")
        object.__setattr__(self, "_alias_index", index)
        object.__setattr__(self, "by_key", {column.key: column for column in self.columns})

    @property
    def template_columns(self) -> tuple[Column, ...]:
        """The columns a template offers, in order."""
        return tuple(column for column in self.columns if column.in_template)

    def column_for_header(self, text: str) -> str | None:
        """The canonical column a header names ('*单价(元)' → 'price'), or None."""
        normal, bare = header_forms(text)
        if not normal:
            return None
        return self._alias_index.get(normal) or self._alias_index.get(bare)

    def names(self, keys: Sequence[str]) -> ColumnNames:
        """The named columns, for a message (rendered in the reader's language)."""
        return ColumnNames(self.by_key, keys)


def _looks_like_data(cells: Sequence[str]) -> bool:
    return any(to_decimal(cell) is not None for cell in cells if cell)


def _map_header(spec: RowSpec, cells: Sequence[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for index, text in enumerate(cells):
        key = spec.column_for_header(text) if text else None
        if key:
            found.setdefault(key, []).append(index)
    return found


def _locate_header(spec: RowSpec, table: Table):
    """The header row (the first row naming two known columns, within the first few) and the rows after it."""
    candidates = [(table.header_row, table.header)] + table.rows[: HEADER_SEARCH_ROWS - 1]
    for position, (number, cells) in enumerate(candidates):
        if len(_map_header(spec, cells)) >= 2:
            skipped = [Problem(row, None, _l("This row is above the column names and was skipped."), WARNING)
                       for row, _cells in candidates[:position]]
            return number, cells, table.rows[position:], skipped
    if _map_header(spec, table.header):
        return table.header_row, table.header, table.rows, []
    examples = spec.names(spec.example_keys)
    if _looks_like_data(table.header):
        raise SpreadsheetError(_l(
            "The first row must hold the column names (for example %(examples)s); row %(row)s looks like data. "
            "Download the template to see the columns.", examples=examples, row=table.header_row))
    raise SpreadsheetError(_l(
        "None of the column names in row %(row)s is known (known names are, for example, %(examples)s). "
        "Download the template to see the columns.", examples=examples, row=table.header_row))


def validate_rows(table: Table, spec: RowSpec) -> ValidationResult:
    """Check every row of a table against ``spec``; raise SpreadsheetError when the header is unusable."""
    budget = table.budget
    header_row, header, data_rows, file_problems = _locate_header(spec, table)
    found = _map_header(spec, header)
    for key, indexes in found.items():
        if len(indexes) > 1:
            raise SpreadsheetError(_l(
                "Columns %(first)s and %(second)s both mean %(meaning)s; keep one of them.",
                first=header[indexes[0]], second=header[indexes[1]], meaning=spec.names([key])))
    mapping = {key: indexes[0] for key, indexes in found.items()}
    missing = [column.key for column in spec.columns if column.required and column.key not in mapping
               and spec.alternatives.get(column.key) not in mapping]
    if missing:
        raise SpreadsheetError(_l(
            "Required columns are missing: %(columns)s. Download the template to see every column.",
            columns=spec.names(missing)))
    mapped_indexes = set(mapping.values())
    for index, text in enumerate(header):
        if text and index not in mapped_indexes:
            budget.add(file_problems, Problem(header_row, text, _l("Unknown column: it is ignored."), WARNING))

    names = {key: header[index] for key, index in mapping.items()}
    data_numbers = {number for number, _cells in data_rows}
    cell_problems: dict[int, list[Problem]] = {}
    for problem in table.problems:  # already counted against the budget when read
        _row, column = split_cell_ref(problem.cell or "")
        column_name = header[column - 1] if 0 < column <= len(header) and header[column - 1] else problem.column
        renamed = Problem(problem.row, column_name, problem.message, problem.severity, problem.cell)
        if problem.row in data_numbers:
            cell_problems.setdefault(problem.row, []).append(renamed)
        elif problem.row is not None and problem.row <= header_row:
            file_problems.append(Problem(renamed.row, renamed.column, renamed.message, WARNING, renamed.cell))
        else:
            file_problems.append(renamed)

    standing_in = {alternative: key for key, alternative in spec.alternatives.items()}
    provided = frozenset(standing_in.get(key, key) for key in mapping)
    plan = [(key, index, names[key], spec.by_key[key]) for key, index in mapping.items()]
    memo: dict = {}
    results = []
    for number, cells in data_rows:
        results.append(_validate_row(spec, number, cells, plan, names, provided, memo,
                                     cell_problems.get(number, []), budget, number in table.error_rows))
    return ValidationResult(results, file_problems, names, header_row,
                            omitted_errors=budget.omitted_errors, omitted_warnings=budget.omitted_warnings)


def _validate_row(spec, number, cells, plan, names, provided, memo, cell_problems, budget,
                  unlisted_error: bool) -> RowResult:
    problems = list(cell_problems)  # already counted against the budget when the file was read
    values: dict[str, object] = {}
    width = len(cells)
    for key, index, name, column in plan:
        text = clean_text(unneutralise(cells[index]), column.multiline) if index < width else ""
        if not text:
            if column.required and key not in spec.alternatives:
                problems.append(Problem(number, name, _l("Required: this cell is empty.")))
            elif key in spec.empty_values:
                values[key] = spec.empty_values[key]
            continue
        if column.max_length and len(text) > column.max_length:
            problems.append(Problem(number, name, _l("Too long: %(length)s characters; at most %(limit)s.",
                                                     length=len(text), limit=column.max_length)))
            continue
        parser = spec.parsers.get(key)
        if parser is None:
            values[key] = text
            continue
        try:
            values[key] = parser(text)
        except CellError as error:
            problems.append(Problem(number, name, error.message))
            values[key] = FAILED
    built = spec.build(RowContext(number, values, names, provided, problems, memo))
    kept = cell_problems + [problem for problem in problems[len(cell_problems):] if budget.keep(problem)]
    return RowResult(number, None if problems or unlisted_error else built, kept)
