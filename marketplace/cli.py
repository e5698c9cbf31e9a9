"""Command line: ``flask --app wsgi companies|demo|translations|mail …``.

Owns the command groups; each command calls services and prints. Errors go to stderr
with a non-zero exit code; ``--json`` output is stable for scripts.
"""
from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach every feature's command group."""
    from marketplace.translations_cli import translations

    app.cli.add_command(translations)
