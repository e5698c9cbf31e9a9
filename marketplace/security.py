"""Security baseline: allowed hosts, headers (CSP without inline scripts), cookies, rate limits, login.

Owns: Talisman, Flask-Limiter and Flask-Login set-up, and the answer to a request for a host the
site does not serve (``TRUSTED_HOSTS``, from ``ALLOWED_HOSTS`` / ``PUBLIC_URL``). Rate limits use
Redis in production (memory storage is per worker: "5 per minute" let 10 through with 2 workers here).
Which login sessions are alive is the accounts feature's rule (``auth_services.load_session_user``).
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, render_template, request
from flask.globals import request_ctx
from werkzeug.exceptions import SecurityError

from marketplace.extensions import csrf, limiter, login_manager, talisman

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _load_user(session_id: str):
    from marketplace.accounts.auth_services import load_session_user

    # only requests that write anyway record "last seen" (GET pages stay read-only transactions)
    return load_session_user(session_id, touch=request.method not in ("GET", "HEAD", "OPTIONS"))


def _register_host_check(app: Flask) -> None:
    """A request for a host outside ``TRUSTED_HOSTS`` gets the localized 400 page, never a stack trace."""

    @app.errorhandler(SecurityError)
    def _untrusted_host(_error: SecurityError):
        from marketplace.i18n import _
        from marketplace.urls import public_base_url

        if request_ctx.url_adapter is None:
            # Flask refused to bind URLs to the forged host; the page's own links use the public address
            base = urlsplit(public_base_url())
            request_ctx.url_adapter = app.url_map.bind(base.netloc, url_scheme=base.scheme)
        logger.info("request for an unknown host refused")
        description = _("This site is not served at this address. Go to %(url)s.", url=public_base_url())
        return render_template("errors/error.html", code=400, description=description), 400


def _exempt_ops() -> None:
    """The health probes and the metrics scrape (``marketplace.ops``): GET only, no form, no session, no rate
    limit (load balancers poll them); the HTTPS redirect is lifted per view there, and /metrics has its own
    access rule (a token, or loopback only)."""
    from marketplace.ops import bp as ops_bp

    csrf.exempt(ops_bp)
    limiter.exempt(ops_bp)


def _api_over_https_only():
    """Refuse an API call made over plain HTTP (403) instead of redirecting it: its token already crossed in clear,
    and a redirected POST would be sent twice. Secure as Talisman reads it: TLS here or at the proxy."""
    if not request.path.startswith("/api/"):
        return None
    if request.is_secure or request.headers.get("X-Forwarded-Proto", "http") == "https":
        return None
    from marketplace.api.problems import problem
    from marketplace.i18n import _

    return problem(403, _("The API answers over HTTPS only. This token was sent unencrypted: revoke it and make "
                          "a new one."), kind="https-required")


def register_security(app: Flask) -> None:
    """CSRF on every form, security headers, rate limiting and the login manager."""
    production = app.config["PRODUCTION"]
    _register_host_check(app)
    csrf.init_app(app)
    if production:
        app.before_request(_api_over_https_only)  # before Talisman's redirect: an API call is refused, not moved
    talisman.init_app(
        app,
        force_https=production,
        strict_transport_security=production,
        session_cookie_secure=production,
        session_cookie_http_only=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        x_content_type_options=True,
    )
    if app.config.get("RATELIMIT_WARN_MEMORY"):
        logger.warning("rate limits use memory storage: set REDIS_URL so limits hold across workers")
    limiter.init_app(app)
    _exempt_ops()

    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    from marketplace.i18n import N_, _

    login_manager.login_message = N_("Please log in to see this page.")
    login_manager.localize_callback = _

    @app.after_request
    def _no_store_for_private(response):
        # pages behind a login must not linger in shared caches
        from flask_login import current_user

        if request.path.startswith("/api/") or request.blueprint == "ops":
            # the API never reads the login cookie; it sets its own Cache-Control (so do the ops probes, which
            # must not load a session from the database)
            return response
        if current_user and current_user.is_authenticated:
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response

