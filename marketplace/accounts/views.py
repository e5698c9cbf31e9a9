"""Account views (placeholder endpoints; the auth flows replace these)."""
from flask import abort

from marketplace.accounts import bp


@bp.route("/login", methods=["GET", "POST"])
def login():
    abort(404)


@bp.route("/register", methods=["GET", "POST"])
def register():
    abort(404)


@bp.post("/logout")
def logout():
    abort(404)


@bp.get("/settings")
def settings():
    abort(404)


@bp.get("/colleagues")
def colleagues():
    abort(404)
