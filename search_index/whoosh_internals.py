"""What the engine reads and writes through pinned Whoosh 2.7.4 internals: per-segment postings read a
block at a time, field lengths in bulk, and a segment writer that reads lengths once per field.

``tests/search/test_postings.py`` checks the postings read here equal Whoosh's own."""
from __future__ import annotations

import secrets

import numpy as np
from whoosh.codec.base import Segment
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter


def _read_postings(reader, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    """All (docnum, weight) postings of a term in one segment reader, as arrays."""
    try:
        # Not reader.postings(): it hides deleted documents, which would make a cached array
        # depend on when it was read. Deletions are masked per generation instead.
        fmt = reader.schema[fieldname].format
        key = reader._text_to_bytes(fieldname, term)
        matcher = reader._terms.matcher(fieldname, key, fmt)  # pinned Whoosh 2.7.4 internals
    except Exception:  # TermNotFound
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    ids_parts: list = []
    weight_parts: list = []
    if isinstance(matcher, W3LeafMatcher):
        # Read whole blocks (pinned Whoosh 2.7.4 internals): far cheaper than a call per posting.
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids_parts.append(np.asarray(matcher._ids, dtype=np.int32))
            weight_parts.append(np.asarray(matcher._weights, dtype=np.float32))
            if matcher._lastblock:
                break
            matcher._next_block()
    else:  # pragma: no cover - other codecs
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        ids_parts.append(np.asarray(ids, dtype=np.int32))
        weight_parts.append(np.asarray(weights, dtype=np.float32))
    if not ids_parts:
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    return np.concatenate(ids_parts), np.concatenate(weight_parts)


_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float32)


_LENGTH_TABLE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


def _field_lengths(reader, fieldname: str, count: int) -> np.ndarray:
    """Per-document lengths of a field, from Whoosh's one-byte length column."""
    try:
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)  # pinned 2.7.4 internals
    except AttributeError:  # pragma: no cover - another codec
        column = None
    if column is None:
        return np.array([reader.doc_field_length(d, fieldname, 0) or 0 for d in range(count)], dtype=np.float32)
    raw = np.fromiter((b or 0 for b in column), dtype=np.uint8, count=count)
    return _LENGTH_TABLE[raw]


class _LengthsOnce:
    """A new segment's field lengths for ``add_postings``, read once per field instead of once per posting.

    Whoosh's ``FieldWriter.add_postings`` asks the per-document reader for the document's field
    length for every posting, each a seek and a read of the length column: measured, a fifth of a
    rebuild's time. The values are the same, read in bulk.
    """

    def __init__(self, perdoc):
        self._perdoc = perdoc
        self._lengths: dict[str, list] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default=0):
        """What ``PerDocumentReader.doc_field_length`` answers (None for an empty field)."""
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            column = self._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)  # pinned 2.7.4 internals
            if column is None:
                return default
            lengths = self._lengths[fieldname] = [byte_to_length(b) if b else None for b in column]
        return lengths[docnum]

    def close(self) -> None:
        """Close the per-document reader."""
        self._perdoc.close()


def _segment_id(cls, size: int = 16) -> str:
    """A new segment's name from the OS's randomness.

    Whoosh draws it from the ``random`` module, whose state anything in the process may seed (Faker, a
    test framework replaying examples): the same seed gave the same name twice, the second commit found a
    compound file already there (``create_compound_file``'s assertion) and the index stayed locked.
    """
    return secrets.token_hex(size // 2)


Segment._random_id = classmethod(_segment_id)


def release_writer(writer) -> None:
    """Free a writer's lock after its commit failed part-way (Whoosh leaves it held then)."""
    lock = getattr(writer, "writelock", None)
    if lock is not None and getattr(lock, "fd", None) is not None:  # still held (FcntlLock keeps its fd)
        lock.release()


class _SegmentWriter(SegmentWriter):
    """Whoosh's ``SegmentWriter``, writing a segment's postings with its lengths read in bulk."""

    def _flush_segment(self):
        self.perdocwriter.close()
        lengths = _LengthsOnce(self.per_document_reader()) if self.codec.length_stats else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if lengths:
            lengths.close()
