"""Image uploads: time and memory of ``catalog.images.store_image`` for crafted and normal files.

Each file goes through the whole upload check (open, limits, decode, re-encode, thumbnail) in a
fresh process, and the peak resident memory (``VmHWM``, reset just before the call through
``/proc/self/clear_refs``) belongs to that one file: the figure printed is the peak minus the
process's size just before the call (Linux only). ``tracemalloc`` is printed
beside it; it sees Python objects only (``bytes`` copies), not Pillow's pixel buffers.

The files: the two crafted ones of issue 9 (a 68-byte PNG declaring 1 × 39,999,999 pixels, a
~130 KB PNG of 6300 × 6300 pixels), a PNG whose data stops after ten of its 4000 rows, the
costliest images still accepted (a 24-megapixel RGBA PNG; a 24-Mpx progressive JPEG without
chroma subsampling, whose decoder keeps every coefficient), a big baseline JPEG, a normal phone
photo (4032 × 3024 JPEG) and a small PNG.
"""
from __future__ import annotations

import io
import multiprocessing
import os
import platform
import struct
import sys
import tempfile
import zlib
from pathlib import Path


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def tall_png() -> bytes:
    """A grey 1-bit PNG declaring 1 × 39,999,999 pixels whose data holds ten rows."""
    header = struct.pack(">IIBBBBB", 1, 39_999_999, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00" * 10, 9)) + _png_chunk(b"IEND", b""))


def short_png() -> bytes:
    """A PNG declaring 5000 × 4000 RGB pixels whose (complete) compressed data holds ten rows."""
    header = struct.pack(">IIBBBBB", 5000, 4000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 15_001 * 10, 9)) + _png_chunk(b"IEND", b""))


def _photo_like(size: tuple[int, int], mode: str = "RGB"):
    """Smooth gradients with some noise: compresses like a photograph, not like a flat colour."""
    from PIL import Image

    small = (max(size[0] // 8, 1), max(size[1] // 8, 1))
    red = Image.linear_gradient("L").resize(small)
    green = Image.radial_gradient("L").resize(small)
    blue = Image.effect_noise(small, 40)
    bands = [band.resize(size, Image.Resampling.BICUBIC) for band in (red, green, blue)]
    if mode == "RGBA":
        bands.append(Image.new("L", size, 200))
    return Image.merge(mode, bands)


def _save(image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def files() -> list[tuple[str, bytes]]:
    """(label, bytes) of every measured file."""
    from PIL import Image

    return [
        ("tall PNG 1 × 39,999,999", tall_png()),
        ("flat PNG 6300 × 6300", _save(Image.new("RGB", (6300, 6300), (240, 240, 240)), "PNG")),
        ("short PNG 5000 × 4000, 10 rows of data", short_png()),
        ("flat RGBA PNG 6000 × 4000 (24 Mpx)", _save(Image.new("RGBA", (6000, 4000), (9, 9, 9, 99)), "PNG")),
        ("photo JPEG 6000 × 4000 progressive", _save(_photo_like((6000, 4000)), "JPEG", quality=85,
                                                     progressive=True, subsampling=0)),
        ("photo JPEG 6000 × 4000 baseline", _save(_photo_like((6000, 4000)), "JPEG", quality=90)),
        ("photo JPEG 4032 × 3024", _save(_photo_like((4032, 3024)), "JPEG", quality=90)),
        ("photo PNG 1600 × 1200", _save(_photo_like((1600, 1200)), "PNG")),
    ]


def _rss_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process in KiB, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _measure(path: str, upload_dir: str) -> dict:
    """In a fresh process: store one image; seconds, RSS growth, tracemalloc peak, outcome."""
    import time
    import tracemalloc

    from marketplace.catalog.images import store_image
    from marketplace.errors import ValidationFailed

    data = Path(path).read_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from the present size
    before = _rss_kb("VmRSS")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        stored = store_image(data, upload_dir)
        outcome = f"stored {stored.width} × {stored.height}"
    except ValidationFailed as error:
        outcome = f"refused: {error}"
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = _rss_kb("VmHWM")
    return {"seconds": seconds, "rss_mb": (after - before) / 1024, "traced_mb": peak / 1024 / 1024,
            "outcome": outcome}


def run() -> list[dict]:
    """Measure every file in its own process and print a table; returns the rows."""
    print("Image uploads: store_image() per file, each in a fresh process "
          "(peak RSS growth; tracemalloc sees Python objects only)")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{'file':38} {'bytes':>11} {'seconds':>8} {'RSS MB':>8} {'traced MB':>10}  outcome")
    rows = []
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="rongtong-image-bench-") as tmp:
        for label, data in files():
            path = Path(tmp) / "upload.bin"
            path.write_bytes(data)
            with context.Pool(1) as pool:
                row = pool.apply(_measure, (str(path), str(Path(tmp) / "uploads")))
            row.update(file=label, size=len(data))
            rows.append(row)
            print(f"{label:38} {len(data):>11,} {row['seconds']:>8.2f} {row['rss_mb']:>8.1f} "
                  f"{row['traced_mb']:>10.1f}  {row['outcome']}")
            sys.stdout.flush()
    return rows


if __name__ == "__main__":
    run()
