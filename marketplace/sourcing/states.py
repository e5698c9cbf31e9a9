"""The procurement-request and quote lifecycles, in one place: who may do what from which state.

Owns: the states, the actions, the tables of allowed transitions, and the vocabularies a request
is written in (visibility, readiness items). Pure: imports no models and touches no database;
services ask it and obey, templates ask it for buttons.

    request:  draft → open → closed / awarded          open past its deadline → expired
              (closed and expired requests can still be awarded from the quotes they received)
    quote:    submitted ⇄ shortlisted → awarded / declined (buyer) / withdrawn (exporter)
              an exporter revises or withdraws only while the request is open
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from marketplace.i18n import _l


class RequestState(enum.Enum):
    """Where a procurement request stands."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    AWARDED = "awarded"
    EXPIRED = "expired"

    @property
    def label(self):
        return REQUEST_STATE_LABELS[self]

    @property
    def colour(self) -> str:
        """The Bootstrap colour of its badge."""
        return REQUEST_STATE_COLOURS[self]


REQUEST_STATE_LABELS = {
    RequestState.DRAFT: _l("Draft"),
    RequestState.OPEN: _l("Open for quotes"),
    RequestState.CLOSED: _l("Closed"),
    RequestState.AWARDED: _l("Awarded"),
    RequestState.EXPIRED: _l("Deadline passed"),
}
REQUEST_STATE_COLOURS = {
    RequestState.DRAFT: "secondary",
    RequestState.OPEN: "primary",
    RequestState.CLOSED: "dark",
    RequestState.AWARDED: "success",
    RequestState.EXPIRED: "secondary",
}
#: states an exporter may see (a draft is the buyer's alone)
PUBLISHED_STATES = frozenset(set(RequestState) - {RequestState.DRAFT})


class Visibility(enum.Enum):
    """Who may see a published request."""

    PUBLIC = "public"  # every verified exporter
    INVITED = "invited"  # only the exporters the buyer invited

    @property
    def label(self):
        return {Visibility.PUBLIC: _l("Every verified exporter"),
                Visibility.INVITED: _l("Invited exporters only")}[self]


#: the domestic-readiness checklist a request can require (the catalog product's four checks)
READINESS_ITEMS: tuple[tuple[str, object], ...] = (
    ("ccc", _l("China Compulsory Certification (CCC)")),
    ("gb_standard", _l("Meets the GB standard")),
    ("chinese_label", _l("Chinese label and packaging ready")),
    ("vat_invoice", _l("Can issue special VAT invoices (增值税专用发票)")),
)
READINESS_CODES = tuple(code for code, _label in READINESS_ITEMS)
READINESS_LABELS = dict(READINESS_ITEMS)


class QuoteState(enum.Enum):
    """Where an exporter's quote stands."""

    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    AWARDED = "awarded"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return QUOTE_STATE_LABELS[self]

    @property
    def colour(self) -> str:
        """The Bootstrap colour of its badge."""
        return QUOTE_STATE_COLOURS[self]

    @property
    def is_live(self) -> bool:
        """Still in the running (counted, compared, notified)."""
        return self in LIVE_QUOTE_STATES


QUOTE_STATE_LABELS = {
    QuoteState.SUBMITTED: _l("Quoted"),
    QuoteState.SHORTLISTED: _l("Shortlisted"),
    QuoteState.AWARDED: _l("Awarded"),
    QuoteState.DECLINED: _l("Declined"),
    QuoteState.WITHDRAWN: _l("Withdrawn"),
}
QUOTE_STATE_COLOURS = {
    QuoteState.SUBMITTED: "primary",
    QuoteState.SHORTLISTED: "info",
    QuoteState.AWARDED: "success",
    QuoteState.DECLINED: "danger",
    QuoteState.WITHDRAWN: "secondary",
}
LIVE_QUOTE_STATES = frozenset({QuoteState.SUBMITTED, QuoteState.SHORTLISTED})


class Party(enum.Enum):
    """The actor's side of a request or quote."""

    BUYER = "buyer"  # the request's company
    EXPORTER = "exporter"  # the quote's company
    SYSTEM = "system"  # expiry


class RequestAction(enum.Enum):
    """What happens to a request."""

    CREATE = "create"
    EDIT = "edit"
    PUBLISH = "publish"
    CLOSE = "close"
    AWARD = "award"
    EXPIRE = "expire"

    @property
    def label(self):
        return {
            RequestAction.CREATE: _l("Created"),
            RequestAction.EDIT: _l("Edited"),
            RequestAction.PUBLISH: _l("Request published"),
            RequestAction.CLOSE: _l("Closed"),
            RequestAction.AWARD: _l("Awarded"),
            RequestAction.EXPIRE: _l("Deadline passed"),
        }[self]


    @property
    def verb(self):
        """The action as a verb, for messages saying it is not possible."""
        return {
            RequestAction.CREATE: _l("post"),
            RequestAction.EDIT: _l("Edit"),
            RequestAction.PUBLISH: _l("Publish the request"),
            RequestAction.CLOSE: _l("Close"),
            RequestAction.AWARD: _l("Award"),
            RequestAction.EXPIRE: _l("expire"),
        }[self]


class QuoteAction(enum.Enum):
    """What happens to a quote."""

    SUBMIT = "submit"
    REVISE = "revise"
    WITHDRAW = "withdraw"
    SHORTLIST = "shortlist"
    DECLINE = "decline"
    AWARD = "award"

    @property
    def label(self):
        return {
            QuoteAction.SUBMIT: _l("Quoted"),
            QuoteAction.REVISE: _l("Revised"),
            QuoteAction.WITHDRAW: _l("Withdrawn"),
            QuoteAction.SHORTLIST: _l("Shortlisted"),
            QuoteAction.DECLINE: _l("Declined"),
            QuoteAction.AWARD: _l("Awarded"),
        }[self]

    @property
    def verb(self):
        """The action as a verb, for messages saying it is not possible."""
        return {
            QuoteAction.SUBMIT: _l("Send the quote"),
            QuoteAction.REVISE: _l("Revise the quote"),
            QuoteAction.WITHDRAW: _l("Withdraw"),
            QuoteAction.SHORTLIST: _l("Shortlist"),
            QuoteAction.DECLINE: _l("Decline"),
            QuoteAction.AWARD: _l("Award"),
        }[self]


@dataclass(frozen=True)
class RequestRule:
    """One allowed move of a request."""

    action: RequestAction
    source: RequestState
    party: Party
    target: RequestState


_R = RequestState
REQUEST_RULES: tuple[RequestRule, ...] = (
    RequestRule(RequestAction.EDIT, _R.DRAFT, Party.BUYER, _R.DRAFT),
    RequestRule(RequestAction.EDIT, _R.OPEN, Party.BUYER, _R.OPEN),
    RequestRule(RequestAction.PUBLISH, _R.DRAFT, Party.BUYER, _R.OPEN),
    RequestRule(RequestAction.CLOSE, _R.DRAFT, Party.BUYER, _R.CLOSED),
    RequestRule(RequestAction.CLOSE, _R.OPEN, Party.BUYER, _R.CLOSED),
    RequestRule(RequestAction.AWARD, _R.OPEN, Party.BUYER, _R.AWARDED),
    RequestRule(RequestAction.AWARD, _R.CLOSED, Party.BUYER, _R.AWARDED),
    RequestRule(RequestAction.AWARD, _R.EXPIRED, Party.BUYER, _R.AWARDED),
    RequestRule(RequestAction.EXPIRE, _R.OPEN, Party.SYSTEM, _R.EXPIRED),
)
_REQUEST_RULES = {(r.action, r.source, r.party): r for r in REQUEST_RULES}


def find_request_rule(action: RequestAction, state: RequestState, party: Party) -> RequestRule | None:
    """The rule letting ``party`` do ``action`` to a request in ``state``, or None."""
    return _REQUEST_RULES.get((action, state, party))


def request_actions(state: RequestState) -> list[RequestAction]:
    """The buttons the buyer has on a request in ``state`` (award is per quote, on the comparison)."""
    return [a for a in (RequestAction.PUBLISH, RequestAction.EDIT, RequestAction.CLOSE)
            if (a, state, Party.BUYER) in _REQUEST_RULES]


@dataclass(frozen=True)
class QuoteRule:
    """One allowed move of a quote, and the request states it needs."""

    action: QuoteAction
    source: QuoteState
    party: Party
    target: QuoteState
    request_states: frozenset
    needs_reason: bool = False


_Q = QuoteState
#: the exporter acts while quoting is open; the buyer decides once quotes are in, until it awards
_QUOTING = frozenset({_R.OPEN})
_DECIDING = frozenset({_R.OPEN, _R.CLOSED, _R.EXPIRED})
QUOTE_RULES: tuple[QuoteRule, ...] = (
    QuoteRule(QuoteAction.SUBMIT, _Q.WITHDRAWN, Party.EXPORTER, _Q.SUBMITTED, _QUOTING),
    QuoteRule(QuoteAction.REVISE, _Q.SUBMITTED, Party.EXPORTER, _Q.SUBMITTED, _QUOTING),
    QuoteRule(QuoteAction.REVISE, _Q.SHORTLISTED, Party.EXPORTER, _Q.SHORTLISTED, _QUOTING),
    QuoteRule(QuoteAction.WITHDRAW, _Q.SUBMITTED, Party.EXPORTER, _Q.WITHDRAWN, _QUOTING),
    QuoteRule(QuoteAction.WITHDRAW, _Q.SHORTLISTED, Party.EXPORTER, _Q.WITHDRAWN, _QUOTING),
    QuoteRule(QuoteAction.SHORTLIST, _Q.SUBMITTED, Party.BUYER, _Q.SHORTLISTED, _DECIDING),
    QuoteRule(QuoteAction.DECLINE, _Q.SUBMITTED, Party.BUYER, _Q.DECLINED, _DECIDING, needs_reason=True),
    QuoteRule(QuoteAction.DECLINE, _Q.SHORTLISTED, Party.BUYER, _Q.DECLINED, _DECIDING, needs_reason=True),
    QuoteRule(QuoteAction.AWARD, _Q.SUBMITTED, Party.BUYER, _Q.AWARDED, _DECIDING),
    QuoteRule(QuoteAction.AWARD, _Q.SHORTLISTED, Party.BUYER, _Q.AWARDED, _DECIDING),
)
_QUOTE_RULES = {(r.action, r.source, r.party): r for r in QUOTE_RULES}


def find_quote_rule(action: QuoteAction, state: QuoteState, party: Party,
                    request_state: RequestState) -> QuoteRule | None:
    """The rule letting ``party`` do ``action`` to a quote in ``state`` on a request in ``request_state``."""
    rule = _QUOTE_RULES.get((action, state, party))
    if rule is None or request_state not in rule.request_states:
        return None
    return rule


def quote_actions(state: QuoteState, party: Party, request_state: RequestState) -> list[QuoteAction]:
    """The actions ``party`` may choose on a quote, in button order."""
    order = (QuoteAction.AWARD, QuoteAction.SHORTLIST, QuoteAction.DECLINE, QuoteAction.REVISE,
             QuoteAction.WITHDRAW, QuoteAction.SUBMIT)
    return [a for a in order if find_quote_rule(a, state, party, request_state) is not None]
