"""Sourcing: procurement requests (采购需求) buyers post, quotes exporters send, the buyer's comparison.

Views (``views``) → ``services`` → models; ``states`` holds both lifecycles, pure. Awarding a
quote starts an order intent through ``marketplace.deals.services``.
"""
from flask import Blueprint

bp = Blueprint("sourcing", __name__)

from marketplace.sourcing import import_views, search_kind, views  # noqa: E402,F401  (search_kind: requests index)
