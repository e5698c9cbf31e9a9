"""Company services: profiles, tariff exposure, tags, verification, listings.

Owns every write to companies. Raises ``marketplace.errors`` domain errors.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from marketplace.accounts.models import BUYER_KINDS, Company, CompanyKind
from marketplace.extensions import db

logger = logging.getLogger(__name__)


def count_companies_by_kind() -> dict[str, int]:
    """Company counts by kind value, plus ``buyers`` for all buyer kinds together."""
    rows = db.session.execute(sa.select(Company.kind, sa.func.count()).group_by(Company.kind)).all()
    counts = {kind.value: n for kind, n in rows}
    counts["buyers"] = sum(counts.get(k.value, 0) for k in BUYER_KINDS)
    counts.setdefault(CompanyKind.EXPORTER.value, 0)
    return counts
