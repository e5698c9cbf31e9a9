"""``flask catalog template|import``: the import template and spreadsheet imports from the command line.

The import takes the web pages' path (``imports.jobs.analyse_file`` then
``services.import_products``): the same checks, the same messages, the same result. Problems
go to stderr, one line each with its row and column; the plan and the outcome to stdout.
"""
from __future__ import annotations

from dataclasses import dataclass

import click
from flask.cli import with_appcontext

from marketplace.accounts.models import Role
from marketplace.cli import write_output

FORMATS = ("xlsx", "csv")
LANGS = ("zh", "en")


@dataclass(frozen=True)
class CommandLineOperator:
    """Whoever runs ``flask catalog import`` on the server: trusted like a platform administrator."""

    id: None = None
    company_id: None = None
    role: Role = Role.PLATFORM_ADMIN
    is_authenticated: bool = True


@click.group()
def catalog():
    """Product catalogs: the import template and spreadsheet imports."""


@catalog.command("template")
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True,
              help="Language of the column names and the example row.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="xlsx", show_default=True,
              help="xlsx (with an instructions sheet and drop-down lists) or csv (UTF-8 with BOM).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True), default=None,
              help="File to write ('-' for standard output). Default: catalog-template-LANG.FORMAT here.")
@with_appcontext
def template_command(lang: str, fmt: str, output: str | None):
    """Write the import template: the header row and an example product."""
    from marketplace.catalog.imports.files import write_template

    write_output(write_template(lang, fmt), output, f"catalog-template-{lang}.{fmt}")


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--company", "uscc", required=True, help="The exporter's unified social credit code (USCC).")
@click.option("--dry-run", is_flag=True, help="Check the file and show the plan; write nothing.")
@click.option("--publish", is_flag=True, help="Publish the imported products (otherwise new ones stay drafts).")
@with_appcontext
def import_command(file: str, uscc: str, dry_run: bool, publish: bool):
    """Import products from FILE (XLSX, or CSV in UTF-8, UTF-8 with BOM, GBK or GB18030).

    Every problem is printed to stderr with its row and column. If any row has an error,
    NOTHING is imported and the exit code is 1: correct the file and run the command again.
    Rows whose SKU already exists in the catalog update that product; the others are created.
    Exit code 0 when the file was imported (or, with --dry-run, when it could be).
    """
    from marketplace.catalog import services
    from marketplace.catalog.imports import jobs as import_jobs
    from marketplace.errors import DomainError
    from marketplace.i18n import _
    from marketplace.imports.cli import check_file

    try:
        company = import_jobs.find_exporter(uscc)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    analysis = check_file(import_jobs.analyse_file, company, file, lambda plan, result: _(
        "%(create)s to create, %(update)s to update, %(invalid)s rows with errors",
        create=len(plan.creates), update=len(plan.updates), invalid=len(result.invalid_rows)))
    result = analysis.result
    if dry_run:
        click.echo(_("Dry run: nothing was written."))
        return
    try:
        outcome = services.import_products(CommandLineOperator(), company, result, publish=publish)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    click.echo(_("Imported: %(created)s created, %(updated)s updated, %(published)s published.",
                 created=outcome.created, updated=outcome.updated, published=outcome.published))
