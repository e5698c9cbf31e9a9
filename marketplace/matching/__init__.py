"""Matching (精准匹配): procurement requests ↔ products, both ways, each match explained.

``scoring`` (the one canonical scoring function of a (request, product) pair, pure), ``profiles``
(a request's keywords against the product index and the category/HS they point to; the facts scoring
reads), ``ranking`` (a request's best products, exact), ``services`` (every write: recompute a request's
or a product's matches into the ``matches`` table, explain a pair, shortlist, invite), ``queries``
(reads for pages), ``explain`` (parts and gaps in the reader's language), ``sync`` (the recompute that
follows the change log under its own cursor), ``notify`` (new-match notifications and digests), ``views``
and ``cli`` (``flask match …``).
"""
from flask import Blueprint

bp = Blueprint("matching", __name__)


def register_hooks() -> None:
    """Recompute after every drain and rebuild; the notification and digest jobs (idempotent)."""
    from marketplace.jobs import register_periodic
    from marketplace.matching import notify, sync
    from marketplace.search import sync as search_sync

    search_sync.log_consumer(sync.CURSOR_NAME)  # the change log is kept until the matches have read it
    search_sync.after_drain(sync.after_drain)
    search_sync.after_rebuild(sync.recompute_after_rebuild)
    register_periodic("match-catch-up", {}, sync.catch_up_job)
    register_periodic("match-notify", {}, notify.notify_new_matches)
    register_periodic("match-digest", {"minute": "0", "hour": "8"}, notify.send_daily_digests)
    register_periodic("match-recompute", {"minute": "30", "hour": "3"}, sync.recompute_everything)


from marketplace.matching import views  # noqa: E402,F401
