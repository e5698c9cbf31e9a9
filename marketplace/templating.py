"""Template globals: navigation by role, the province/city names, small helpers.

Owns: what every page may call. Must not write to the database.
"""
from __future__ import annotations

from flask import Flask, request, url_for
from flask_login import current_user

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


def register_template_helpers(app: Flask) -> None:
    """Expose navigation and helpers to every template."""

    @app.context_processor
    def inject_helpers():
        return {"navigation": navigation, "region_name": region_name}

    @app.template_global()
    def url_for_self(**changes) -> str:
        """The current URL with some query arguments changed (pagination, filters)."""
        args = request.args.to_dict(flat=True)
        args.update({k: v for k, v in changes.items() if v is not None})
        return url_for(request.endpoint, **(request.view_args or {}), **args)
