"""Catalog views (placeholder; the product pages replace this)."""
from flask import abort

from marketplace.catalog import bp


@bp.get("/catalog/")
def my_catalog():
    abort(404)
