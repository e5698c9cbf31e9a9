"""Company views (placeholder endpoints; the company pages replace these)."""
from flask import Blueprint, abort

bp = Blueprint("companies", __name__)


@bp.get("/")
def directory():
    abort(404)


@bp.get("/<int:company_id>")
def profile(company_id):
    abort(404)


@bp.get("/verification")
def verification_queue():
    abort(404)
