"""Accounts: users, companies, roles, login, invitations and verification.

Views → services (``auth_services``, ``company_services``) → models. Views parse input and
call one service; services hold every rule and every write and raise ``marketplace.errors``.
"""
from flask import Blueprint

bp = Blueprint("accounts", __name__)

from marketplace.accounts import views  # noqa: E402,F401
