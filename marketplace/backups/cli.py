"""``flask backup create [-o DIR]`` and ``flask backup restore DIR [--yes]``.

Progress goes to standard output, one line per step; a refusal or failure is one message on stderr and
exit status 1 (no traceback), and leaves no partial backup and — for every check made before the
restore starts — an unchanged database.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext


@contextmanager
def _as_messages():
    """A refusal or failure becomes one message and exit status 1, never a traceback."""
    from marketplace.backups.services import BackupError

    try:
        yield
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except sa.exc.SQLAlchemyError as error:
        raise click.ClickException(f"database error: {getattr(error, 'orig', None) or error}") from None
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"{error.__class__.__name__}: {error}") from None


@click.group()
def backup():
    """Backups: the database, the uploads and a manifest with counts and checksums."""


@backup.command("create")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The new backup directory (must not exist or be empty). "
                   "Default: <INSTANCE_DIR>/backups/<UTC timestamp>.")
@with_appcontext
def create_command(output: Path | None):
    """Write a backup (safe while the app runs): database, uploads, manifest.json."""
    from marketplace.backups import services

    with _as_messages():
        created = services.create_backup(output, echo=click.echo)
    totals = created.manifest["totals"]
    click.echo(f"backup written to {created.path}: {totals['tables']} tables, {totals['rows']} rows, "
               f"{totals['upload_files']} upload files, {totals['bytes']} bytes")


@backup.command("restore")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: replace the database and the uploads.")
@with_appcontext
def restore_command(directory: Path, yes: bool):
    """Replace the database and the uploads with a backup, then rebuild the search indexes and the matches.

    Checks the manifest and every checksum first. Stop the web and index workers before running it.
    """
    from marketplace.backups import services

    with _as_messages():
        plan = services.plan_restore(directory, echo=click.echo)
    manifest = plan.manifest
    totals = manifest.get("totals") or {}
    click.echo(f"backup of {manifest.get('created_at')} (Rongtong {manifest.get('app_version')}, alembic revision "
               f"{manifest.get('alembic_revision') or 'none'}): {totals.get('rows', '?')} rows, "
               f"{totals.get('upload_files', '?')} upload files; checksums verified")
    if not yes:
        question = (f"This REPLACES the database ({plan.kind}: {plan.target}) and the uploads ({plan.upload_dir}) "
                    "with the backup. Continue?")
        try:
            confirmed = click.confirm(question, default=False)
        except click.Abort:
            confirmed = False
        if not confirmed:
            raise click.ClickException("restore cancelled: nothing was changed (pass --yes to restore without "
                                       "being asked)")
    with _as_messages():
        restored = services.restore_backup(plan, echo=click.echo)
    expected = manifest["tables"]
    width = max((len(name) for name in restored.final_counts), default=5)
    click.echo(f"{'table':<{width}}  {'manifest':>9}  {'now':>9}")
    for name in sorted(set(expected) | set(restored.final_counts)):
        now = restored.final_counts.get(name, "-")
        note = "" if expected.get(name) == now else "  (changed by the upgrade or the rebuild)"
        click.echo(f"{name:<{width}}  {expected.get(name, '-'):>9}  {now:>9}{note}")
    click.echo(f"restored {directory}: {sum(restored.restored_counts.values())} rows in "
               f"{len(restored.restored_counts)} tables and {len(manifest['uploads'])} upload files, as in the manifest")
