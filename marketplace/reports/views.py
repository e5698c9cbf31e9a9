"""Dashboard and report download pages."""
from marketplace.reports import bp  # noqa: F401
