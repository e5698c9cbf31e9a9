"""Search models: the change log that keeps every index replica in step with the database.

Owns: ``index_changes`` (the transactional outbox: one row per change to an indexed object,
written in the same transaction as the change, increasing ids) and ``index_replicas`` (the
cursor each index replica reported, so rows behind every replica can be pruned and
``flask index status`` can show the lag).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import db

#: kinds of change rows: a product changed, or a company (all its products' documents) changed
KIND_PRODUCT = "product"
KIND_COMPANY = "company"
#: a procurement request changed
KIND_REQUEST = "request"


class IndexChange(db.Model):
    """One change to an indexed object; drains re-read the object's current state from the database."""

    __tablename__ = "index_changes"
    # AUTOINCREMENT on SQLite: without it a pruned (emptied) log hands out id 1 again, at or behind
    # every cursor, and that change is never applied
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    object_id: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the X-Request-ID of the request whose transaction wrote the change (None: a command, a job)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))

    def __repr__(self) -> str:
        return f"<IndexChange {self.id} {self.kind} {self.object_id}>"


class IndexReplica(db.Model):
    """The last change id an index replica (one host's index directory) has applied."""

    __tablename__ = "index_replicas"

    #: host name and index directory, e.g. "web-1:/srv/rongtong/instance/search_index"
    name: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    cursor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<IndexReplica {self.name} at {self.cursor}>"
