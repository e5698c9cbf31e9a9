"""``flask companies …``: companies on the platform, for operators and scripts.

Reads through ``company_services``; writes nothing. ``--json`` output is stable: a list of
objects with fixed keys, in id order.
"""
from __future__ import annotations

import json
import unicodedata

import click
from flask.cli import with_appcontext

from marketplace.accounts.models import CompanyKind

TABLE_COLUMNS = ("id", "uscc", "kind", "verification", "name_zh")


@click.group()
def companies():
    """Companies on the platform."""


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(rows: list[dict], columns=TABLE_COLUMNS) -> str:
    """Rows as a plain-text table with a header line, aligned for CJK text."""
    cells = [[str(row[c]) for c in columns] for row in rows]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(_pad(c, w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(_pad(v, w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells)
    return "\n".join(lines)


@companies.command("list")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in CompanyKind]),
    default=None,
    help="Only companies of this kind.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@with_appcontext
def list_command(kind: str | None, as_json: bool):
    """List companies with their USCC, kind and verification state."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from marketplace.accounts.company_services import company_as_dict, list_companies

    try:
        rows = [company_as_dict(c) for c in list_companies(CompanyKind(kind) if kind else None)]
    except (OperationalError, ProgrammingError) as error:
        raise click.ClickException(f"cannot read companies ({error.orig}); run `flask db upgrade` first") from error
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif rows:
        click.echo(format_table(rows))
    else:
        click.echo("No companies.")
