"""Product images: upload (checked, re-encoded, EXIF stripped), the eight-image limit, delete, serving."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from PIL import Image, ImageFile

from marketplace.accounts.models import Company
from marketplace.catalog import images, services
from marketplace.catalog.models import ProductImage
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_product, make_user


@pytest.fixture
def world(app):
    """Exporter A with a product, exporter B with a product; ids and e-mails."""
    with app.app_context():
        a = make_company()
        a_admin = make_user(a)
        b = make_company()
        b_admin = make_user(b)
        return SimpleNamespace(
            a=a.id, a_admin=a_admin.email, a_product=make_product(a).id,
            b=b.id, b_admin=b_admin.email, b_product=make_product(b).id,
        )


def png_bytes(size=(64, 48), color=(200, 30, 30, 255), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam Inc."  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x0131] = "Photoshop"  # Software
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 120, 200)).save(out, "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return out.getvalue()


def upload(client, product_id: int, data: bytes, filename: str = "photo.jpg", **kwargs):
    token = csrf_token(client, f"/catalog/{product_id}/edit")
    return client.post(
        f"/catalog/{product_id}/images",
        data={"csrf_token": token, "image": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        **kwargs,
    )


def image_rows(app, product_id: int) -> list[ProductImage]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(ProductImage).where(ProductImage.product_id == product_id).order_by(ProductImage.position)
        ).all()
        db.session.expunge_all()
        return rows


def stored_files(app) -> list[str]:
    folder = Path(app.config["UPLOAD_DIR"]) / "products"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def add_images_directly(app, company_id: int, product_id: int, count: int) -> None:
    with app.app_context():
        company = db.session.get(Company, company_id)
        product = services.get_product_for_edit(company.users[0], product_id)
        for _ in range(count):
            services.add_product_image(company.users[0], product, png_bytes((8, 8)))


# --------------------------------------------------------------------------- upload


def test_upload_image_png_is_stored_as_jpeg_with_thumbnail(app, client, world):
    login(client, world.a_admin)
    response = upload(client, world.a_product, png_bytes((640, 480)), "photo.png")
    assert response.status_code == 302 and response.headers["Location"].endswith("#images")
    [row] = image_rows(app, world.a_product)
    assert (row.content_type, row.width, row.height) == ("image/jpeg", 640, 480)
    assert stored_files(app) == sorted([row.filename, row.thumbnail])
    folder = Path(app.config["UPLOAD_DIR"]) / "products"
    with Image.open(folder / row.filename) as stored:
        assert stored.format == "JPEG" and stored.size == (640, 480)
    with Image.open(folder / row.thumbnail) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 400
    page = client.get(f"/catalog/{world.a_product}/edit").get_data(as_text=True)
    assert f"/media/products/{row.thumbnail}" in page


def test_upload_image_jpeg_loses_its_exif_and_comment(app, client, world):
    original = jpeg_with_exif()
    with Image.open(io.BytesIO(original)) as check:  # the test file really carries metadata
        assert check.getexif().get(0x010F) == "SecretCam Inc."
    login(client, world.a_admin)
    assert upload(client, world.a_product, original).status_code == 302
    [row] = image_rows(app, world.a_product)
    for name in (row.filename, row.thumbnail):
        path = Path(app.config["UPLOAD_DIR"]) / "products" / name
        raw = path.read_bytes()
        assert b"SecretCam" not in raw and b"secret comment" not in raw and b"Exif" not in raw
        with Image.open(path) as stored:
            assert len(stored.getexif()) == 0
            assert "exif" not in stored.info and "comment" not in stored.info


@pytest.mark.parametrize("payload, filename", [
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" '
     b'height="9"/></svg>', "logo.jpg"),
    (b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>", "page.jpg"),
    (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "setup.png"),
    (b"", "empty.jpg"),
])
def test_upload_image_that_is_not_an_image_is_refused(app, en_client, world, payload, filename):
    login(en_client, world.a_admin)
    response = upload(en_client, world.a_product, payload, filename)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert ("This file is not an image we can read: upload a JPEG, PNG, WebP or GIF." in page
            or "The image file is empty." in page or "Choose an image file to upload." in page)
    assert image_rows(app, world.a_product) == []
    assert stored_files(app) == []


def test_upload_image_svg_renamed_jpg_gets_the_clear_message(app, en_client, world):
    login(en_client, world.a_admin)
    page = upload(en_client, world.a_product, b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "x.jpg").get_data(
        as_text=True)
    assert "This file is not an image we can read: upload a JPEG, PNG, WebP or GIF." in page


def test_upload_image_of_30000_by_30000_pixels_is_refused(app, en_client, world):
    out = io.BytesIO()
    Image.new("1", (30000, 30000)).save(out, "PNG")
    assert len(out.getvalue()) < 1_000_000  # a small file that would decode to 900 million pixels
    login(en_client, world.a_admin)
    response = upload(en_client, world.a_product, out.getvalue(), "huge.png")
    assert response.status_code == 200
    assert "too many pixels" in response.get_data(as_text=True)
    assert image_rows(app, world.a_product) == [] and stored_files(app) == []


def test_upload_image_larger_than_10_mb_is_refused(app, en_client, world):
    login(en_client, world.a_admin)
    response = upload(en_client, world.a_product, b"\xff\xd8" + b"\x00" * (10 * 1024 * 1024 + 10), "big.jpg")
    assert response.status_code == 200
    # just over the limit reads as over it (rounded up), never "10.0 MB; the limit is 10 MB"
    assert "The image is 10.1 MB; the limit is 10 MB." in response.get_data(as_text=True)
    assert image_rows(app, world.a_product) == []


def test_upload_image_of_20_mb_states_its_real_size(app, client, world):
    login(client, world.a_admin)
    response = upload(client, world.a_product, b"\xff\xd8" + b"\x00" * (20 * 1024 * 1024 - 2), "big.jpg")
    assert response.status_code == 200
    assert "图片大小为 20.0 MB，上限为 10 MB" in response.get_data(as_text=True)
    assert image_rows(app, world.a_product) == [] and stored_files(app) == []


def test_read_upload_of_an_unseekable_stream_says_larger_than_the_limit(app):
    class Pipe(io.RawIOBase):
        """A stream that can only be read, like a socket."""

        def __init__(self, size):
            self.left = size

        def readable(self):
            return True

        def readinto(self, buffer):
            count = min(len(buffer), self.left)
            buffer[:count] = b"\0" * count
            self.left -= count
            return count

    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(ValidationFailed) as refused:
            images.read_upload(io.BufferedReader(Pipe(12 * 1024 * 1024)))
        assert str(refused.value) == "The image is larger than 10 MB."
        assert images.read_upload(io.BufferedReader(Pipe(5))) == b"\0" * 5


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def crafted_png(width: int, height: int, rows: int, depth: int = 1, colour: int = 0, interlace: int = 0) -> bytes:
    """A PNG declaring width × height whose complete zlib stream holds only ``rows`` rows."""
    row = 1 + -(-width * depth * {0: 1, 2: 3, 6: 4}[colour] // 8)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0,
                                                                    interlace))
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * row * rows, 9)) + png_chunk(b"IEND", b""))


def test_upload_image_of_99_bytes_declaring_40_million_pixels_is_refused(app, en_client, world):
    data = crafted_png(1, 39_999_999, rows=10)
    assert len(data) < 100
    login(en_client, world.a_admin)
    response = upload(en_client, world.a_product, data, "tall.png")
    assert response.status_code == 200
    assert "The image is 1 × 39999999 pixels; at most 25 million pixels are allowed." in response.get_data(as_text=True)
    assert image_rows(app, world.a_product) == [] and stored_files(app) == []


def test_upload_image_of_6300_by_6300_pixels_is_refused(app, en_client, world):
    out = io.BytesIO()
    Image.new("RGB", (6300, 6300), (240, 240, 240)).save(out, "PNG")  # ~130 KB, 40 million pixels
    login(en_client, world.a_admin)
    page = upload(en_client, world.a_product, out.getvalue(), "square.png").get_data(as_text=True)
    assert "The image is 6300 × 6300 pixels; at most 25 million pixels are allowed." in page
    assert image_rows(app, world.a_product) == [] and stored_files(app) == []


@pytest.mark.parametrize("size", [(1, 20_000), (20_000, 1), (2001, 200)])
def test_store_image_refuses_an_extreme_aspect_ratio(app, size):
    out = io.BytesIO()
    Image.new("1", size, 1).save(out, "PNG")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(ValidationFailed) as refused:
            images.store_image(out.getvalue(), app.config["UPLOAD_DIR"])
        assert str(refused.value) == (f"The image is {size[0]} × {size[1]} pixels: one side may be at most 10 "
                                      f"times the other.")
    assert stored_files(app) == []


def test_store_image_accepts_ten_to_one_and_a_24_megapixel_phone_photo(app):
    for size in ((2000, 200), (5712, 4284)):  # 5712 × 4284: a 24-Mpx phone photo (24.5 million pixels)
        out = io.BytesIO()
        Image.new("1", size, 1).save(out, "PNG")
        stored = images.store_image(out.getvalue(), app.config["UPLOAD_DIR"])
        assert max(stored.width, stored.height) == 2000
    assert len(stored_files(app)) == 4


@pytest.mark.parametrize("data", [
    crafted_png(3000, 2000, rows=10),
    crafted_png(3000, 2000, rows=1999, depth=8, colour=2),
    crafted_png(600, 400, rows=300, depth=8, colour=6, interlace=1),
    b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 300, 200, 8, 0, 0, 0, 0))
    + png_chunk(b"IEND", b""),
], ids=["10-of-2000-rows", "one-row-short", "interlaced-half", "no-data"])
def test_upload_image_png_whose_data_stops_short_is_refused(app, en_client, world, data):
    login(en_client, world.a_admin)
    page = upload(en_client, world.a_product, data, "short.png").get_data(as_text=True)
    assert "This image is damaged or truncated and cannot be read." in page
    assert image_rows(app, world.a_product) == [] and stored_files(app) == []


def test_store_image_png_with_exactly_its_rows_is_accepted(app):
    for data in (crafted_png(300, 200, rows=200), crafted_png(60, 40, rows=42, depth=8, colour=2)):
        assert images.store_image(data, app.config["UPLOAD_DIR"]).width in (300, 60)


def test_upload_image_jpeg_declaring_more_blocks_than_its_bytes_is_refused(app, en_client, world):
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 90, 90)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 4000, 5000)  # height, width in the frame header
    with Image.open(io.BytesIO(bytes(data))) as check:
        assert check.size == (5000, 4000)
    login(en_client, world.a_admin)
    page = upload(en_client, world.a_product, bytes(data), "big.jpg").get_data(as_text=True)
    assert "This image is damaged or truncated and cannot be read." in page
    assert image_rows(app, world.a_product) == [] and stored_files(app) == []


@pytest.mark.parametrize("cut", [0.5, 0.9])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_store_image_refuses_a_file_cut_short(app, fmt, cut):
    out = io.BytesIO()
    Image.effect_noise((300, 200), 60).convert("RGB").save(out, fmt)
    data = out.getvalue()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(ValidationFailed) as refused:
            images.store_image(data[:int(len(data) * cut)], app.config["UPLOAD_DIR"])
        assert str(refused.value) in ("This image is damaged or truncated and cannot be read.",
                                      "This file is not an image we can read: upload a JPEG, PNG, WebP or GIF.")
    assert stored_files(app) == []


def test_store_image_decodes_a_big_jpeg_at_a_reduced_scale(app, monkeypatch):
    out = io.BytesIO()
    Image.new("RGB", (4800, 3200), (10, 120, 200)).save(out, "JPEG")
    decoded = []
    load = ImageFile.ImageFile.load

    def spy(image):
        decoded.append(image.size)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    stored = images.store_image(out.getvalue(), app.config["UPLOAD_DIR"])
    assert (stored.width, stored.height) == (2000, 1333)
    assert decoded and max(decoded) == (2400, 1600)  # 1/2 scale in the decoder, never 4800 × 3200


def test_store_image_flattens_transparency_on_white_and_turns_photos_upright(app):
    folder = Path(app.config["UPLOAD_DIR"]) / "products"
    transparent = images.store_image(png_bytes((3000, 2000), (255, 0, 0, 128)), app.config["UPLOAD_DIR"])
    with Image.open(folder / transparent.filename) as stored:
        assert stored.size == (2000, 1333)
        assert all(abs(a - b) <= 3 for a, b in zip(stored.getpixel((1000, 600)), (255, 127, 127), strict=True))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (9, 9, 9)).save(out, "JPEG", exif=exif.tobytes())
    upright = images.store_image(out.getvalue(), app.config["UPLOAD_DIR"])
    assert (upright.width, upright.height) == (1500, 2000)
    with Image.open(folder / upright.filename) as stored:
        assert stored.size == (1500, 2000) and len(stored.getexif()) == 0


def test_upload_image_without_a_file_says_so(app, en_client, world):
    login(en_client, world.a_admin)
    token = csrf_token(en_client, f"/catalog/{world.a_product}/edit")
    response = en_client.post(f"/catalog/{world.a_product}/images", data={"csrf_token": token},
                              content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Choose an image file to upload." in response.get_data(as_text=True)


def test_upload_image_ninth_is_refused(app, en_client, world):
    add_images_directly(app, world.a, world.a_product, 8)
    login(en_client, world.a_admin)
    page = en_client.get(f"/catalog/{world.a_product}/edit").get_data(as_text=True)
    assert 'data-testid="images-full"' in page and 'data-testid="image-form"' not in page
    response = upload(en_client, world.a_product, png_bytes())
    assert response.status_code == 200
    assert "A product can have at most 8 images" in response.get_data(as_text=True)
    assert len(image_rows(app, world.a_product)) == 8
    assert len(stored_files(app)) == 16


def test_upload_image_to_another_company_product_is_forbidden(app, client, world):
    login(client, world.a_admin)
    token = csrf_token(client, f"/catalog/{world.a_product}/edit")
    response = client.post(f"/catalog/{world.b_product}/images",
                           data={"csrf_token": token, "image": (io.BytesIO(png_bytes()), "x.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert image_rows(app, world.b_product) == [] and stored_files(app) == []


# --------------------------------------------------------------------------- delete


def test_delete_image_removes_row_and_files(app, client, world):
    add_images_directly(app, world.a, world.a_product, 2)
    first, second = image_rows(app, world.a_product)
    login(client, world.a_admin)
    token = csrf_token(client, f"/catalog/{world.a_product}/edit")
    response = client.post(f"/catalog/{world.a_product}/images/{first.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert [row.id for row in image_rows(app, world.a_product)] == [second.id]
    assert stored_files(app) == sorted([second.filename, second.thumbnail])
    assert client.get(f"/media/products/{first.filename}").status_code == 404


def test_delete_image_page_asks_for_confirmation(app, client, world):
    add_images_directly(app, world.a, world.a_product, 1)
    login(client, world.a_admin)
    page = client.get(f"/catalog/{world.a_product}/edit").get_data(as_text=True)
    assert "/delete\" data-confirm=" in page


def test_delete_image_of_another_company_is_forbidden(app, client, world):
    add_images_directly(app, world.b, world.b_product, 1)
    [image] = image_rows(app, world.b_product)
    login(client, world.a_admin)
    token = csrf_token(client, f"/catalog/{world.a_product}/edit")
    assert client.post(f"/catalog/{world.b_product}/images/{image.id}/delete",
                       data={"csrf_token": token}).status_code == 403
    # another product's image through one's own product id: not found, nothing deleted
    assert client.post(f"/catalog/{world.a_product}/images/{image.id}/delete",
                       data={"csrf_token": token}).status_code == 404
    assert len(image_rows(app, world.b_product)) == 1 and len(stored_files(app)) == 2


# --------------------------------------------------------------------------- serving


def test_media_serves_stored_images_as_jpeg(app, client, world):
    add_images_directly(app, world.a, world.a_product, 1)
    [image] = image_rows(app, world.a_product)
    for name in (image.filename, image.thumbnail):
        response = client.get(f"/media/products/{name}")
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.data[:2] == b"\xff\xd8"


@pytest.mark.parametrize("path", [
    "/media/products/../../instance/secret_key",
    "/media/products/..%2F..%2Fsecret_key",
    "/media/products/%2e%2e%2fsecret_key",
    "/media/products/..\\secret_key",
    "/media/products/0123456789abcdef0123456789abcdef.png",
    "/media/products/0123456789ABCDEF0123456789ABCDEF.jpg",
    "/media/products/0123456789abcdef0123456789abcdef.jpg",  # well formed, but no such file
    "/media/products/0123456789abcdef0123456789abcdef_x.jpg",
    "/media/products/secret_key",
    "/media/products/",
])
def test_media_rejects_anything_but_stored_names(app, client, path):
    folder = Path(app.config["UPLOAD_DIR"])
    (folder / "products").mkdir(parents=True, exist_ok=True)
    (folder / "secret_key").write_text("do not serve")
    response = client.get(path)
    assert response.status_code == 404
    assert b"do not serve" not in response.data
