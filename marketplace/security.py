"""Security baseline: headers (CSP without inline scripts), cookies, rate limits, login.

Owns: Talisman, Flask-Limiter and Flask-Login set-up. Rate limits use Redis in production
(memory storage is per worker: "5 per minute" let 10 through with 2 workers here).
"""
from __future__ import annotations

import logging

from flask import Flask

from marketplace.extensions import csrf, db, limiter, login_manager, talisman

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
    from marketplace.accounts.models import User

    user_id, _, fingerprint = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    # a deactivated user's sessions and remember-me cookies end at once
    if user is None or not user.active or user.password_hash[-16:] != fingerprint:
        return None
    return user


def register_security(app: Flask) -> None:
    """CSRF on every form, security headers, rate limiting and the login manager."""
    production = app.config["PRODUCTION"]
    csrf.init_app(app)
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

        if current_user and current_user.is_authenticated:
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response

