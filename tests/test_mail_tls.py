"""Outgoing mail over STARTTLS checks the mail server's certificate: an untrusted one sends nothing.

A small SMTP server in a thread offers STARTTLS with a self-signed certificate (made by the openssl
command); the outbox keeps the message, with the certificate failure as its error.
"""
from __future__ import annotations

import socket
import ssl
import subprocess
import threading

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.mail import OutboxEmail, deliver_outbox, queue_email


def _self_signed(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-days", "1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _serve_starttls(listener: socket.socket, context: ssl.SSLContext, seen: list[str]) -> None:
    listener.settimeout(10)
    try:
        conn, _ = listener.accept()
    except OSError:
        return
    with conn:
        conn.settimeout(10)
        reader = conn.makefile("rb")
        conn.sendall(b"220 test ESMTP\r\n")
        try:
            while line := reader.readline():
                command = line.decode().strip().upper()
                seen.append(command)
                if command.startswith("EHLO"):
                    conn.sendall(b"250-test\r\n250 STARTTLS\r\n")
                elif command == "STARTTLS":
                    conn.sendall(b"220 ready\r\n")
                    try:
                        context.wrap_socket(conn, server_side=True).close()
                    except (ssl.SSLError, OSError):
                        seen.append("HANDSHAKE REFUSED BY CLIENT")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")
        except OSError:
            return


def test_an_untrusted_mail_server_certificate_sends_nothing(app, tmp_path):
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[str] = []
    server = threading.Thread(target=_serve_starttls, args=(listener, context, seen), daemon=True)
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1], MAIL_USE_TLS=True,
                      MAIL_USERNAME="robot", MAIL_PASSWORD="secret")
    try:
        with app.app_context():
            queue_email("buyer@example.com", "报价提醒", "您有新的报价。")
            db.session.commit()
            assert deliver_outbox() == 0
            message = db.session.scalars(sa.select(OutboxEmail)).one()
            assert message.sent_at is None
            assert "CERTIFICATE_VERIFY_FAILED" in message.last_error.upper().replace(" ", "_")
    finally:
        server.join(15)
        listener.close()
    assert "STARTTLS" in seen and not any(command.startswith("AUTH") for command in seen)
