"""Command line: ``flask --app wsgi companies|demo|translations|mail …``.

Owns the list of command groups; each group lives with its feature. Errors go to stderr
with a non-zero exit code; ``--json`` output is stable for scripts.
"""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext


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
    from marketplace.catalog.cli import catalog
    from marketplace.deals.cli import deals
    from marketplace.demo import demo
    from marketplace.search.cli import index, search
    from marketplace.sourcing.cli import sourcing
    from marketplace.translations_cli import translations

    for group in (companies, catalog, deals, demo, translations, mail, index, search, sourcing):
        app.cli.add_command(group)
