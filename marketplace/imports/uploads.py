"""Uploaded spreadsheets on disk and their checked rows between two requests, for any kind of import.

Owns: the upload's display name and the file-name check, the stored copy under
``UPLOAD_DIR/imports/`` (the job's record of what was uploaded; old ones are purged), and
``CheckedFiles``: the checked rows of previewed files kept in this process until the commit
starts (bounded in files and rows; a finished job keeps nothing in memory, its stored file is
read again when needed). Must not import any feature package or the database.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
import unicodedata
from collections import OrderedDict
from pathlib import Path

from flask import current_app

from marketplace.errors import NotFound, ValidationFailed
from marketplace.i18n import _l
from marketplace.imports.columns import ValidationResult
from marketplace.imports.table import MAX_ROWS, MAX_UPLOAD_BYTES

logger = logging.getLogger(__name__)

#: file name endings accepted by the upload forms (the content decides what the file really is)
UPLOAD_EXTENSIONS = ("xlsx", "csv", "txt", "tsv", "xls")
#: stored uploads older than this are deleted when a new file is uploaded
KEEP_UPLOADS_DAYS = 7
IMPORTS_FOLDER = "imports"


def max_upload_bytes() -> int:
    """The largest file accepted (``IMPORT_MAX_BYTES``, at most the spreadsheet reader's limit)."""
    configured = current_app.config.get("IMPORT_MAX_BYTES") or MAX_UPLOAD_BYTES
    return min(int(configured), MAX_UPLOAD_BYTES)


def imports_dir() -> Path:
    """Where uploads are stored: ``UPLOAD_DIR/imports``."""
    return Path(current_app.config["UPLOAD_DIR"]) / IMPORTS_FOLDER


def display_filename(filename: str | None) -> str:
    """The user's file name without any path, control characters or excess length (shown only)."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-200:] or "upload"


def check_upload_name(filename: str | None) -> None:
    """Refuse names that are no spreadsheet (.exe, .pdf …) before reading the content."""
    extension = display_filename(filename).rpartition(".")[2].lower()
    if extension not in UPLOAD_EXTENSIONS:
        raise ValidationFailed(_l("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."), "file")


def purge_old_uploads(days: int = KEEP_UPLOADS_DAYS) -> int:
    """Delete stored uploads older than ``days``; returns how many."""
    directory = imports_dir()
    if not directory.is_dir():
        return 0
    cutoff = time.time() - days * 86400
    removed = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            try:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except OSError as error:  # another worker removed it first
                logger.debug("could not remove %s: %s", entry.path, error)
    return removed


def store_upload(data: bytes, fmt: str) -> str:
    """Write an upload under a random name (old uploads are purged first); returns the stored name."""
    directory = imports_dir()
    directory.mkdir(parents=True, exist_ok=True)
    purge_old_uploads()
    stored_name = f"{secrets.token_hex(16)}.{fmt}"
    (directory / stored_name).write_bytes(data)
    return stored_name


def read_upload(stored_name: str) -> bytes:
    """The stored upload; NotFound when it is gone (purged, or the disk was cleaned)."""
    try:
        return (imports_dir() / stored_name).read_bytes()
    except OSError:
        raise NotFound(_l("The uploaded file is no longer available: upload it again.")) from None


def delete_upload(stored_name: str) -> None:
    """Remove a stored upload (nothing happens when it is already gone)."""
    (imports_dir() / stored_name).unlink(missing_ok=True)


class CheckedFiles:
    """The checked rows of a few previewed uploads, by stored name, for the next request of the same job.

    Bounded in files and in rows; ``forget`` when the commit starts or the job is cancelled, so
    a finished job holds no memory.
    """

    def __init__(self, files: int = 4, rows: int = 2 * MAX_ROWS):
        self.files, self.rows = files, rows
        self._kept: OrderedDict[str, ValidationResult] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, stored_name: str, result: ValidationResult) -> None:
        """Keep ``result`` (dropping the oldest beyond the bounds)."""
        with self._lock:
            self._kept[stored_name] = result
            self._kept.move_to_end(stored_name)
            while len(self._kept) > self.files or (
                len(self._kept) > 1 and sum(len(kept.rows) for kept in self._kept.values()) > self.rows
            ):
                self._kept.popitem(last=False)

    def recall(self, stored_name: str) -> ValidationResult | None:
        """The kept result of this upload, if any."""
        with self._lock:
            return self._kept.get(stored_name)

    def forget(self, stored_name: str) -> None:
        """Drop the result of this upload."""
        with self._lock:
            self._kept.pop(stored_name, None)

    def clear(self) -> None:
        """Drop every kept result."""
        with self._lock:
            self._kept.clear()

    def __contains__(self, stored_name: str) -> bool:
        with self._lock:
            return stored_name in self._kept
