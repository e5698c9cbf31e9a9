"""Import/export views (placeholder; the import pages replace this)."""
from flask import abort

from marketplace.catalog import import_bp


@import_bp.route("/import", methods=["GET", "POST"])
def upload():
    abort(404)
