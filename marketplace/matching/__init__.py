"""Matching (精准匹配): procurement requests ↔ products, both ways, each match explained.

``keywords`` (a request's weighted keywords against the product index), ``scoring`` (the one
canonical scoring function of a (request, product) pair), ``explain`` (its parts and gaps in the
reader's language), ``services`` (recompute a request's or a product's matches into the ``matches``
table; read them), ``sync`` (the recompute that follows the change log under its own cursor),
``notify`` (new-match notifications and digests), ``views`` and ``cli`` (``flask match …``).
"""
from flask import Blueprint

bp = Blueprint("matching", __name__)


def register_hooks() -> None:
    """Recompute after every drain and rebuild; the notification and digest jobs (idempotent)."""
    from marketplace.jobs import register_periodic
    from marketplace.matching import notify, sync
    from marketplace.search import sync as search_sync

    search_sync.after_drain(sync.catch_up)
    search_sync.after_rebuild(sync.recompute_after_rebuild)
    register_periodic("match-notify", {}, notify.notify_new_matches)
    register_periodic("match-digest", {"minute": "0", "hour": "8"}, notify.send_daily_digests)
    register_periodic("match-recompute", {"minute": "30", "hour": "3"}, sync.recompute_everything)


from marketplace.matching import views  # noqa: E402,F401
