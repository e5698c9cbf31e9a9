"""Message attachments: check an upload by its content (magic bytes), store it under a random name.

Owns: the files under ``UPLOAD_DIR/deals``. The user's file name and declared type are never
trusted: the type comes from the first bytes, the stored name is random, and the name shown is
cleaned of folders, control characters and bidi overrides.
"""
from __future__ import annotations

import io
import re
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path

from marketplace.errors import ValidationFailed
from marketplace.i18n import _l
from marketplace.inputs import clean_text

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
#: stored names: 32 hex digits and one of our extensions (nothing else is ever served)
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|png|jpg|gif|webp|xlsx)$")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class StoredAttachment:
    """What was written to disk for one upload."""

    name: str
    original: str
    content_type: str
    size: int


def deals_dir(upload_dir: str | Path) -> Path:
    """The folder holding message attachments."""
    path = Path(upload_dir) / "deals"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _is_xlsx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return "[Content_Types].xml" in names and "xl/workbook.xml" in names


def detect_type(data: bytes) -> tuple[str, str] | None:
    """(extension, content type) from the file's first bytes, or None when it is not an allowed kind."""
    if data.startswith(b"%PDF-"):
        return "pdf", "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg", "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif", "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    if data.startswith(b"PK\x03\x04") and _is_xlsx(data):
        return "xlsx", XLSX_TYPE
    return None


def clean_original_name(filename: str | None) -> str:
    """The user's file name without any folder, control or bidi-override characters, quotes or excess length."""
    name = re.split(r"[\\/]", filename or "")[-1]
    # every control character (tab and newline too) and U+202E & co., which make "invoice\u202efdp.exe" read as a PDF
    name = clean_text(re.sub(r"[\x00-\x1f\"]", "", name)).strip() or "attachment"
    return name[-120:]


def check_attachment(data: bytes) -> tuple[str, str]:
    """Refuse empty, oversized or disallowed files; returns (extension, content type)."""
    if not data:
        raise ValidationFailed(_l("The attached file is empty."), "attachment")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed(
            _l("The attachment is larger than %(limit)s MB.", limit=MAX_ATTACHMENT_BYTES // 1024 // 1024),
            "attachment",
        )
    kind = detect_type(data)
    if kind is None:
        raise ValidationFailed(_l("Attach a PDF, an image (JPEG, PNG, GIF, WebP) or an XLSX spreadsheet."),
                               "attachment")
    return kind


def store_attachment(data: bytes, filename: str | None, upload_dir: str | Path) -> StoredAttachment:
    """Check and save an attachment under a random name."""
    extension, content_type = check_attachment(data)
    name = f"{secrets.token_hex(16)}.{extension}"
    (deals_dir(upload_dir) / name).write_bytes(data)
    return StoredAttachment(name, clean_original_name(filename), content_type, len(data))


def delete_attachment(upload_dir: str | Path, name: str | None) -> None:
    """Remove a stored attachment; a missing file is fine."""
    if name and STORED_NAME.fullmatch(name):
        (deals_dir(upload_dir) / name).unlink(missing_ok=True)
