"""The SSRF guard: a webhook never reaches an address inside our own networks.

Owns: ``check_url(url, allow_private)`` (when an endpoint is saved and again before each delivery: DNS
may change) and ``forbidden_address(ip)`` (also checked on the socket actually connected, by the sender's
connection classes, so a name that resolves to a public address for the check and a private one for the
connection is still refused).

Refused unless ``allow_private`` (config ``WEBHOOK_ALLOW_PRIVATE``: on in development and tests, off in
production): plain http; and any host with one address that is private, loopback, link-local, multicast,
reserved, unspecified, shared (100.64/10) or otherwise not global, including IPv4 addresses inside IPv6
(mapped, 6to4, Teredo). Always refused: other schemes, credentials in the URL, a URL without a host.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from marketplace.errors import ValidationFailed
from marketplace.i18n import _l

#: why an address is refused, for messages
REASONS = {
    "loopback": _l("loopback"),
    "link-local": _l("link-local"),
    "multicast": _l("multicast"),
    "unspecified": _l("unspecified"),
    "reserved": _l("reserved"),
    "private": _l("private"),
    "not public": _l("not public"),
    "invalid": _l("not an IP address"),
}


def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this to simulate DNS)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [info[4][0] for info in infos]


def forbidden_address(address: str) -> str | None:
    """Why ``address`` (an IP address as text) may not be called (a key of REASONS), or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return "invalid"
    embedded = []
    if ip.version == 6:
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
    for candidate in [ip, *(e for e in embedded if e is not None)]:
        for test, reason in ((candidate.is_loopback, "loopback"), (candidate.is_link_local, "link-local"),
                             (candidate.is_multicast, "multicast"), (candidate.is_unspecified, "unspecified"),
                             (candidate.is_reserved, "reserved"), (candidate.is_private, "private")):
            if test:
                return reason
        if not candidate.is_global:
            return "not public"
    return None


def check_url(url: str, allow_private: bool) -> None:
    """Raise ValidationFailed (on field ``url``) unless a webhook may be sent to ``url``."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValidationFailed(_l("This is not a valid web address."), "url") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ValidationFailed(_l("Enter a full address starting with https://."), "url")
    if parts.scheme != "https" and not allow_private:
        raise ValidationFailed(_l("The address must start with https:// (webhooks are sent encrypted only)."), "url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationFailed(_l("The address must not contain a user name or password."), "url")
    if allow_private:
        return
    try:
        addresses = _resolve(host, port or 443)
    except (OSError, UnicodeError):
        raise ValidationFailed(_l("The host name “%(host)s” could not be found.", host=host), "url") from None
    if not addresses:
        raise ValidationFailed(_l("The host name “%(host)s” could not be found.", host=host), "url")
    for address in addresses:
        reason = forbidden_address(address)
        if reason is not None:
            raise ValidationFailed(_l("The address “%(host)s” points to %(ip)s, which is on a private or reserved "
                                      "network (%(reason)s): webhooks are only sent to public internet addresses.",
                                      host=host, ip=address, reason=REASONS[reason]), "url")
