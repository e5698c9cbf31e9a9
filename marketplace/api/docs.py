"""The browsable API reference at ``/api/v1/docs``: Swagger UI, served by the app (no CDN), over the
generated document. A page of its own (not flask-smorest's), so that its script is a file and the
content security policy needs no inline code.
"""
from __future__ import annotations

from flask import Blueprint, render_template, url_for

bp = Blueprint("api_docs", __name__)


@bp.get("/docs")
def docs():
    """Swagger UI for /api/v1/openapi.json."""
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.get("/")
def index():
    """/api/v1/ points at the document and the reference."""
    return {"openapi": url_for("api-docs.openapi_json"), "docs": url_for("api_docs.docs")}
