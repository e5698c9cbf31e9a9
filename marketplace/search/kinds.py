"""The registry of index kinds on the application side.

Owns: for each kind (``search_index.IndexKind``), what the database must tell the index — which
flushed objects touch it (``change_key``), which of its objects a batch of change rows means
(``object_ids``), how a record is built (``records_for``) and which objects are public
(``iter_public_records``). Features register their kind from their own modules at app start
(catalog: products; sourcing: requests), so the sync never imports a feature.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from search_index import IndexKind


@dataclass(frozen=True)
class AppKind:
    """One indexed kind as the application feeds it."""

    index_kind: IndexKind
    #: (session, object, "new" | "dirty" | "deleted") → an ``index_changes`` (kind, id) or None
    change_key: Callable
    #: (session, index, [(change id, change kind, object id)]) → ids of this kind's objects to re-read
    object_ids: Callable
    #: (session, ids) → (records of the public ones, ids to delete)
    records_for: Callable
    #: (session) → every public object's record, in id order
    iter_public_records: Callable[..., Iterator]
    #: what the command line calls the documents ("products", "requests")
    noun: str = "documents"

    @property
    def name(self) -> str:
        """The kind's name (its index directory and ``--kind`` value)."""
        return self.index_kind.name


_KINDS: dict[str, AppKind] = {}


def register(kind: AppKind) -> AppKind:
    """Register (or replace) a kind; idempotent by name."""
    _KINDS[kind.name] = kind
    return kind


def get(name: str) -> AppKind:
    """The registered kind ``name`` (KeyError when no feature registered it)."""
    return _KINDS[name]


def names() -> list[str]:
    """Every registered kind's name, products first."""
    return sorted(_KINDS, key=lambda name: (name != "products", name))


def change_keys(session, obj, change: str) -> Iterable[tuple[str, int]]:
    """Every change row an object's flush means, over all kinds."""
    for kind in _KINDS.values():
        key = kind.change_key(session, obj, change)
        if key is not None and key[1] is not None:
            yield key
