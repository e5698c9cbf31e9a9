"""``flask reports session ID …`` and ``flask reports summary …``: the organizer's reports from the command line.

The same figures and files as the pages (``figures``, ``xlsx``, ``pdf``), in Chinese. Without ``--organizer``
a command reports on every organizer's sessions (as a platform administrator would); with it, on that
organizer company's sessions only. Bad input (an unknown session, dates in the wrong order, a period or
province without any session) prints a clear message to stderr and exits 1 without writing a file.
"""
from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from marketplace.cli import write_output


@click.group()
def reports():
    """Session reports (XLSX, PDF) and the summary across sessions (上报)."""


def _scope(organizer: int | None):
    from marketplace.accounts.models import Company, CompanyKind
    from marketplace.extensions import db
    from marketplace.reports.figures import Scope

    if organizer is None:
        return Scope.everything()
    company = db.session.get(Company, organizer)
    if company is None or company.kind is not CompanyKind.ORGANIZER:
        raise click.ClickException(f"no organizer company with id {organizer}")
    return Scope.of_company(company)


def _province(value: str | None) -> str | None:
    """A province by its six-digit code or its Chinese name (广东省 or 广东)."""
    from marketplace import regions

    if not value:
        return None
    value = value.strip()
    for province in regions.provinces():
        if value in (province.code, province.name) or (len(value) >= 2 and province.name.startswith(value)):
            return province.code
    raise click.ClickException(f"unknown province: {value} (give its six-digit code or its name, e.g. 440000 or 广东省)")


@reports.command("session")
@click.argument("session_id", type=int)
@click.option("--format", "fmt", type=click.Choice(("xlsx", "pdf")), default="xlsx", show_default=True)
@click.option("--organizer", type=int, default=None, help="Only if the session is this organizer company's (id).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True), default=None,
              help="File to write ('-' for standard output). Default: rongtong-session-ID-DAY.FORMAT here.")
@with_appcontext
def session_command(session_id: int, fmt: str, organizer: int | None, output: str | None):
    """Write one session's report: its figures and tables (XLSX) or its report pages (PDF)."""
    from marketplace.errors import NotFound
    from marketplace.reports import figures, pdf, xlsx

    try:
        report = figures.session_report(_scope(organizer), session_id)
    except NotFound as error:
        raise click.ClickException(f"{error.message} (session {session_id})") from error
    if fmt == "pdf":
        write_output(pdf.session_pdf(report), output, pdf.session_filename(report))
    else:
        write_output(xlsx.session_xlsx(report), output, xlsx.session_filename(report))


@reports.command("summary")
@click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="First day of the period (YYYY-MM-DD, Asia/Shanghai): sessions starting on or after it.")
@click.option("--to", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="Last day of the period (YYYY-MM-DD), inclusive.")
@click.option("--province", default=None, help="Only sessions held in this province (code or name).")
@click.option("--industry", default=None, help="Only sessions of this industry chain (as the sessions name it).")
@click.option("--group-by", type=click.Choice(("month", "province", "city", "industry", "cluster", "session")),
              default="month", show_default=True, help="Rows of the summary sheet.")
@click.option("--organizer", type=int, default=None, help="Only this organizer company's sessions (id).")
@click.option("--format", "fmt", type=click.Choice(("xlsx",)), default="xlsx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True), default=None,
              help="File to write ('-' for standard output). Default: rongtong-sessions-FROM-TO.xlsx here.")
@with_appcontext
def summary_command(date_from, date_to, province, industry, group_by, organizer, fmt, output):
    """Write the summary across sessions held in a period (上报): per group, per session, companies, signed
    intents, intents by state, top products."""
    from marketplace.errors import ValidationFailed
    from marketplace.reports import figures, xlsx

    start: date = date_from.date()
    end: date = date_to.date()
    filt = figures.ReportFilter(date_from=start, date_to=end, province=_province(province),
                                industry=(industry or "").strip() or None, group_by=group_by)
    try:
        board = figures.dashboard(_scope(organizer), filt)
    except ValidationFailed as error:
        raise click.ClickException(f"{error.message} (--from {start} --to {end})") from error
    if board.empty:
        raise click.ClickException(f"no session in this period and filter ({start} to {end}); nothing written")
    write_output(xlsx.summary_xlsx(board), output, xlsx.summary_filename(board))
