"""The site icon: /favicon.ico is served by the app and linked from every page."""
from __future__ import annotations

import io

from PIL import Image


def test_favicon_is_a_real_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    icon = Image.open(io.BytesIO(response.data))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])
    assert "max-age=86400" in response.headers["Cache-Control"]


def test_pages_link_the_icon(client):
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico"' in html
