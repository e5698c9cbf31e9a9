"""Errors of the API as RFC 9457 ``application/problem+json``, in the caller's language.

Owns: the problem document (``type``, ``title``, ``status``, ``detail``, ``instance``, and for input
errors ``field`` and ``errors``), the translation of marshmallow's English messages (matched against
their templates, so "Must be greater than or equal to 1 …" keeps its numbers in Chinese), and the
headers a problem carries (``Retry-After`` on 429). Imports nothing of the features.
"""
from __future__ import annotations

import re

from flask import Response, current_app, json, request
from werkzeug.exceptions import HTTPException

from marketplace.i18n import N_, _, current_locale_code

PROBLEM_MIME = "application/problem+json"

#: the title of each status, in the caller's language
TITLES = {
    400: N_("Bad request"),
    401: N_("Authentication required"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    406: N_("Not acceptable"),
    409: N_("Conflict"),
    412: N_("Precondition failed"),
    413: N_("Request too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid input"),
    428: N_("Precondition required"),
    429: N_("Too many requests"),
    500: N_("Internal error"),
    503: N_("Service unavailable"),
}

#: marshmallow's messages (templates) and how we say them; {name} parts are carried over
_TEMPLATES = [
    ("Missing data for required field.", N_("This field is required.")),
    ("Field may not be null.", N_("This field may not be null.")),
    ("Unknown field.", N_("Unknown field.")),
    ("Not a valid string.", N_("Not a valid string.")),
    ("Not a valid integer.", N_("Not a valid integer.")),
    ("Not a valid number.", N_("Not a valid number.")),
    ("Not a valid boolean.", N_("Not a valid boolean (true or false).")),
    ("Not a valid list.", N_("Not a valid list.")),
    ("Not a valid mapping type.", N_("Not a valid object.")),
    ("Not a valid date.", N_("Not a valid date (YYYY-MM-DD).")),
    ("Not a valid datetime.", N_("Not a valid date and time (ISO 8601).")),
    ("Not a valid URL.", N_("Not a valid URL.")),
    ("Not a valid email address.", N_("Not a valid e-mail address.")),
    ("Not a valid utf-8 string.", N_("Not a valid UTF-8 string.")),
    ("Invalid input type.", N_("Invalid input type.")),
    ("Invalid value.", N_("Invalid value.")),
    ("Must be greater than or equal to {min} and less than or equal to {max}.",
     N_("Must be between %(min)s and %(max)s.")),
    ("Must be greater than or equal to {min}.", N_("Must be at least %(min)s.")),
    ("Must be less than or equal to {max}.", N_("Must be at most %(max)s.")),
    ("Must be greater than {min}.", N_("Must be greater than %(min)s.")),
    ("Must be less than {max}.", N_("Must be less than %(max)s.")),
    ("Shorter than minimum length {min}.", N_("At least %(min)s characters (or items).")),
    ("Longer than maximum length {max}.", N_("At most %(max)s characters (or items).")),
    ("Length must be between {min} and {max}.", N_("Between %(min)s and %(max)s characters (or items).")),
    ("Length must be {equal}.", N_("Exactly %(equal)s characters (or items).")),
    ("Must be one of: {choices}.", N_("Must be one of: %(choices)s.")),
    ("Invalid JSON body.", N_("The body is not valid JSON.")),
]


def _compile(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(f"^{pattern}$")


_COMPILED = [(_compile(template), ours) for template, ours in _TEMPLATES]


def localize(message) -> str:
    """A validation message in the caller's language (ours are translated already; marshmallow's are matched)."""
    text = str(message)
    for pattern, ours in _COMPILED:
        found = pattern.match(text)
        if found:
            return _(ours, **found.groupdict())
    return text


def _flatten(messages, prefix: str = "") -> list[tuple[str, str]]:
    """``{"json": {"tiers": {0: {"price_fen": ["…"]}}}}`` → ``[("tiers[0].price_fen", "…")]``-like pairs."""
    pairs: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            elif key == "_schema":
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            pairs.extend(_flatten(value, name))
    elif isinstance(messages, (list, tuple)):
        if all(not isinstance(item, (dict, list, tuple)) for item in messages):
            pairs.extend((prefix, localize(item)) for item in messages)
        else:
            for item in messages:
                pairs.extend(_flatten(item, prefix))
    else:
        pairs.append((prefix, localize(messages)))
    return pairs


def field_errors(messages: dict) -> list[dict]:
    """webargs' ``{location: {field: [messages]}}`` as a list of ``{"field", "in", "message"}``."""
    errors = []
    for location, fields in (messages or {}).items():
        for field, message in _flatten(fields):
            errors.append({"field": field or None, "in": location, "message": message})
    return errors


def problem(status: int, detail=None, *, field: str | None = None, errors: list[dict] | None = None,
            headers: dict | None = None, kind: str | None = None) -> Response:
    """A problem document response."""
    body = {
        "type": f"{request.host_url}api/v1/problems/{kind}" if kind else "about:blank",
        "title": _(TITLES.get(status, "Error")) if status in TITLES else str(status),
        "status": status,
        "instance": request.path,
    }
    if detail:
        body["detail"] = str(detail)
    if errors:
        body["errors"] = errors
        field = field or errors[0]["field"]
        if not detail:
            body["detail"] = errors[0]["message"]
    if field:
        body["field"] = field
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIME)
    response.headers["Content-Language"] = "en" if current_locale_code() == "en" else "zh-CN"
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_error(error: HTTPException) -> Response:
    """An HTTP error (a webargs 422, a 404, a 429 …) as a problem."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    errors = field_errors(data["messages"]) if data.get("messages") else None
    detail = data.get("message") or _default_detail(status, error)
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 429:
        headers.setdefault("Retry-After", str(_retry_after()))
    return problem(status, None if errors else detail, errors=errors, headers=headers,
                   kind="validation" if errors else None)


def _default_detail(status: int, error: HTTPException) -> str | None:
    if status == 404:
        return _("Nothing is here, or it is not yours to see.")
    if status == 405:
        return _("This address does not take that method.")
    if status == 413:
        return _("The request body is too large.")
    if status == 429:
        return _("Too many requests for this token; wait and try again.")
    if status >= 500:
        return _("Something went wrong on our side; the request was not carried out. Try again later.")
    return None


def _retry_after() -> int:
    """Seconds until the limit that was hit resets (Flask-Limiter's view of this request)."""
    import time

    from marketplace.extensions import limiter

    limit = getattr(limiter, "current_limit", None)
    if limit is not None and getattr(limit, "reset_at", None):
        return max(1, int(limit.reset_at - time.time()))
    return 60
