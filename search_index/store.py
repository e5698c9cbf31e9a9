"""The index directory on disk: the ``CURRENT`` pointer, each generation's cursor and schema files, locks."""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from whoosh.filedb.filestore import FileStorage

CURRENT = "CURRENT"
CURSOR_FILE = "cursor.json"
#: the schema version a generation was built with (``IndexKind.version``)
SCHEMA_FILE = "schema.json"
#: the lock every change to the index takes (in the root: it spans generations)
CHANGE_LOCK = "CHANGE"


def _replace_file(path: Path, text: str) -> None:
    """Write ``path`` atomically (a temporary file renamed over it); a failed write (a full disk) leaves
    the old file as it was and no temporary file behind."""
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_cursor(path: Path, cursor: int) -> None:
    _replace_file(path / CURSOR_FILE, json.dumps({"cursor": int(cursor)}))


def _read_cursor(path: Path) -> int:
    try:
        return int(json.loads((path / CURSOR_FILE).read_text(encoding="utf-8"))["cursor"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return 0


def _is_locked(path: Path, name: str) -> bool:
    storage = FileStorage(str(path))
    lock = storage.lock(name)
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True
