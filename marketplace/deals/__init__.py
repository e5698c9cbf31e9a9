"""Deals: order intents (意向订单), their negotiation, events and messages.

Views (``views``) → ``services`` → models; ``states`` is the state machine, pure.
"""
from flask import Blueprint

bp = Blueprint("deals", __name__)

from marketplace.deals import views  # noqa: E402,F401
