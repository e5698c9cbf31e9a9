"""Session pages: the organizer's list, create/edit, status; registration, approval, check-in, badges."""
from flask import Blueprint

bp = Blueprint("sessions", __name__)
