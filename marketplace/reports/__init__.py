"""The organizer's dashboard (对接成效) and reports (上报): per session and across sessions."""
from flask import Blueprint

bp = Blueprint("reports", __name__)

from marketplace.reports import views  # noqa: E402,F401  (the routes of bp)
