"""Product images: check an upload is a real image within limits, re-encode it, make a thumbnail.

Owns: image validation and the files under ``UPLOAD_DIR/products``. Metadata (EXIF, GPS,
comments) is dropped by re-encoding the pixels; nothing the user sent is stored as sent.
"""
from __future__ import annotations

import io
import logging
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.errors import ValidationFailed
from marketplace.i18n import _l

logger = logging.getLogger(__name__)

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
#: width × height; a 30,000 × 30,000 image (900 million pixels) is refused before decoding
MAX_PIXELS = 40_000_000
MAX_SIDE = 2000
THUMB_SIDE = 400
MAX_IMAGES_PER_PRODUCT = 8


@dataclass(frozen=True)
class StoredImage:
    """What was written to disk for one upload."""

    filename: str
    thumbnail: str
    width: int
    height: int
    size_bytes: int
    content_type: str = "image/jpeg"


def products_dir(upload_dir: str | Path) -> Path:
    """The folder that holds product images and thumbnails."""
    path = Path(upload_dir) / "products"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _open_checked(data: bytes) -> Image.Image:
    if not data:
        raise ValidationFailed(_l("The image file is empty."), "image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationFailed(
            _l("The image is %(size)s MB; the limit is %(limit)s MB.",
               size=round(len(data) / 1024 / 1024, 1), limit=MAX_IMAGE_BYTES // 1024 // 1024),
            "image",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed(
            _l("The image has too many pixels; at most %(limit)s million pixels are allowed.",
               limit=MAX_PIXELS // 1_000_000),
            "image",
        )
    except (UnidentifiedImageError, OSError):
        raise ValidationFailed(_l("This file is not an image we can read: upload a JPEG, PNG, WebP or GIF."), "image")
    if image.format not in ALLOWED_FORMATS:
        raise ValidationFailed(
            _l("Images must be JPEG, PNG, WebP or GIF (this one is %(format)s).", format=image.format or "?"),
            "image",
        )
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ValidationFailed(
            _l("The image is %(width)s × %(height)s pixels; at most %(limit)s million pixels are allowed.",
               width=width, height=height, limit=MAX_PIXELS // 1_000_000),
            "image",
        )
    return image


def _encode_jpeg(image: Image.Image, side: int) -> tuple[bytes, int, int]:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue(), copy.width, copy.height


def store_image(data: bytes, upload_dir: str | Path) -> StoredImage:
    """Validate, re-encode (JPEG, metadata stripped) and save an image with its thumbnail."""
    image = _open_checked(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "P"):
            rgba = image.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            image = background
        else:
            image = image.convert("RGB")
        # a fresh image from the pixels alone: no EXIF, GPS, ICC or comments survive
        clean = Image.frombytes("RGB", image.size, image.tobytes())
        main_bytes, width, height = _encode_jpeg(clean, MAX_SIDE)
        thumb_bytes, _w, _h = _encode_jpeg(clean, THUMB_SIDE)
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed(_l("This image is damaged or truncated and cannot be read."), "image")
    folder = products_dir(upload_dir)
    stem = secrets.token_hex(16)
    filename, thumbnail = f"{stem}.jpg", f"{stem}_t.jpg"
    (folder / filename).write_bytes(main_bytes)
    (folder / thumbnail).write_bytes(thumb_bytes)
    return StoredImage(filename, thumbnail, width, height, len(main_bytes))


def delete_files(upload_dir: str | Path, *names: str) -> None:
    """Remove stored image files; missing files are fine."""
    folder = products_dir(upload_dir)
    for name in names:
        if name and "/" not in name and "\\" not in name:
            (folder / name).unlink(missing_ok=True)
