"""Command line: ``flask --app wsgi companies|demo|translations|mail …``.

Owns the list of command groups; each group lives with its feature. Errors go to stderr
with a non-zero exit code; ``--json`` output is stable for scripts.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext


def write_output(data: bytes, output: str | None, default_name: str) -> None:
    """Write a generated file to ``output`` ('-': standard output; None: ``default_name`` here) and say so."""
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    path = Path(output or default_name)
    try:
        path.write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror}") from error
    click.echo(f"wrote {path} ({len(data)} bytes)")


@click.group()
def mail():
    """The e-mail outbox."""


@mail.command("send")
@click.option("--limit", default=100, show_default=True, help="Send at most this many.")
@with_appcontext
def mail_send(limit: int):
    """Send pending e-mails from the outbox (or print them without MAIL_SERVER)."""
    from marketplace.mail import deliver_outbox

    click.echo(f"sent {deliver_outbox(limit)}")


def register_commands(app: Flask) -> None:
    """Attach every feature's command group."""
    from marketplace.accounts.cli import companies
    from marketplace.backups.cli import backup
    from marketplace.catalog.cli import catalog
    from marketplace.deals.cli import deals
    from marketplace.demo import demo
    from marketplace.jobs import register_jobs
    from marketplace.matching.cli import match
    from marketplace.reports.cli import reports
    from marketplace.search.cli import index, search
    from marketplace.sourcing.cli import sourcing
    from marketplace.translations_cli import translations

    for group in (companies, catalog, deals, demo, translations, mail, index, search, sourcing, match, reports,
                  backup):
        app.cli.add_command(group)
    register_jobs(app)  # `flask jobs …`; under `flask run` with JOBS_INLINE, the periodic jobs in-process
