"""Fixtures of the search tests: apps that drain inline (the embedded default) or leave it to a worker."""
from __future__ import annotations

import pytest


@pytest.fixture
def inline_app(app_config, request):
    """An app that drains its own changes after each commit (the embedded default)."""
    app_config["SEARCH_DRAIN"] = "inline"
    return request.getfixturevalue("app")


@pytest.fixture
def worker_app(app_config, request):
    """An app whose commits only log changes (production: ``flask index worker`` applies them)."""
    app_config["SEARCH_DRAIN"] = "worker"
    return request.getfixturevalue("app")
