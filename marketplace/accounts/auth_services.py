"""Account services: registration, login, passwords, invitations, language.

Owns every write of the auth flows. Raises ``marketplace.errors`` domain errors.
"""
from __future__ import annotations

import logging

from marketplace.accounts.models import User
from marketplace.extensions import db

logger = logging.getLogger(__name__)


def set_user_locale(user: User, locale: str) -> None:
    """Save the user's language choice."""
    user.locale = locale
    db.session.commit()
