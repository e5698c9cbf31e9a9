"""The command-line half of an import, shared by every kind (`flask catalog import`, `flask sourcing import`).

Owns: reading the file, printing every problem to stderr, the summary line and the exit codes
(1: a row has an error, nothing written). Imports no feature; each command supplies its kind's
``analyse`` function and its plan line.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from marketplace.errors import DomainError
from marketplace.i18n import _, ngettext
from marketplace.imports.problems import more_problems_note


def check_file(analyse: Callable, company, file: str, plan_line: Callable[[object, object], str]):
    """Read and check FILE for ``company``; print its problems and plan; exit 1 when any row has an error."""
    path = Path(file)
    try:
        # read_table refuses a file over the size limit before parsing any of it
        analysis = analyse(company, path.name, path.read_bytes())
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror}") from error
    for problem in analysis.problems:
        line = problem.describe()
        click.echo(line if problem.is_error else _("Warning: %(problem)s", problem=line), err=True)
    if analysis.omitted:
        click.echo(more_problems_note(analysis.omitted), err=True)
    result = analysis.result
    click.echo(_("%(file)s: %(rows)s rows for %(company)s", file=path.name, rows=len(result.rows),
                 company=company.name_zh))
    click.echo(plan_line(analysis.plan, result))
    if result.has_errors:
        errors = analysis.error_count
        click.echo(ngettext("Nothing was imported: %(num)s problem must be corrected first.",
                            "Nothing was imported: %(num)s problems must be corrected first.", errors), err=True)
        sys.exit(1)
    return analysis
