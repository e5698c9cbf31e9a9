"""``flask translations extract|update|compile|check``: the pybabel workflow in one place.

Message ids are English; ``zh_CN`` (the default language) must translate every one of them;
``en`` shows the ids themselves where it has no entry.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from marketplace.config import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("zh_CN", "en")
KEYWORDS = ["-k", "_l", "-k", "N_", "-k", "lazy_gettext", "-k", "ngettext:1,2"]


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract_to(target: Path) -> None:
    """Extract every marked string of the code and templates into ``target``."""
    _pybabel(
        "extract", "-F", str(TRANSLATIONS / "babel.cfg"), *KEYWORDS,
        "--no-location", "--sort-output", "--project", "Rongtong",
        # underscore folders (templates/_macros, _partials) hold strings too; skip only these
        "--ignore-dirs", ".* __pycache__ instance build dist node_modules tests bench migrations",
        "-o", str(target), str(PROJECT_ROOT),
    )


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def catalog_problems(locale: str, template: Path) -> list[str]:
    """What is wrong with one catalog against a freshly extracted template."""
    po_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return [f"{locale}: {po_path.relative_to(PROJECT_ROOT)} is missing (run `flask translations update`)"]
    catalog = _read(po_path)
    problems = []
    for message in _read(template):
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        if entry is None:
            problems.append(f"{locale}: not in the catalog (run `flask translations update`): {message.id!r}")
            continue
        if locale == "zh_CN":
            translated = entry.string if isinstance(entry.string, str) else all(entry.string)
            if not translated:
                problems.append(f"{locale}: no translation: {message.id!r}")
            elif entry.fuzzy:
                problems.append(f"{locale}: fuzzy translation: {message.id!r}")
    for message, errors in catalog.check():
        for error in errors:
            problems.append(f"{locale}: {message.id!r}: {error}")
    return problems


@click.group()
def translations():
    """Extract, update, compile and check the zh_CN and en catalogs."""


@translations.command()
def extract():
    """Write translations/messages.pot from the code and templates."""
    extract_to(POT)
    click.echo(f"wrote {POT.relative_to(PROJECT_ROOT)}")


@translations.command()
def update():
    """Extract, then merge the new template into each catalog (creating missing ones)."""
    extract_to(POT)
    for locale in LOCALES:
        po_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        if po_path.exists():
            _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale, "--no-fuzzy-matching")
        else:
            _pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale)
    click.echo("catalogs updated: " + ", ".join(LOCALES))


@translations.command()
def compile():  # noqa: A001  (the command's name is part of the CLI contract)
    """Compile every catalog to .mo."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")
    click.echo("catalogs compiled")


@translations.command()
def check():
    """Fail when a message lacks a zh_CN translation or a catalog is out of date."""
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "messages.pot"
        extract_to(template)
        problems = [p for locale in LOCALES for p in catalog_problems(locale, template)]
        count = sum(1 for m in _read(template) if m.id)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(f"{len(problems)} translation problems", err=True)
        sys.exit(1)
    click.echo(f"translations complete: {count} messages in {', '.join(LOCALES)}")
