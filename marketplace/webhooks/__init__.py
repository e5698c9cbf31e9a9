"""Company webhooks (事件推送): signed HTTPS callbacks of a company's events, for its own systems.

``models`` (endpoints, deliveries), ``events`` (the catalogue and ``emit``: a delivery row added in the
caller's transaction, the outbox), ``delivery`` (``deliver_due``: claiming, signing, sending, backoff,
disabling; ``sign`` / ``verify``), ``ssrf`` (no private or reserved addresses in production),
``services`` (every write a company makes), ``forms`` and ``views`` (the blueprint ``bp``, named
"webhooks": pages under /developers/webhooks).
"""
from marketplace.webhooks.views import bp

__all__ = ["bp", "register_jobs"]


def register_jobs() -> None:
    """The periodic job that sends due deliveries, every minute (idempotent)."""
    from marketplace.jobs import register_periodic
    from marketplace.webhooks.delivery import deliver_due

    register_periodic("webhook-deliveries", {"minute": "*"}, deliver_due)
