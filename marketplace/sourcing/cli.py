"""``flask sourcing …``: request expiry for cron; the demand-list template and demand-list imports.

The import takes the web pages' path (``imports.analyse_file`` then ``imports.import_requests``):
the same checks, the same messages, the same result. Problems go to stderr, one line each with
its row and column; the plan and the outcome to stdout. Shaped like ``flask catalog template|import``.
"""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from marketplace.cli import write_output

FORMATS = ("xlsx", "csv")
LANGS = ("zh", "en")


@click.group()
def sourcing():
    """Procurement requests and quotes; demand lists (发榜) from spreadsheets."""


@sourcing.command("expire")
@with_appcontext
def sourcing_expire():
    """Mark open requests past their deadline as expired (run daily from cron)."""
    from marketplace.sourcing.services import expire_requests

    click.echo(f"expired {expire_requests()}")


@sourcing.command("template")
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True,
              help="Language of the column names and the example row.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="xlsx", show_default=True,
              help="xlsx (with an instructions sheet and drop-down lists) or csv (UTF-8 with BOM).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True), default=None,
              help="File to write ('-' for standard output). Default: demand-list-template-LANG.FORMAT here.")
@with_appcontext
def template_command(lang: str, fmt: str, output: str | None):
    """Write the demand-list template: the header row and an example request."""
    from marketplace.sourcing.imports import write_template

    write_output(write_template(lang, fmt), output, f"demand-list-template-{lang}.{fmt}")


@sourcing.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--company", "uscc", required=True, help="The buyer's unified social credit code (USCC).")
@click.option("--dry-run", is_flag=True, help="Check the file and show the plan; write nothing.")
@click.option("--publish", is_flag=True, help="Publish the requests (otherwise they are saved as drafts).")
@with_appcontext
def import_command(file: str, uscc: str, dry_run: bool, publish: bool):
    """Post procurement requests from FILE, a demand list (XLSX, or CSV in UTF-8, UTF-8 with BOM, GBK or GB18030).

    Every problem is printed to stderr with its row and column. If any row has an error,
    NOTHING is imported and the exit code is 1: correct the file and run the command again.
    The company must be a verified buyer (exit code 2 otherwise). Each row becomes a new request.
    Exit code 0 when the file was imported (or, with --dry-run, when it could be).
    """
    from marketplace.catalog.cli import CommandLineOperator
    from marketplace.errors import DomainError
    from marketplace.i18n import _
    from marketplace.imports.cli import check_file
    from marketplace.sourcing import imports

    try:
        company = imports.find_buyer(uscc)
    except DomainError as error:
        click.echo(str(error.message), err=True)
        sys.exit(2)
    analysis = check_file(imports.analyse_file, company, file, lambda plan, result: _(
        "Requests to post: %(create)s; rows with errors: %(invalid)s",
        create=plan.total, invalid=len(result.invalid_rows)))
    result = analysis.result
    if dry_run:
        click.echo(_("Dry run: nothing was written."))
        return
    try:
        outcome = imports.import_requests(CommandLineOperator(), company, result, publish=publish)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    click.echo(_("Imported: %(created)s requests created, %(published)s published.",
                 created=outcome.created, published=outcome.published))
