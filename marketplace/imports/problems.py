"""What is wrong with an uploaded file, as the user sees it: refusals of the whole file and problems by row and column.

Owns: ``SpreadsheetError`` (the file is refused), ``Problem`` (one cell, row or the file),
``ProblemBudget`` (the cap on problems kept per file: a crafted file must not make millions of
them; the rest are counted and reported as "and N more"), and the downloadable problem report.
Must not import Flask views, forms or the database.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from marketplace.errors import ValidationFailed
from marketplace.i18n import _, ngettext
from marketplace.spreadsheets import write_csv, write_xlsx

ERROR = "error"
WARNING = "warning"

#: problems kept for one file (preview, report, command line); more are only counted
MAX_PROBLEMS = 1000


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
class ProblemBudget:
    """How many more problems a file may keep; the ones past the cap are only counted."""

    remaining: int = MAX_PROBLEMS
    omitted_errors: int = 0
    omitted_warnings: int = 0

    def keep(self, problem: Problem) -> bool:
        """Whether to keep ``problem`` (False: it was counted as omitted)."""
        if self.remaining > 0:
            self.remaining -= 1
            return True
        if problem.is_error:
            self.omitted_errors += 1
        else:
            self.omitted_warnings += 1
        return False

    def add(self, found: list[Problem], problem: Problem) -> bool:
        """Append ``problem`` to ``found`` if the budget allows it, else count it; whether it was kept."""
        if self.keep(problem):
            found.append(problem)
            return True
        return False

    @property
    def omitted(self) -> int:
        """Problems counted but not kept."""
        return self.omitted_errors + self.omitted_warnings


def more_problems_note(omitted: int) -> str:
    """'… and 1,234 more problems, not listed.' in the current language ('' when none was left out)."""
    if not omitted:
        return ""
    return ngettext("… and %(num)s more problem, not listed: correct these first and upload the file again.",
                    "… and %(num)s more problems, not listed: correct these first and upload the file again.",
                    omitted)


def write_problems(problems: Sequence[Problem], fmt: str, omitted: int = 0) -> bytes:
    """The downloadable problem report (row, column, severity, message) in the current language.

    ``omitted`` problems past the cap are reported in a last line ("… and N more").
    """
    header = [_("Row"), _("Column"), _("Severity"), _("Problem")]
    rows = [
        (problem.row if problem.row is not None else "", problem.column or "",
         _("Error") if problem.is_error else _("Warning"), str(problem.message))
        for problem in problems
    ]
    if omitted:
        rows.append(("", "", "", more_problems_note(omitted)))
    if fmt == "csv":
        return write_csv(header, rows)
    if fmt == "xlsx":
        return write_xlsx([(_("Problems"), header, rows)], widths=[[8, 24, 10, 90]])
    raise ValueError(f"unknown format {fmt!r}")
