"""Follow-up of the intents made at a session: at 30 and 90 days each of its two companies is asked for an
outcome (signed, in progress, dropped with a reason)."""


def register_jobs() -> None:
    """The periodic job that asks for due follow-ups (idempotent)."""
