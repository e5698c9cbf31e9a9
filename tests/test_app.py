"""The application shell: home page, language, headers, error pages, settings."""
import pytest

from marketplace import create_app
from marketplace.config import ConfigError


def test_home_page_is_chinese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html


def test_security_headers_on_every_page(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_unknown_page_is_localized_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("RONGTONG_ENV", "production")
    with pytest.raises(ConfigError):
        create_app({"INSTANCE_DIR": str(tmp_path)})
    monkeypatch.setenv("SECRET_KEY", "changeme")
    with pytest.raises(ConfigError):
        create_app({"INSTANCE_DIR": str(tmp_path)})


def test_lazy_message_quoting_user_input_is_escaped(app):
    from flask import render_template_string

    from marketplace.i18n import _l

    message = _l("Your catalog already has a product with SKU %(sku)s.", sku="<script>alert(1)</script>")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        html = render_template_string("<p>{{ message }}</p>", message=message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_trusted_proxy_headers_give_the_client_address(app_config):
    from flask import request

    app_config["TRUSTED_PROXIES"] = 1
    application = create_app(app_config)

    @application.get("/_whoami")
    def whoami():
        return f"{request.remote_addr} {request.scheme}"

    response = application.test_client().get(
        "/_whoami", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    )
    assert response.get_data(as_text=True) == "203.0.113.7 https"
