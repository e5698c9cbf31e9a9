"""Catalog: exporters' products, images, spreadsheet import and export.

Views (``views``, ``imports.views``) → ``services`` → models. ``rows`` (the input shape),
``vocabulary`` and ``imports.columns`` are pure; the feature-neutral reading and checking of
uploaded tables is ``marketplace.imports``.
"""
from flask import Blueprint

bp = Blueprint("catalog", __name__)
import_bp = Blueprint("catalog_import", __name__)

from marketplace.catalog import search_kind, views  # noqa: E402,F401  (search_kind: the product index kind)
from marketplace.catalog.imports import views as import_views  # noqa: E402,F401
