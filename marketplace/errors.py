"""Domain errors raised by services, and the HTTP error pages.

Services raise these; views turn them into form errors (``show_on_form``) or 4xx responses.
Messages are already translated (lazy strings) so a view can show them as they are.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the action; ``message`` is for the user, ``field`` names the input."""

    status_code = 400

    def __init__(self, message, field: str | None = None):
        # keep the (lazy) message unrendered: it is translated when shown, in the viewer's language
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class ValidationFailed(DomainError):
    """Input broke a rule (a duplicate, a value out of range, a city outside its province)."""


class PermissionDenied(DomainError):
    """The actor may not do this (role, company)."""

    status_code = 403


class NotFound(DomainError):
    """The object does not exist or is not visible to the actor (no hint which)."""

    status_code = 404


class Conflict(DomainError):
    """The object changed under the actor; reload and retry."""

    status_code = 409


def show_on_form(form, error: DomainError) -> None:
    """Show a service's refusal next to the form field it names (or above the form when it names none)."""
    field = form._fields.get(error.field or "")
    if field is not None:
        field.errors = [*field.errors, str(error.message)]
    else:
        form.form_errors.append(str(error.message))


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _api_detail(code: int) -> str | None:
    from marketplace.i18n import _

    if code >= 500:
        return _("Something went wrong on our side; the request was not carried out. Try again later.")
    return None


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def register_errorhandlers(app: Flask) -> None:
    """Localized error pages for HTTP errors and domain errors; never a stack trace."""

    def render_error(code: int, description: str | None = None):
        if _is_api():
            from marketplace.api.problems import problem

            return problem(code, description or _api_detail(code))
        if _wants_json():
            return jsonify(error=code, message=description or ""), code
        return render_template("errors/error.html", code=code, description=description), code

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        if _is_api():
            from marketplace.api.problems import from_http_error

            return from_http_error(error)
        response = app.make_response(render_error(error.code or 500))
        if error.code == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(CSRFError)
    def handle_csrf(_error: CSRFError):
        from marketplace.i18n import _

        return render_error(
            400, _("The form has expired or its security token is missing. Please reload the page and try again.")
        )

    @app.errorhandler(DomainError)
    def handle_domain(error: DomainError):
        if _is_api():
            from marketplace.api.problems import problem

            # a broken rule is a 422 in the API (pages show it on the form, with a 400)
            status = 422 if isinstance(error, ValidationFailed) else error.status_code
            return problem(status, str(error.message), field=error.field)
        return render_error(error.status_code, str(error.message))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        logger.exception("unhandled error on %s %s", request.method, request.path)
        from marketplace.extensions import db

        db.session.rollback()
        return render_error(500)
