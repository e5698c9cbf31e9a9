"""Template globals: navigation by role, the province/city names, small helpers.

Owns: what every page may call. Must not write to the database.
"""
from __future__ import annotations

from flask import Flask, request, url_for
from flask_login import current_user
from jinja2 import BytecodeCache

from marketplace import regions
from marketplace.i18n import _


def navigation() -> list[tuple[str, str]]:
    """(url, label) pairs for the navbar, by the visitor's role and company kind."""
    items = [(url_for("pages.home"), _("Home")), (url_for("companies.directory"), _("Companies"))]
    if not current_user.is_authenticated:
        items.append((url_for("sessions.index"), _("Matchmaking sessions")))
        return items
    items.append((url_for("companies.profile", company_id=current_user.company_id), _("My company")))
    if current_user.company.kind.value == "exporter":
        items.append((url_for("catalog.my_catalog"), _("My catalog")))
        items.append((url_for("sourcing.board"), _("Opportunities")))
    if current_user.company.kind.is_buyer:
        items.append((url_for("sourcing.my_requests"), _("Procurement requests")))
    if current_user.company.kind.value != "organizer":
        items.append((url_for("deals.index"), _("Order intents")))
    if current_user.is_organizer:
        items.append((url_for("sessions.organize"), _("Matchmaking sessions")))
        items.append((url_for("reports.dashboard"), _("Results")))
        items.append((url_for("companies.verification_queue"), _("Verification")))
    else:
        items.append((url_for("sessions.index"), _("Matchmaking sessions")))
    return items


def region_name(code: str | None) -> str:
    """The Chinese name of a province or city code ('—' when unknown)."""
    found = regions.province(code) or regions.city(code)
    return found.name if found else "—"


class ProcessBytecodeCache(BytecodeCache):
    """Compiled templates shared by every app of the process, in memory (Jinja keys each by its name and file
    and checks it against the source's checksum, so an edited template compiles again). An app compiles each
    template once anyway; this helps where a process builds many apps — the test suite builds one per test, and
    compiling a page's templates again each time cost ~150 ms a page."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()

    def clear(self) -> None:
        self._compiled.clear()


#: one per process (every app's templates are the same files with the same environment settings)
BYTECODE_CACHE = ProcessBytecodeCache()


def register_template_helpers(app: Flask) -> None:
    """Expose navigation and helpers to every template (and share compiled templates within the process)."""
    app.jinja_env.bytecode_cache = BYTECODE_CACHE

    @app.context_processor
    def inject_helpers():
        return {"navigation": navigation, "region_name": region_name}

    @app.template_global()
    def url_for_self(**changes) -> str:
        """The current URL with some query arguments changed (pagination, filters)."""
        args = request.args.to_dict(flat=True)
        args.update({k: v for k, v in changes.items() if v is not None})
        return url_for(request.endpoint, **(request.view_args or {}), **args)
