"""Public pages: the home page, the language switch, the region data for pickers.

Owns: pages that belong to no feature. Views only; no writes except the saved language.
"""
from flask import Blueprint

bp = Blueprint("pages", __name__)

from marketplace.pages import views  # noqa: E402,F401
