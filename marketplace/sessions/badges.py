"""Check-in QR codes and badges: the URL a registration's QR code holds, as SVG (a file, or inline on badges).

The code holds the absolute address of ``/sessions/<id>/check-in/<token>`` on the configured public
address (``urls.external_url``, never the request's Host): the organizer's phone opens it and checks
the company in. The SVG is made here from our own URL (no user text), so inlining it is safe.
"""
from __future__ import annotations

import io

import segno
from markupsafe import Markup

from marketplace.sessions.models import SessionRegistration
from marketplace.sessions.services import short_code
from marketplace.urls import external_url

#: size of one QR module in the SVG (a 41-module code with its border is about 150 px on a badge)
BADGE_SCALE = 3
FILE_SCALE = 6


def checkin_url(registration: SessionRegistration) -> str:
    """The absolute check-in address of a registration (what its QR code holds)."""
    return external_url("sessions.check_in_token", session_id=registration.session_id,
                        token=registration.checkin_token)


def _code(registration: SessionRegistration):
    return segno.make(checkin_url(registration), error="m")


def qr_svg(registration: SessionRegistration) -> bytes:
    """The registration's QR code as a stand-alone SVG document."""
    buffer = io.BytesIO()
    _code(registration).save(buffer, kind="svg", scale=FILE_SCALE, border=2, title="QR")
    return buffer.getvalue()


def qr_inline(registration: SessionRegistration, scale: int = BADGE_SCALE) -> Markup:
    """The QR code as inline SVG markup for a page (made from our own URL only)."""
    return Markup(_code(registration).svg_inline(scale=scale, border=2))  # noqa: S704  (segno's SVG of our URL)


def badge_code(registration: SessionRegistration) -> str:
    """The short code printed under the QR code, for typing in by hand, in two groups: "AbCd EfGh"."""
    code = short_code(registration.checkin_token)
    return f"{code[:4]} {code[4:]}"
