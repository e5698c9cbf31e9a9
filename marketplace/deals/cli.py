"""``flask deals …``: order-intent maintenance for cron."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group()
def deals():
    """Order intents."""


@deals.command("expire")
@with_appcontext
def deals_expire():
    """Expire submitted and countered intents past their valid-until date (run daily from cron)."""
    from marketplace.deals.services import expire_intents

    click.echo(f"expired {expire_intents()}")
