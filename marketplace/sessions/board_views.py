"""Session match board, 1:1 meeting booking and schedules (routes on the sessions blueprint)."""
from marketplace.sessions.views import bp  # noqa: F401
