"""Who may use each route: an inventory of EVERY rule of the URL map with its access class, each one exercised.

A rule without an entry in ``INVENTORY`` fails ``test_every_rule_has_an_authorization_entry``: a new route needs
its entry here (its access class, a URL filled with the objects of ``tests/authz_world.py`` and the answer of
each kind of user), which ``test_route_authorization[<endpoint>]`` then checks:

- anonymous: a GET gets the class's answer (the login page for signed-in classes, 401 for the API, 200 for
  public pages); a POST without a CSRF token is refused (400) and, for signed-in classes, a POST with a token
  goes to the login page;
- each signed-in actor (company A's administrator and member, buyer B, another exporter, another buyer, the
  session's organizer, another organizer) gets the status of the entry's table on a GET, and every actor the
  table refuses (403/404/400) is refused on the POST too, with nothing changed in any table.

Actors a POST is allowed for are not sent it (it would change the world the other tests read); their side is
covered by each feature's own tests. The ``/api/v1`` operations (class ``token``) are refused here without a
bearer token, even with a signed-in browser session; which company's token may do what is the API's
authorization matrix (``tests/api/test_authorization_matrix.py``), which fails on an operation it has no row
for: ``test_api_rules_are_in_the_openapi_document`` makes sure every API rule is an operation of the document.
Access classes: ``docs/security.md`` (V8).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from marketplace import create_app
from marketplace.extensions import db
from tests.authz_world import ACTORS, build_world
from tests.conftest import CSRF_RE, _backends, _pg_url, login, make_test_config

# --------------------------------------------------------------------------- access classes

PUBLIC = "public"  # anyone, signed in or not (what it shows may depend on who asks)
ANONYMOUS_ONLY = "anonymous-only"  # log-in and registration: a signed-in user is sent on
EMAILED_TOKEN = "emailed-token"  # the unguessable token of an e-mailed link is the authority
LOGIN = "login"  # any signed-in user (the page shows the user's own company's things)
EXPORTER = "role:exporter"  # users of an exporter company
BUYER = "role:buyer"  # users of a buyer company (chain leader, leading enterprise, retailer, trade circulation)
TRADING = "role:trading-company"  # exporters and buyers, not organizers
COMPANY_ADMIN = "role:company-admin"  # company administrators (and organizers, who run their own company)
ORGANIZER = "role:organizer"  # platform organizers (商务局 …)
COMPANY_SCOPED = "company-scoped"  # another company's object is 403/404 and stays as it was
SESSION_SCOPED = "session-scoped"  # the session's organizer and its participants only
TOKEN = "token"  # /api/v1: a bearer token and its scopes; no cookie is read
TOKEN_OR_LOOPBACK = "token-or-loopback"  # operations endpoints: a token, or the machine itself
STATIC = "static"  # files shipped with the code

CLASSES = {PUBLIC, ANONYMOUS_ONLY, EMAILED_TOKEN, LOGIN, EXPORTER, BUYER, TRADING, COMPANY_ADMIN, ORGANIZER,
           COMPANY_SCOPED, SESSION_SCOPED, TOKEN, TOKEN_OR_LOOPBACK, STATIC}
#: classes whose anonymous visitors are sent to the login page
SIGNED_IN = {LOGIN, EXPORTER, BUYER, TRADING, COMPANY_ADMIN, ORGANIZER, COMPANY_SCOPED, SESSION_SCOPED}

#: in a POST table: the actor may do it; it is not sent (it would change the world the other tests read)
OK = "ok"
REFUSED = (400, 403, 404)


def table(rest, **named) -> dict:
    """Signed-in actor → expected status: those named, everyone else ``rest``."""
    unknown = set(named) - set(ACTORS)
    assert not unknown, f"unknown actors {unknown}"
    return {actor: named.get(actor, rest) for actor in ACTORS}


def company_a(ok, rest=403, **named) -> dict:
    """Company A's two users get ``ok``."""
    return table(rest, exporter=ok, member=ok, **named)


def exporters(ok=200, rest=403) -> dict:
    return table(rest, exporter=ok, member=ok, other_exporter=ok)


def buyers(ok=200, rest=403) -> dict:
    return table(rest, buyer=ok, other_buyer=ok)


def organizers(ok=200, rest=403) -> dict:
    return table(rest, organizer=ok, other_organizer=ok)


def admins(ok=200) -> dict:
    """Company administrators (organizers run their own company too); A's member gets 403."""
    return table(ok, member=403)


@dataclass(frozen=True)
class Route:
    """One rule's authorization entry."""

    rule: str  # as the URL map spells it
    access: tuple[str, ...]  # its access classes
    url: str = ""  # a URL of the rule, {names} being the world's ids (a query string may follow)
    get: dict | None = None  # signed-in actor → status of a GET (None: no GET, or not exercised)
    post: dict | None = None  # actor → status of a POST with a CSRF token and ``body`` (OK: allowed, not sent)
    body: dict = field(default_factory=dict)
    anonymous: int | None = None  # an anonymous GET's status when it is not the class's
    forged: str = ""  # EMAILED_TOKEN: the URL with a forged token (the link-invalid page, 400)


def r(rule: str, access, url: str | None = None, **fields) -> Route:
    access = (access,) if isinstance(access, str) else tuple(access)
    return Route(rule, access, rule if url is None else url, **fields)


def api(rule: str) -> Route:
    """An /api/v1 operation: a bearer token, never the cookie (the company matrix is the API's own test)."""
    return Route(rule, (TOKEN,), re.sub(r"<int:\w+>", "1", rule))


A_INTENT = table(404, exporter=200, member=200, buyer=200)  # the order intent's two companies
SESSION_PEOPLE = table(404, exporter=200, member=200, buyer=200, organizer=200)  # participants A, host B, organizer
SESSION_ORGANIZER = organizers(rest=403) | {"other_organizer": 404}  # its organizer; other organizers: 404
QUOTE_FORM = {"unit_price": "80", "quantity": "10", "moq": "1", "lead_time_days": "5", "valid_until": "{later}",
              "token": "authz-quote-token", "version": "1"}

INVENTORY: dict[str, Route] = {
    # ---------------------------------------------------------------- pages
    "pages.home": r("/", PUBLIC, get=table(200)),
    "pages.favicon": r("/favicon.ico", PUBLIC, get=table(200)),
    "pages.region_data": r("/regions.json", PUBLIC, get=table(200)),
    "pages.switch_language": r("/language/<locale>", PUBLIC, "/language/en", post=table(OK)),
    # ---------------------------------------------------------------- accounts
    "accounts.login": r("/account/login", ANONYMOUS_ONLY, get=table(302), post=table(OK)),
    "accounts.register": r("/account/register", ANONYMOUS_ONLY, get=table(302), post=table(OK)),
    "accounts.register_company": r("/account/register/<token>", (EMAILED_TOKEN, ANONYMOUS_ONLY),
                                   "/account/register/{register_token}", get=table(302), post=table(OK),
                                   forged="/account/register/forged.token.value"),
    "accounts.reset_request": r("/account/reset", PUBLIC, get=table(200), post=table(OK)),
    "accounts.reset_password": r("/account/reset/<token>", EMAILED_TOKEN, "/account/reset/{reset_token}",
                                 get=table(200), post=table(OK), forged="/account/reset/forged.token.value"),
    "accounts.accept_invitation": r("/account/invitations/<token>", EMAILED_TOKEN,
                                    "/account/invitations/{invitation_token}", get=table(200), post=table(OK),
                                    forged="/account/invitations/forged-invitation-token"),
    "accounts.logout": r("/account/logout", PUBLIC, post=table(OK)),
    "accounts.settings": r("/account/settings", LOGIN, get=table(200), post=table(OK)),
    "accounts.password": r("/account/password", LOGIN, get=table(200), post=table(OK)),
    "accounts.end_other_sessions": r("/account/sessions/end-others", LOGIN, post=table(OK)),
    "accounts.colleagues": r("/account/colleagues", COMPANY_ADMIN, get=admins()),
    "accounts.invite": r("/account/colleagues/invite", COMPANY_ADMIN, post=table(OK, member=403),
                         body={"email": "new.colleague@example.com", "role": "member"}),
    "accounts.deactivate": r("/account/colleagues/<int:user_id>/deactivate", (COMPANY_ADMIN, COMPANY_SCOPED),
                             "/account/colleagues/{member_user}/deactivate",
                             post=table(404, exporter=OK, member=403)),
    # ---------------------------------------------------------------- companies
    "companies.directory": r("/companies/", PUBLIC, get=table(200)),
    "companies.profile": r("/companies/<int:company_id>", PUBLIC, "/companies/{a}", get=table(200)),
    "companies.edit": r("/companies/<int:company_id>/edit", (COMPANY_ADMIN, COMPANY_SCOPED), "/companies/{a}/edit",
                        get=table(403, exporter=200)),
    "companies.add_exposure": r("/companies/<int:company_id>/exposures", (COMPANY_ADMIN, COMPANY_SCOPED),
                                "/companies/{a}/exposures", post=table(403, exporter=OK),
                                body={"market": "DE", "old_rate": "5", "new_rate": "30", "revenue_share": "10",
                                      "effective_on": "2025-04-01"}),
    "companies.delete_exposure": r("/companies/<int:company_id>/exposures/<int:exposure_id>/delete",
                                   (COMPANY_ADMIN, COMPANY_SCOPED), "/companies/{a}/exposures/{exposure}/delete",
                                   post=table(403, exporter=OK)),
    "companies.add_tag": r("/companies/<int:company_id>/tags", ORGANIZER, "/companies/{a}/tags",
                           post=organizers(OK), body={"tag": "little_giant", "source_document": "工信部公告",
                                                      "granted_on": "2025-01-01"}),
    "companies.delete_tag": r("/companies/<int:company_id>/tags/<int:tag_id>/delete", ORGANIZER,
                              "/companies/{a}/tags/{tag}/delete", post=organizers(OK)),
    "companies.verify": r("/companies/<int:company_id>/verify", ORGANIZER, "/companies/{a}/verify",
                          post=organizers(OK), body={"decision": "reject", "reason": "资料不全"}),
    "companies.verification_queue": r("/companies/verification", ORGANIZER, get=organizers()),
    # ---------------------------------------------------------------- catalog
    "catalog.my_catalog": r("/catalog/", EXPORTER, get=exporters()),
    "catalog.bulk": r("/catalog/bulk", (EXPORTER, COMPANY_SCOPED), post=company_a(OK),
                      body={"product_ids": "{product}", "action": "archive"}),
    "catalog.new_product": r("/catalog/new", EXPORTER, get=exporters()),
    "catalog.edit_product": r("/catalog/<int:product_id>/edit", COMPANY_SCOPED, "/catalog/{product}/edit",
                              get=company_a(200)),
    "catalog.upload_image": r("/catalog/<int:product_id>/images", COMPANY_SCOPED, "/catalog/{product}/images",
                              post=company_a(OK)),
    "catalog.delete_image": r("/catalog/<int:product_id>/images/<int:image_id>/delete", COMPANY_SCOPED,
                              "/catalog/{product}/images/{image}/delete", post=company_a(OK)),
    # image names are random (128 bits) and never reused: a capability URL, like the product it shows
    "catalog.media": r("/media/products/<filename>", PUBLIC, "/media/products/{media}", get=table(200)),
    # the draft: its company only ("as if it did not exist" for everyone else); published ones are public
    "catalog.product_page": r("/products/<int:product_id>", (PUBLIC, COMPANY_SCOPED), "/products/{draft}",
                              get=company_a(200, rest=404), anonymous=404),
    "catalog.storefront": r("/companies/<int:company_id>/products", PUBLIC, "/companies/{a}/products",
                            get=table(200)),
    "catalog.hs_json": r("/catalog/hs.json", PUBLIC, "/catalog/hs.json?q=8516", get=table(200)),
    "catalog_import.template": r("/catalog/template.<any(csv, xlsx):fmt>", PUBLIC, "/catalog/template.csv",
                                 get=table(200)),
    "catalog_import.export": r("/catalog/export.<any(csv, xlsx):fmt>", EXPORTER, "/catalog/export.csv",
                               get=exporters()),
    "catalog_import.upload": r("/catalog/import", EXPORTER, get=exporters()),
    "catalog_import.job": r("/catalog/import/<int:job_id>", (EXPORTER, COMPANY_SCOPED), "/catalog/import/{catalog_job}",
                            get=company_a(200, other_exporter=404)),
    "catalog_import.progress": r("/catalog/import/<int:job_id>/progress", (EXPORTER, COMPANY_SCOPED),
                                 "/catalog/import/{catalog_job}/progress", get=company_a(200, other_exporter=404)),
    "catalog_import.problems": r("/catalog/import/<int:job_id>/problems.<any(csv, xlsx):fmt>",
                                 (EXPORTER, COMPANY_SCOPED), "/catalog/import/{catalog_job}/problems.csv",
                                 get=company_a(200, other_exporter=404)),
    "catalog_import.commit": r("/catalog/import/<int:job_id>/commit", (EXPORTER, COMPANY_SCOPED),
                               "/catalog/import/{catalog_job}/commit", post=company_a(OK, other_exporter=404)),
    "catalog_import.cancel": r("/catalog/import/<int:job_id>/cancel", (EXPORTER, COMPANY_SCOPED),
                               "/catalog/import/{catalog_job}/cancel", post=company_a(OK, other_exporter=404)),
    # ---------------------------------------------------------------- order intents
    "deals.index": r("/deals/", TRADING, get=organizers(403, rest=200)),
    "deals.export": r("/deals/export.<fmt>", TRADING, "/deals/export.csv", get=organizers(403, rest=200)),
    # buyers start one on another company's product; the exporter itself is told it cannot (400)
    "deals.start": r("/deals/new", BUYER, "/deals/new?product={product}",
                     get=table(403, exporter=400, member=400, buyer=200, other_buyer=200),
                     post=table(403, exporter=400, member=400, buyer=OK, other_buyer=OK),
                     body={"product_id": "{product}", "quantity": "300", "unit_price": "88", "valid_until": "{later}",
                           "token": "authz-intent-token", "submit_action": "send"}),
    "deals.intent_page": r("/deals/<int:intent_id>", COMPANY_SCOPED, "/deals/{intent}", get=A_INTENT),
    # withdrawing is the buyer's step: A's users are told the other company decides it
    "deals.act": r("/deals/<int:intent_id>/act", COMPANY_SCOPED, "/deals/{intent}/act",
                   post=table(404, exporter=403, member=403, buyer=OK),
                   body={"action": "withdraw", "version": "1", "note": "authz"}),
    "deals.post_message": r("/deals/<int:intent_id>/messages", COMPANY_SCOPED, "/deals/{intent}/messages",
                            post=table(404, exporter=OK, member=OK, buyer=OK), body={"body": "authz"}),
    "deals.attachment": r("/deals/attachments/<int:message_id>", COMPANY_SCOPED, "/deals/attachments/{message}",
                          get=A_INTENT),
    # ---------------------------------------------------------------- developers: tokens and webhooks
    "api_tokens.index": r("/developers/tokens/", COMPANY_ADMIN, get=admins(), post=table(OK, member=403),
                          body={"name": "authz", "scopes": "read", "expires_in_days": "30"}),
    "api_tokens.revoke": r("/developers/tokens/<int:token_id>/revoke", (COMPANY_ADMIN, COMPANY_SCOPED),
                           "/developers/tokens/{api_token}/revoke", post=table(404, exporter=OK, member=403)),
    "webhooks.index": r("/developers/webhooks/", COMPANY_ADMIN, get=admins()),
    "webhooks.new": r("/developers/webhooks/new", COMPANY_ADMIN, get=admins(), post=table(OK, member=403),
                      body={"url": "https://hooks.example.com/authz", "events": "intent.created"}),
    "webhooks.edit": r("/developers/webhooks/<int:endpoint_id>/edit", (COMPANY_ADMIN, COMPANY_SCOPED),
                       "/developers/webhooks/{endpoint}/edit", get=table(404, exporter=200, member=403),
                       body={"url": "https://evil.example.com/", "events": "intent.created", "active": "y"}),
    "webhooks.delete": r("/developers/webhooks/<int:endpoint_id>/delete", (COMPANY_ADMIN, COMPANY_SCOPED),
                         "/developers/webhooks/{endpoint}/delete", get=table(404, exporter=200, member=403)),
    "webhooks.roll_secret": r("/developers/webhooks/<int:endpoint_id>/secret", (COMPANY_ADMIN, COMPANY_SCOPED),
                              "/developers/webhooks/{endpoint}/secret", get=table(404, exporter=200, member=403)),
    "webhooks.deliveries": r("/developers/webhooks/<int:endpoint_id>/deliveries", (COMPANY_ADMIN, COMPANY_SCOPED),
                             "/developers/webhooks/{endpoint}/deliveries", get=table(404, exporter=200, member=403)),
    "webhooks.send_test": r("/developers/webhooks/<int:endpoint_id>/test", (COMPANY_ADMIN, COMPANY_SCOPED),
                            "/developers/webhooks/{endpoint}/test", post=table(404, exporter=OK, member=403)),
    "webhooks.redeliver": r("/developers/webhooks/deliveries/<int:delivery_id>/redeliver",
                            (COMPANY_ADMIN, COMPANY_SCOPED), "/developers/webhooks/deliveries/{delivery}/redeliver",
                            post=table(404, exporter=OK, member=403)),
    # ---------------------------------------------------------------- matching
    "matching.opportunities": r("/matching/opportunities", EXPORTER, get=exporters()),
    # its own product's open requests: as if the product did not exist for everyone else (its page is public)
    "matching.product_requests_list": r("/matching/products/<int:product_id>/requests", COMPANY_SCOPED,
                                        "/matching/products/{product}/requests", get=company_a(200, rest=404)),
    "matching.why_not": r("/matching/requests/<int:request_id>/why", COMPANY_SCOPED, "/matching/requests/{request}/why",
                          get=table(404, buyer=200)),
    "matching.shortlist": r("/matching/requests/<int:request_id>/shortlist/<int:company_id>", COMPANY_SCOPED,
                            "/matching/requests/{request}/shortlist/{a}", post=table(404, buyer=OK)),
    "matching.invite": r("/matching/requests/<int:request_id>/invite/<int:company_id>", COMPANY_SCOPED,
                         "/matching/requests/{request}/invite/{a}", post=table(404, buyer=OK)),
    # ---------------------------------------------------------------- notifications (each user's own)
    "notifications.index": r("/notifications/", LOGIN, get=table(200)),
    "notifications.read": r("/notifications/<int:notification_id>/read", COMPANY_SCOPED,
                            "/notifications/{notification}/read", post=table(404, exporter=OK)),
    "notifications.read_all": r("/notifications/read-all", LOGIN, post=table(OK)),
    # ---------------------------------------------------------------- reports (organizers; a session: its own)
    "reports.dashboard": r("/reports/", ORGANIZER, get=organizers()),
    "reports.group_rows": r("/reports/rows/<kind>", ORGANIZER, "/reports/rows/intents", get=organizers()),
    "reports.summary_xlsx": r("/reports/summary.xlsx", ORGANIZER, get=organizers()),
    "reports.session": r("/reports/sessions/<int:session_id>", (ORGANIZER, SESSION_SCOPED), "/reports/sessions/{session}",
                         get=SESSION_ORGANIZER),
    "reports.session_rows": r("/reports/sessions/<int:session_id>/<kind>", (ORGANIZER, SESSION_SCOPED),
                              "/reports/sessions/{session}/intents", get=SESSION_ORGANIZER),
    "reports.session_file": r("/reports/sessions/<int:session_id>/report.<any(xlsx, pdf):fmt>",
                              (ORGANIZER, SESSION_SCOPED), "/reports/sessions/{session}/report.xlsx",
                              get=SESSION_ORGANIZER),
    "reports.intent": r("/reports/intents/<int:intent_id>", (ORGANIZER, SESSION_SCOPED),
                        "/reports/intents/{session_intent}", get=SESSION_ORGANIZER),
    # ---------------------------------------------------------------- search
    "search.products": r("/search/", PUBLIC, "/search/?q=电饭煲", get=table(200)),
    "search.exporters": r("/search/exporters", PUBLIC, "/search/exporters?q=电饭煲", get=table(200)),
    "search.storefront": r("/search/companies/<int:company_id>", PUBLIC, "/search/companies/{a}?q=电饭煲",
                           get=table(200)),
    # ---------------------------------------------------------------- matchmaking sessions
    "sessions.index": r("/sessions/", PUBLIC, get=table(200)),
    # sessions open for registration, running or finished are public; one in preparation is its organizer's only
    "sessions.detail": r("/sessions/<int:session_id>", (PUBLIC, SESSION_SCOPED), "/sessions/{draft_session}",
                         get=table(404, organizer=200), anonymous=404),
    "sessions.mine": r("/sessions/mine", LOGIN, get=table(200)),
    "sessions.organize": r("/sessions/organize", ORGANIZER, get=organizers()),
    "sessions.new": r("/sessions/new", ORGANIZER, get=organizers()),
    "sessions.edit": r("/sessions/<int:session_id>/edit", (ORGANIZER, SESSION_SCOPED), "/sessions/{session}/edit",
                       get=SESSION_ORGANIZER),
    "sessions.change_status": r("/sessions/<int:session_id>/status", (ORGANIZER, SESSION_SCOPED),
                                "/sessions/{session}/status", post=SESSION_ORGANIZER | {"organizer": OK},
                                body={"target": "cancelled", "version": "1"}),
    "sessions.registrations": r("/sessions/<int:session_id>/registrations", (ORGANIZER, SESSION_SCOPED),
                                "/sessions/{session}/registrations", get=SESSION_ORGANIZER),
    "sessions.decide": r("/sessions/<int:session_id>/registrations/<int:registration_id>", (ORGANIZER, SESSION_SCOPED),
                         "/sessions/{session}/registrations/{registration}",
                         post=SESSION_ORGANIZER | {"organizer": OK}, body={"action": "refuse", "reason": "authz"}),
    "sessions.invite": r("/sessions/<int:session_id>/invite", (ORGANIZER, SESSION_SCOPED), "/sessions/{session}/invite",
                         post=SESSION_ORGANIZER | {"organizer": OK}, body={"company_id": "{other_buyer_company}"}),
    "sessions.check_in": r("/sessions/<int:session_id>/check-in", (ORGANIZER, SESSION_SCOPED),
                           "/sessions/{session}/check-in", get=SESSION_ORGANIZER, body={"code": "{checkin_code}"}),
    "sessions.check_in_token": r("/sessions/<int:session_id>/check-in/<token>", (ORGANIZER, SESSION_SCOPED),
                                 "/sessions/{session}/check-in/{checkin_token}", get=SESSION_ORGANIZER),
    "sessions.badges_page": r("/sessions/<int:session_id>/badges", (ORGANIZER, SESSION_SCOPED),
                              "/sessions/{session}/badges", get=SESSION_ORGANIZER),
    # organizers do not register; A and B already take part (told so), C and D may register
    "sessions.register": r("/sessions/<int:session_id>/register", TRADING, "/sessions/{session}/register",
                           post=organizers(403, rest=OK), body={"attendee_name": "李四"}),
    "sessions.cancel_registration": r("/sessions/<int:session_id>/registration/cancel", COMPANY_SCOPED,
                                      "/sessions/{session}/registration/cancel", post=company_a(OK, rest=404),
                                      body={"version": "1"}),
    "sessions.registration_qr": r("/sessions/<int:session_id>/registration/qr.svg", COMPANY_SCOPED,
                                  "/sessions/{session}/registration/qr.svg", get=company_a(200, rest=404)),
    # the hosts' demand list (发榜): B hosts the session
    "sessions.demand_list": r("/sessions/<int:session_id>/demand", SESSION_SCOPED, "/sessions/{session}/demand",
                              get=table(403, buyer=200), body={"requests": "{request}"}),
    "sessions.demand_detach": r("/sessions/<int:session_id>/demand/detach", SESSION_SCOPED,
                                "/sessions/{session}/demand/detach", post=table(403, buyer=OK),
                                body={"request_id": "{session_request}"}),
    "sessions.demand_new": r("/sessions/<int:session_id>/demand/new", SESSION_SCOPED, "/sessions/{session}/demand/new",
                             get=table(403, buyer=200)),
    "sessions.demand_import_upload": r("/sessions/<int:session_id>/demand/import", SESSION_SCOPED,
                                       "/sessions/{session}/demand/import", get=table(403, buyer=200)),
    "sessions.demand_import_job": r("/sessions/<int:session_id>/demand/import/<int:job_id>", SESSION_SCOPED,
                                    "/sessions/{session}/demand/import/{sourcing_job}", get=table(403, buyer=200)),
    "sessions.demand_import_progress": r("/sessions/<int:session_id>/demand/import/<int:job_id>/progress",
                                         SESSION_SCOPED, "/sessions/{session}/demand/import/{sourcing_job}/progress",
                                         get=table(403, buyer=200)),
    "sessions.demand_import_problems": r(
        "/sessions/<int:session_id>/demand/import/<int:job_id>/problems.<any(csv, xlsx):fmt>", SESSION_SCOPED,
        "/sessions/{session}/demand/import/{sourcing_job}/problems.csv", get=table(403, buyer=200)),
    "sessions.demand_import_commit": r("/sessions/<int:session_id>/demand/import/<int:job_id>/commit", SESSION_SCOPED,
                                       "/sessions/{session}/demand/import/{sourcing_job}/commit",
                                       post=table(403, buyer=OK)),
    "sessions.demand_import_cancel": r("/sessions/<int:session_id>/demand/import/<int:job_id>/cancel", SESSION_SCOPED,
                                       "/sessions/{session}/demand/import/{sourcing_job}/cancel",
                                       post=table(403, buyer=OK)),
    # the match board, meetings and schedules: participants (A, host B) and the organizer
    "sessions.board": r("/sessions/<int:session_id>/board", SESSION_SCOPED, "/sessions/{session}/board",
                        get=SESSION_PEOPLE),
    "sessions.board_book": r("/sessions/<int:session_id>/board/meet", SESSION_SCOPED,
                             "/sessions/{session}/board/meet?request={session_request}&product={product}",
                             get=SESSION_PEOPLE, body={"slot": "{slot}"}),
    "sessions.board_intent": r("/sessions/<int:session_id>/board/intent", SESSION_SCOPED,
                               "/sessions/{session}/board/intent?request={session_request}&product={product}",
                               get=table(404, buyer=200)),
    "sessions.board_cancel": r("/sessions/<int:session_id>/meetings/<int:meeting_id>/cancel", SESSION_SCOPED,
                               "/sessions/{session}/meetings/{meeting}/cancel", get=SESSION_PEOPLE),
    "sessions.board_schedule": r("/sessions/<int:session_id>/schedule", SESSION_SCOPED, "/sessions/{session}/schedule",
                                 get=SESSION_PEOPLE),
    "sessions.board_tables": r("/sessions/<int:session_id>/schedule/tables", (ORGANIZER, SESSION_SCOPED),
                               "/sessions/{session}/schedule/tables", get=table(404, organizer=200)),
    "sessions.follow_ups": r("/sessions/follow-ups", LOGIN, get=table(200)),
    "sessions.follow_up": r("/sessions/follow-ups/<int:follow_up_id>", COMPANY_SCOPED,
                            "/sessions/follow-ups/{follow_up}", get=company_a(200, rest=404),
                            body={"outcome": "signed"}),
    # ---------------------------------------------------------------- sourcing
    "sourcing.index": r("/sourcing/", LOGIN, get=table(302)),
    "sourcing.board": r("/sourcing/board", EXPORTER, get=exporters()),
    "sourcing.my_quotes": r("/sourcing/quotes/mine", EXPORTER, get=exporters()),
    "sourcing.my_requests": r("/sourcing/requests/mine", BUYER, get=buyers()),
    "sourcing.post_request": r("/sourcing/requests/new", BUYER, get=buyers()),
    # B's public open request: exporters may read it; other buyers and organizers: as if it did not exist
    "sourcing.request_page": r("/sourcing/requests/<int:request_id>", COMPANY_SCOPED, "/sourcing/requests/{request}",
                               get=table(404, exporter=200, member=200, buyer=200, other_exporter=200)),
    "sourcing.request_attachment": r("/sourcing/attachments/<int:attachment_id>", COMPANY_SCOPED,
                                     "/sourcing/attachments/{attachment}",
                                     get=table(404, exporter=200, member=200, buyer=200, other_exporter=200)),
    "sourcing.request_act": r("/sourcing/requests/<int:request_id>/act", COMPANY_SCOPED,
                              "/sourcing/requests/{request}/act", post=table(403, buyer=OK, other_buyer=404),
                              body={"action": "close", "version": "1", "note": "authz"}),
    "sourcing.edit_request": r("/sourcing/requests/<int:request_id>/edit", COMPANY_SCOPED,
                               "/sourcing/requests/{request}/edit", get=table(404, buyer=200)),
    "sourcing.submit_quote": r("/sourcing/requests/<int:request_id>/quote", (EXPORTER, COMPANY_SCOPED),
                               "/sourcing/requests/{request}/quote",
                               post=table(404, exporter=OK, member=OK, other_exporter=OK, buyer=403), body=QUOTE_FORM),
    "sourcing.compare": r("/sourcing/requests/<int:request_id>/quotes", COMPANY_SCOPED,
                          "/sourcing/requests/{request}/quotes", get=table(404, buyer=200)),
    "sourcing.export_quotes": r("/sourcing/requests/<int:request_id>/quotes.xlsx", COMPANY_SCOPED,
                                "/sourcing/requests/{request}/quotes.xlsx", get=table(404, buyer=200)),
    "sourcing.quote_page": r("/sourcing/quotes/<int:quote_id>", COMPANY_SCOPED, "/sourcing/quotes/{quote}",
                             get=A_INTENT),
    "sourcing.quote_attachment": r("/sourcing/quotes/<int:quote_id>/attachment", COMPANY_SCOPED,
                                   "/sourcing/quotes/{quote}/attachment", get=A_INTENT),
    "sourcing.revise_quote": r("/sourcing/quotes/<int:quote_id>/revise", COMPANY_SCOPED,
                               "/sourcing/quotes/{quote}/revise", post=table(404, exporter=OK, member=OK, buyer=403),
                               body=QUOTE_FORM),
    # shortlisting is the buyer's step: A's users are refused
    "sourcing.quote_act": r("/sourcing/quotes/<int:quote_id>/act", COMPANY_SCOPED, "/sourcing/quotes/{quote}/act",
                            post=table(404, exporter=403, member=403, buyer=OK),
                            body={"action": "shortlist", "version": "1"}),
    "sourcing.import_template": r("/sourcing/requests/template.<any(csv, xlsx):fmt>", PUBLIC,
                                  "/sourcing/requests/template.csv", get=table(200)),
    "sourcing.import_upload": r("/sourcing/requests/import", BUYER, get=buyers()),
    "sourcing.import_job": r("/sourcing/requests/import/<int:job_id>", (BUYER, COMPANY_SCOPED),
                             "/sourcing/requests/import/{sourcing_job}", get=table(403, buyer=200, other_buyer=404)),
    "sourcing.import_progress": r("/sourcing/requests/import/<int:job_id>/progress", (BUYER, COMPANY_SCOPED),
                                  "/sourcing/requests/import/{sourcing_job}/progress",
                                  get=table(403, buyer=200, other_buyer=404)),
    "sourcing.import_problems": r("/sourcing/requests/import/<int:job_id>/problems.<any(csv, xlsx):fmt>",
                                  (BUYER, COMPANY_SCOPED), "/sourcing/requests/import/{sourcing_job}/problems.csv",
                                  get=table(403, buyer=200, other_buyer=404)),
    "sourcing.import_commit": r("/sourcing/requests/import/<int:job_id>/commit", (BUYER, COMPANY_SCOPED),
                                "/sourcing/requests/import/{sourcing_job}/commit",
                                post=table(403, buyer=OK, other_buyer=404)),
    "sourcing.import_cancel": r("/sourcing/requests/import/<int:job_id>/cancel", (BUYER, COMPANY_SCOPED),
                                "/sourcing/requests/import/{sourcing_job}/cancel",
                                post=table(403, buyer=OK, other_buyer=404)),
    # ---------------------------------------------------------------- the API's documentation (public)
    "api_docs.index": r("/api/v1/", PUBLIC, get=table(200)),
    "api_docs.docs": r("/api/v1/docs", PUBLIC, get=table(200)),
    "api-docs.openapi_json": r("/api/v1/openapi.json", PUBLIC, get=table(200)),
    # ---------------------------------------------------------------- /api/v1 operations
    "api_companies.own_company": api("/api/v1/companies/me"),
    "api_companies.company": api("/api/v1/companies/<int:company_id>"),
    "api_products.search_products": api("/api/v1/products"),
    "api_products.create_product": api("/api/v1/products"),
    "api_products.my_products": api("/api/v1/products/mine"),
    "api_products.bulk_upsert": api("/api/v1/products/bulk"),
    "api_products.product": api("/api/v1/products/<int:product_id>"),
    "api_products.update_product": api("/api/v1/products/<int:product_id>"),
    "api_products.publish_product": api("/api/v1/products/<int:product_id>/publish"),
    "api_products.archive_product": api("/api/v1/products/<int:product_id>/archive"),
    "api_products.add_image": api("/api/v1/products/<int:product_id>/images"),
    "api_products.delete_image": api("/api/v1/products/<int:product_id>/images/<int:image_id>"),
    "api_matches.product_matches": api("/api/v1/products/<int:product_id>/matches"),
    "api_catalog_imports.upload": api("/api/v1/catalog/imports"),
    "api_catalog_imports.job": api("/api/v1/catalog/imports/<int:job_id>"),
    "api_catalog_imports.problems": api("/api/v1/catalog/imports/<int:job_id>/problems"),
    "api_catalog_imports.commit": api("/api/v1/catalog/imports/<int:job_id>/commit"),
    "api_catalog_imports.cancel": api("/api/v1/catalog/imports/<int:job_id>/cancel"),
    "api_procurement.list_requests": api("/api/v1/requests"),
    "api_procurement.create_request": api("/api/v1/requests"),
    "api_procurement.read_request": api("/api/v1/requests/<int:request_id>"),
    "api_procurement.edit_request": api("/api/v1/requests/<int:request_id>"),
    "api_procurement.publish_request": api("/api/v1/requests/<int:request_id>/publish"),
    "api_procurement.close_request": api("/api/v1/requests/<int:request_id>/close"),
    "api_procurement.award_request": api("/api/v1/requests/<int:request_id>/award"),
    "api_procurement.compare_quotes": api("/api/v1/requests/<int:request_id>/quotes"),
    "api_matches.request_matches": api("/api/v1/requests/<int:request_id>/matches"),
    "api_matches.explain_pair": api("/api/v1/requests/<int:request_id>/matches/<int:product_id>"),
    "api_quotes.list_quotes": api("/api/v1/quotes"),
    "api_quotes.create_quote": api("/api/v1/quotes"),
    "api_quotes.read_quote": api("/api/v1/quotes/<int:quote_id>"),
    "api_quotes.revise_quote": api("/api/v1/quotes/<int:quote_id>"),
    "api_quotes.withdraw_quote": api("/api/v1/quotes/<int:quote_id>/withdraw"),
    "api_quotes.shortlist_quote": api("/api/v1/quotes/<int:quote_id>/shortlist"),
    "api_quotes.decline_quote": api("/api/v1/quotes/<int:quote_id>/decline"),
    "api_intents.list_intents": api("/api/v1/intents"),
    "api_intents.create_intent": api("/api/v1/intents"),
    "api_intents.read_intent": api("/api/v1/intents/<int:intent_id>"),
    "api_intents.transition_intent": api("/api/v1/intents/<int:intent_id>/transitions"),
    "api_intents.list_messages": api("/api/v1/intents/<int:intent_id>/messages"),
    "api_intents.post_message": api("/api/v1/intents/<int:intent_id>/messages"),
    "api_notifications.list_notifications": api("/api/v1/notifications"),
    "api_notifications.unread_count": api("/api/v1/notifications/unread-count"),
    "api_notifications.mark_read": api("/api/v1/notifications/<int:notification_id>/read"),
    "api_notifications.mark_all_read": api("/api/v1/notifications/read-all"),
    # ---------------------------------------------------------------- operations (marketplace/ops)
    "ops.healthz": r("/healthz", PUBLIC, get=table(200)),
    "ops.readyz": r("/readyz", PUBLIC, get=table(200)),
    "ops.metrics": r("/metrics", TOKEN_OR_LOOPBACK),
    # ---------------------------------------------------------------- files
    "static": r("/static/<path:filename>", STATIC, "/static/css/app.css"),
    "bootstrap.static": r("/bootstrap/static/<path:filename>", STATIC, "/bootstrap/static/css/bootstrap.min.css"),
}

#: the API rules that are not operations of the OpenAPI document
API_DOCUMENT_PAGES = {"api_docs.index", "api_docs.docs", "api-docs.openapi_json"}
#: tables a refused request may still touch: a signed-in POST records "last seen" on its login session
VOLATILE_TABLES = {"user_sessions"}


# --------------------------------------------------------------------------- the site: one app and world per module


@dataclass
class Site:
    app: object
    ids: dict
    clients: dict  # actor → a signed-in test client (English)
    tokens: dict  # actor → its session's CSRF token
    anonymous: object  # a client that never signs in, and its CSRF token
    anonymous_token: str


@pytest.fixture(scope="module")
def site(request, tmp_path_factory):
    """One app per database (the tests' ``site`` parameter) with the world built and every actor signed in; the
    tests only read, or are refused."""
    backend = request.param
    tmp = tmp_path_factory.mktemp(f"authz-{backend}")
    uri = _pg_url(request.getfixturevalue("pg_schema")) if backend == "postgresql" else f"sqlite:///{tmp / 'test.db'}"
    app = create_app(make_test_config(tmp, uri, RATELIMIT_ENABLED=False))  # eight log-ins a minute, twice
    with app.app_context():
        if backend == "postgresql":
            db.drop_all()
        db.create_all()
        ids = dict(build_world())
        db.session.remove()
    ids.update(later="2099-12-31", checkin_code=ids["checkin_token"][:8], slot="2099-12-31T09:00:00+08:00",
               other_buyer_company=_company_of(app, ids["other_buyer_user"]))
    clients, tokens = {}, {}
    for actor in ACTORS:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        assert login(client, ids[actor + "_email"]).status_code == 200
        clients[actor] = client
        tokens[actor] = _csrf(client)
    anonymous = app.test_client()
    anonymous.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    yield Site(app, ids, clients, tokens, anonymous, _csrf(anonymous))
    with app.app_context():
        db.session.remove()
        if backend == "postgresql":
            db.drop_all()
        db.engine.dispose()


def _company_of(app, user_id: int) -> int:
    from marketplace.accounts.models import User

    with app.app_context():
        return db.session.get(User, user_id).company_id


def _csrf(client) -> str:
    match = CSRF_RE.search(client.get("/").get_data(as_text=True))
    assert match, "no CSRF token on the home page"
    return match.group(1)


def _fill(template: str, ids: dict) -> str:
    filled = template.format_map(ids)
    assert "{" not in filled, filled
    return filled


def _snapshot(app) -> dict[str, int]:
    """A fingerprint of every table's rows (but the volatile ones)."""
    state = {}
    with app.app_context(), db.engine.connect() as conn:
        for table_ in db.metadata.sorted_tables:
            if table_.name not in VOLATILE_TABLES:
                state[table_.name] = hash(tuple(sorted(repr(tuple(row)) for row in conn.execute(sa.select(table_)))))
    return state


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


def _rules_by_endpoint(app) -> dict[str, list]:
    found: dict[str, list] = {}
    for rule in app.url_map.iter_rules():
        found.setdefault(rule.endpoint, []).append(rule)
    return found


# --------------------------------------------------------------------------- the inventory is complete


def _on(backend: str, *values, id: str):
    """A case on ``backend``: all of one database's cases run on one xdist worker, which builds its world once."""
    return pytest.param(backend, *values, id=id, marks=pytest.mark.xdist_group(f"route-authorization-{backend}"))


BOTH = pytest.mark.parametrize("site", [_on(backend, id=backend) for backend in _backends()], indirect=True,
                               scope="module")


@BOTH
def test_every_rule_has_an_authorization_entry(site):
    missing, renamed = [], []
    for endpoint, rules in _rules_by_endpoint(site.app).items():
        for rule in rules:
            route = INVENTORY.get(endpoint)
            if route is None:
                missing.append(f"{endpoint} {rule.rule} {sorted(rule.methods - {'HEAD', 'OPTIONS'})}")
            elif route.rule != rule.rule:
                renamed.append(f"{endpoint}: the inventory says {route.rule}, the URL map {rule.rule}")
    assert not missing, (
        "routes without an authorization entry: add each to INVENTORY in tests/test_route_authorization.py "
        "(its access class, a URL built from tests/authz_world.py and what each actor gets), and to "
        "docs/security.md if it is a new kind of access:\n  " + "\n  ".join(missing))
    assert not renamed, "\n".join(renamed)
    gone = sorted(set(INVENTORY) - set(_rules_by_endpoint(site.app)))
    assert not gone, f"inventory entries for routes that no longer exist (remove them): {gone}"


def test_inventory_entries_are_well_formed():
    for name, route in INVENTORY.items():
        assert set(route.access) <= CLASSES, (name, route.access)
        if set(route.access) & (SIGNED_IN | {PUBLIC, ANONYMOUS_ONLY, EMAILED_TOKEN}):
            assert route.get is not None or route.post is not None, f"{name}: nothing to exercise"
        for expected in (route.get, route.post):
            assert expected is None or set(expected) == set(ACTORS), name
        if EMAILED_TOKEN in route.access:
            assert route.forged, f"{name}: an e-mailed link needs a forged twin"


@BOTH
def test_api_rules_are_in_the_openapi_document(site):
    """Every /api/v1 rule but the document's own pages is an operation of the document, so the authorization
    matrix (tests/api/test_authorization_matrix.py), which fails on an operation without a row, covers it."""
    document = site.clients["exporter"].get("/api/v1/openapi.json").get_json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    absent = []
    for rule in site.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint in API_DOCUMENT_PAGES:
            continue
        assert INVENTORY[rule.endpoint].access == (TOKEN,), rule.endpoint
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        absent += [f"{method} {path}" for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
                   if (method, path) not in operations]
    assert not absent, f"API rules missing from the OpenAPI document (and so from the matrix): {absent}"


# --------------------------------------------------------------------------- each route, exercised


def _check_anonymous(site, route: Route, rule, url: str) -> list[str]:
    failures = []
    anonymous = site.anonymous
    access = set(route.access)
    if TOKEN in access:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for who, client in (("anonymous", anonymous), ("a signed-in browser", site.clients["exporter"])):
                answer = client.open(url, method=method)
                if answer.status_code != 401 or answer.mimetype != "application/problem+json":
                    failures.append(f"{who} {method} {url} without a token: {answer.status_code} {answer.mimetype}")
        return failures
    if "GET" in rule.methods:
        answer = anonymous.get(url)
        if access & SIGNED_IN and route.anonymous is None:
            location = answer.headers.get("Location", "")
            if answer.status_code != 302 or not location.startswith("/account/login?next="):
                failures.append(f"anonymous GET {url}: {answer.status_code} {location!r}, expected the login page")
        else:
            expected = route.anonymous or 200
            if answer.status_code != expected:
                failures.append(f"anonymous GET {url}: {answer.status_code}, expected {expected}")
        if route.forged and (status := anonymous.get(route.forged).status_code) != 400:
            failures.append(f"anonymous GET {route.forged} (a forged link): {status}, expected 400")
    if "POST" in rule.methods:
        answer = anonymous.post(url, data=_body(site, route))
        if answer.status_code != 400:
            failures.append(f"anonymous POST {url} without a CSRF token: {answer.status_code}, expected 400")
        if access & SIGNED_IN:
            answer = anonymous.post(url, data={**_body(site, route), "csrf_token": site.anonymous_token})
            if not answer.headers.get("Location", "").startswith("/account/login?next="):
                failures.append(f"anonymous POST {url} with a CSRF token: {answer.status_code}, expected the login page")
    return failures


def _body(site, route: Route) -> dict:
    return {key: _fill(value, site.ids) for key, value in route.body.items()}


def _check_signed_in(site, route: Route, rule, url: str) -> list[str]:
    failures = []
    if route.get is not None:
        for actor, expected in route.get.items():
            answer = site.clients[actor].get(url)
            if answer.status_code != expected:
                failures.append(f"{actor} GET {url}: {answer.status_code}, expected {expected}")
            elif b"Traceback" in answer.data:
                failures.append(f"{actor} GET {url}: a traceback")
            failures += [f"{actor} GET {url}: {problem}" for problem in _header_problems(answer, url)]
    if "POST" in rule.methods:
        expected_posts = route.post if route.post is not None else {
            actor: (status if status in REFUSED else OK) for actor, status in (route.get or {}).items()}
        for actor, expected in expected_posts.items():
            if expected != OK:
                answer = site.clients[actor].post(url, data={**_body(site, route), "csrf_token": site.tokens[actor]})
                if answer.status_code != expected:
                    failures.append(f"{actor} POST {url}: {answer.status_code}, expected {expected}")
    return failures


def _header_problems(answer, url: str) -> list[str]:
    """What every answer to a signed-in browser carries: no sniffing, the CSP on pages, and no page kept by a
    cache (but the API's documentation, which reads no cookie and is the same for everyone)."""
    problems = []
    if answer.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if answer.mimetype == "text/html":
        if not url.startswith("/api/") and "no-store" not in answer.headers.get("Cache-Control", ""):
            problems.append(f"a signed-in page with Cache-Control {answer.headers.get('Cache-Control')!r}")
        if "frame-ancestors 'none'" not in answer.headers.get("Content-Security-Policy", ""):
            problems.append("a page without the Content-Security-Policy")
    return problems


def _check_metrics(site, url: str) -> list[str]:
    """Operations figures (no METRICS_TOKEN set here): the machine itself only, never a caller from outside."""
    failures = []
    outsider = site.app.test_client()
    outsider.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    if (status := outsider.get(url).status_code) not in (401, 403, 404):
        failures.append(f"GET {url} from 203.0.113.7: {status}, expected a refusal")
    if (status := site.app.test_client().get(url).status_code) != 200:  # the test client is 127.0.0.1
        failures.append(f"GET {url} from the loopback address: {status}, expected 200")
    relayed = site.app.test_client().get(url, headers={"X-Forwarded-For": "203.0.113.7"})
    if relayed.status_code not in (401, 403, 404):  # a proxy on this host relaying an outsider (none trusted)
        failures.append(f"GET {url} relayed for 203.0.113.7 by a local proxy: {relayed.status_code}")
    return failures


def _cases():
    """Every entry on SQLite; on PostgreSQL the scoped ones, whose rule is a query (the role checks, the token
    check and public pages are the same Python on both)."""
    for backend in _backends():
        for name in sorted(INVENTORY):
            if backend == "sqlite" or {COMPANY_SCOPED, SESSION_SCOPED} & set(INVENTORY[name].access):
                yield _on(backend, name, id=f"{backend}-{name}")


@pytest.mark.parametrize("site, name", _cases(), indirect=["site"], scope="module")
def test_route_authorization(site, name):
    route = INVENTORY[name]
    rules = [rule for rule in site.app.url_map.iter_rules() if rule.endpoint == name]
    assert len(rules) == 1, f"{name}: {len(rules)} rules (see test_every_rule_has_an_authorization_entry)"
    (rule,) = rules
    url = _fill(route.url, site.ids)
    adapter = site.app.url_map.bind("localhost")
    method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    endpoint, _args = adapter.match(url.split("?")[0], method=method)
    assert endpoint == rule.endpoint, f"{url} is {endpoint}, not {rule.endpoint}"
    if STATIC in route.access:
        assert site.app.test_client().get(url).status_code == 200
        return
    if TOKEN_OR_LOOPBACK in route.access:
        failures = _check_metrics(site, url)
        assert not failures, "\n".join(failures)
        return
    before = _snapshot(site.app) if "POST" in rule.methods else None
    failures = _check_anonymous(site, route, rule, url) + _check_signed_in(site, route, rule, url)
    if before is not None and (changed := _changed(before, _snapshot(site.app))):
        failures.append(f"refused POSTs to {url} (anonymous, and the actors refused above) changed {changed}")
    assert not failures, f"{name} ({' + '.join(route.access)}):\n  " + "\n  ".join(failures)
