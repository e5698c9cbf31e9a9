"""Product images: check an upload is a real image within limits, re-encode it, make a thumbnail.

Owns: image validation and the files under ``UPLOAD_DIR/products``. Metadata (EXIF, GPS,
comments) is dropped by re-encoding the pixels; nothing the user sent is stored as sent.
Before any pixel is decoded the header must pass the size, pixel and aspect-ratio limits and the
data must be long enough for what the header declares; then the image is decoded once, already
shrunk where the format allows it (JPEG ``draft``), and reduced before anything else is copied.
"""
from __future__ import annotations

import io
import logging
import math
import secrets
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.errors import ValidationFailed
from marketplace.i18n import _l

logger = logging.getLogger(__name__)

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
#: width × height, checked on the header before anything is decoded. 25 million pixels take the
#: full frame of a 24-megapixel camera (6000 × 4000) and of a 24-Mpx phone photo (5712 × 4284);
#: we keep at most 2000 px a side. Decoded, one upload holds at most 7 bytes a pixel while an
#: image with transparency is flattened (175 MB), 6 for a progressive JPEG without chroma
#: subsampling (its decoder keeps every coefficient); bench/image_bench.py measures both.
MAX_PIXELS = 25_000_000
#: the long side may be at most this many times the short one: a 10:1 banner still shows its
#: subject 200 px tall in the stored image; a 1 × 39,999,999 "image" costs a pointer per row
MAX_ASPECT_RATIO = 10
MAX_SIDE = 2000
THUMB_SIDE = 400
MAX_IMAGES_PER_PRODUCT = 8
#: modes Pillow resizes well as they are; anything else (palette, 1-bit, 16-bit …) is converted first
_RESIZABLE_MODES = {"RGB", "RGBA", "L", "LA", "CMYK"}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by PNG colour type
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


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


def _too_large(size: int | None) -> ValidationFailed:
    limit = MAX_IMAGE_BYTES // 1024 // 1024
    if size is None:
        return ValidationFailed(_l("The image is larger than %(limit)s MB.", limit=limit), "image")
    # rounded up, so a file just over the limit never reads "10.0 MB; the limit is 10 MB"
    shown = math.ceil(size * 10 / 1024 / 1024) / 10
    return ValidationFailed(_l("The image is %(size)s MB; the limit is %(limit)s MB.", size=shown, limit=limit),
                            "image")


def read_upload(stream: BinaryIO) -> bytes:
    """The bytes of an uploaded image file, refused with its real size when it is over the limit."""
    try:
        start = stream.tell()
        size = stream.seek(0, io.SEEK_END) - start
        stream.seek(start)
    except (AttributeError, OSError, ValueError):  # not seekable: read one byte past the limit
        size = None
    if size is not None and size > MAX_IMAGE_BYTES:
        raise _too_large(size)
    data = stream.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise _too_large(None)
    return data


def _png_data_is_short(data: bytes) -> bool:
    """True when the PNG's compressed data ends before every row it declares (a complete stream)."""
    if data[12:16] != b"IHDR":
        return True
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", data[16:29])
    bits = depth * _PNG_CHANNELS.get(colour, 4)
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    expected = 0
    for x0, y0, dx, dy in passes:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            expected += rows * (1 + -(-columns * bits // 8))  # each row: a filter byte and its pixels
    inflate, produced, offset = zlib.decompressobj(), 0, 8
    while offset + 8 <= len(data) and produced < expected and not inflate.eof:
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        pending = data[offset + 8:offset + 8 + length] if kind == b"IDAT" else b""
        while pending and produced < expected and not inflate.eof:
            produced += len(inflate.decompress(pending, 1 << 16))  # counted, never held: 64 KB at a time
            pending = inflate.unconsumed_tail
        if kind == b"IEND":
            break
        offset += 12 + length
    return produced < expected


def _jpeg_data_is_short(image: Image.Image, data: bytes) -> bool:
    """True when the file is smaller than its declared blocks could be (each needs at least one bit)."""
    layers = getattr(image, "layer", None) or []
    if not layers:
        return False
    h_max, v_max = max(layer[1] for layer in layers), max(layer[2] for layer in layers)
    width, height = image.size
    blocks = sum(math.ceil(math.ceil(width * h / h_max) / 8) * math.ceil(math.ceil(height * v / v_max) / 8)
                 for _id, h, v, _table in layers)
    return len(data) * 8 < blocks


def _damaged() -> ValidationFailed:
    return ValidationFailed(_l("This image is damaged or truncated and cannot be read."), "image")


def _open_checked(data: bytes) -> Image.Image:
    if not data:
        raise ValidationFailed(_l("The image file is empty."), "image")
    if len(data) > MAX_IMAGE_BYTES:
        raise _too_large(len(data))
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
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ValidationFailed(
            _l("The image is %(width)s × %(height)s pixels: one side may be at most %(ratio)s times the other.",
               width=width, height=height, ratio=MAX_ASPECT_RATIO),
            "image",
        )
    if (image.format == "PNG" and _png_data_is_short(data)) or (
            image.format == "JPEG" and _jpeg_data_is_short(image, data)):
        raise _damaged()
    return image


def _fitted(size: tuple[int, int], side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode_small(image: Image.Image) -> Image.Image:
    """Decode once and shrink to MAX_SIDE, upright, RGB on white: JPEG at a reduced scale (draft), others by reduce()."""
    image.draft(None, _fitted(image.size, MAX_SIDE))  # JPEG only: 1/2, 1/4 or 1/8 scale in the decoder
    exif = image.getexif()
    if image.mode not in _RESIZABLE_MODES:
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    if image.mode in ("RGBA", "LA"):
        # transparency becomes white, as on the page; flattening first is the same as resizing premultiplied
        # and the one full-size copy (3 bytes a pixel) replaces the two that resize() would make (8)
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image)  # the mask is the image's own alpha band: no copy of it
        image = background
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    image = image.convert("RGB")
    if exif:
        image.info["exif"] = exif.tobytes()  # only to turn it upright; the stored file carries no metadata
    return ImageOps.exif_transpose(image)


def _encode_jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()


def store_image(data: bytes, upload_dir: str | Path) -> StoredImage:
    """Validate, re-encode (JPEG, metadata stripped) and save an image with its thumbnail."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # no reference kept here: the full-size pixels go as soon as the small copy exists
            small = _decode_small(_open_checked(data))
        # a fresh image from the pixels alone: no EXIF, GPS, ICC or comments survive
        clean = Image.new("RGB", small.size)
        clean.paste(small)
        main_bytes = _encode_jpeg(clean)
        thumb = clean.copy()
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        thumb_bytes = _encode_jpeg(thumb)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _damaged()
    folder = products_dir(upload_dir)
    stem = secrets.token_hex(16)
    filename, thumbnail = f"{stem}.jpg", f"{stem}_t.jpg"
    (folder / filename).write_bytes(main_bytes)
    (folder / thumbnail).write_bytes(thumb_bytes)
    return StoredImage(filename, thumbnail, clean.width, clean.height, len(main_bytes))


def delete_files(upload_dir: str | Path, *names: str) -> None:
    """Remove stored image files; missing files are fine."""
    folder = products_dir(upload_dir)
    for name in names:
        if name and "/" not in name and "\\" not in name:
            (folder / name).unlink(missing_ok=True)
