"""``flask sourcing …``: procurement-request maintenance for cron."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group()
def sourcing():
    """Procurement requests and quotes."""


@sourcing.command("expire")
@with_appcontext
def sourcing_expire():
    """Mark open requests past their deadline as expired (run daily from cron)."""
    from marketplace.sourcing.services import expire_requests

    click.echo(f"expired {expire_requests()}")
