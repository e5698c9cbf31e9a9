"""URL helpers shared by features."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for


def safe_next_url(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def public_base_url() -> str:
    """The site's own address for links that leave it (e-mails): ``PUBLIC_URL``, never the request's Host.

    Falls back to ``PREFERRED_URL_SCHEME://SERVER_NAME``, and to http://127.0.0.1:5000 (the embedded
    default) when neither is set. A request's ``Host`` header is chosen by whoever sends it, so a link
    built from it could hand a password-reset token to another site.
    """
    config = current_app.config
    base = (config.get("PUBLIC_URL") or "").strip().rstrip("/")
    if base:
        return base
    server_name = (config.get("SERVER_NAME") or "").strip()
    if server_name:
        return f"{config.get('PREFERRED_URL_SCHEME') or 'http'}://{server_name}"
    return "http://127.0.0.1:5000"


def site_path(endpoint: str, **values) -> str:
    """The path of ``endpoint`` on this site, inside a request or not (a CLI job, a worker)."""
    if has_request_context():
        return url_for(endpoint, _external=False, **values)
    # no request: build the path without one (and without SERVER_NAME)
    return current_app.url_map.bind("localhost", url_scheme="http").build(endpoint, values)


def external_url(endpoint: str, **values) -> str:
    """An absolute URL for ``endpoint`` on the configured public address (see ``public_base_url``)."""
    return public_base_url() + site_path(endpoint, **values)
