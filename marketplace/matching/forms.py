"""Matching forms: only the CSRF-protected button to invite a matched exporter to quote."""
from __future__ import annotations

from flask_wtf import FlaskForm


class InviteForm(FlaskForm):
    """Invite to quote (a button: the CSRF token is the whole form)."""
