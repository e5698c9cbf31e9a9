"""Role checks for views. Every page and action checks roles on the server.

``login_required`` sends anonymous visitors to the login page; a logged-in user without the
role gets 403.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from marketplace.accounts.models import Company, Role, User


def role_required(*roles: Role):
    """Allow only users holding one of ``roles`` (platform admins hold every role)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


organizer_required = role_required(Role.ORGANIZER)
company_admin_required = role_required(Role.COMPANY_ADMIN, Role.ORGANIZER)
platform_admin_required = role_required(Role.PLATFORM_ADMIN)


def can_manage_company(user: User, company: Company) -> bool:
    """Whether ``user`` may edit ``company``: its own company admins, and platform admins."""
    if not user.is_authenticated:
        return False
    if user.role is Role.PLATFORM_ADMIN:
        return True
    return user.company_id == company.id and user.is_company_admin


def can_see_contact(user: User, company: Company) -> bool:
    """Contact details are for the company itself and organizers until both sides show interest."""
    if not user.is_authenticated:
        return False
    return user.company_id == company.id or user.is_organizer
