"""Notifications: in-app messages to users (with an outbox e-mail), the list page and the navbar count.

Views (``views``) → ``services`` → ``models``. Other features call ``services.notify_company`` or
``services.notify_user`` inside their own transaction; this package never commits for them.
"""
from flask import Blueprint

bp = Blueprint("notifications", __name__)

from marketplace.notifications import views  # noqa: E402,F401
