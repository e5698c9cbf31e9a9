"""Domain errors raised by services, and the HTTP error pages.

Services raise these; views turn them into form errors (``show_on_form``) or 4xx responses.
Messages are already translated (lazy strings) so a view can show them as they are.

A database that cannot be reached (``database.database_unavailable``: PostgreSQL restarting, a dropped
connection, a full pool) is a 503 with ``Retry-After``, not a 500: the session is rolled back, the page
(``errors/503.html``, which needs no database) is rendered as to a visitor in the language of the
session or the browser, and the API answers a problem document. The pool's pre-ping
(``SQLALCHEMY_ENGINE_OPTIONS``) replaces dead connections, so requests succeed again by themselves; a
connection lost after a request's last query does not turn its answer into a 500 at teardown
(``database.end_session``).
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from marketplace.database import database_unavailable, end_session

logger = logging.getLogger(__name__)

#: seconds a client is asked to wait before trying again while the database is unreachable
RETRY_AFTER_SECONDS = 5


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

    def handle_unavailable(error: Exception):
        from marketplace.i18n import _

        logger.warning("database unavailable on %s %s: %s", request.method, request.path, _short(error))
        _forget_database_state()
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        if _is_api():
            from marketplace.api.problems import problem

            return problem(503, _("The database cannot be reached right now. Try again in a few seconds (a POST "
                                  "with the same Idempotency-Key is safe to repeat)."), headers=headers)
        if _wants_json():
            return jsonify(error=503, message=_("The database cannot be reached right now. Try again in a few "
                                                "seconds.")), 503, headers
        return render_template("errors/503.html", retry_after=RETRY_AFTER_SECONDS), 503, headers

    @app.errorhandler(sa.exc.DBAPIError)
    @app.errorhandler(sa.exc.TimeoutError)
    @app.errorhandler(sa.exc.DisconnectionError)
    def handle_database(error: Exception):
        if database_unavailable(error):
            return handle_unavailable(error)
        return handle_unexpected(error)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        # an outage met outside the view (an after-request hook) reaches here as a 500 wrapping it
        if error.code == 500 and database_unavailable(getattr(error, "original_exception", None)):
            return handle_unavailable(error.original_exception)
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

    @app.teardown_appcontext
    def end_database_session(_error):
        # runs before Flask-SQLAlchemy's own remove() (registered earlier), which would raise on a dead connection
        from marketplace.extensions import db

        end_session(db.session)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        logger.exception("unhandled error on %s %s", request.method, request.path)
        from marketplace.extensions import db

        db.session.rollback()
        return render_error(500)


def _short(error: BaseException) -> str:
    """The driver's first line (no SQL, no parameters: they may hold personal data)."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


def _forget_database_state() -> None:
    """After a database failure: roll back (the connection may be gone), and answer as to a visitor.

    Rolling back expires every loaded object; the user of the request (loaded or not) is replaced by
    the anonymous one, so neither the locale selection nor a template reads the database again.
    """
    from marketplace.extensions import db, login_manager

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is already unusable: drop the session altogether
        logger.debug("rollback after a database failure failed", exc_info=True)
        try:
            db.session.remove()
        except Exception:  # noqa: BLE001
            logger.debug("closing the session after a database failure failed", exc_info=True)
    g._login_user = login_manager.anonymous_user()
