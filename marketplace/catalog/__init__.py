"""Catalog: exporters' products, images, spreadsheet import and export.

Views (``views``, ``import_views``) → ``services`` → models. ``rows`` and ``spreadsheet``
are pure: bytes in, typed rows and problems out.
"""
from flask import Blueprint

bp = Blueprint("catalog", __name__)
import_bp = Blueprint("catalog_import", __name__)

from marketplace.catalog import import_views, views  # noqa: E402,F401
