"""Product images: upload (checked, re-encoded, EXIF stripped), the eight-image limit, delete, serving."""
from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from PIL import Image

from marketplace.accounts.models import Company
from marketplace.catalog import services
from marketplace.catalog.models import ProductImage
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
    assert "the limit is 10 MB" in response.get_data(as_text=True)
    assert image_rows(app, world.a_product) == []


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
