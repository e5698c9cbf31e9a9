"""The order-intent state machine, in one place: which party may do what from which state.

Owns: the states, the actions, the table of allowed transitions and what each requires.
Pure: imports no models and touches no database; services ask it and obey.

    draft → submitted → accepted → signed → fulfilled
                │  ↑ ↓   (any state before signed) → withdrawn (buyer) / declined (exporter)
                └→ countered (exporter proposes other terms; buyer accepts → accepted, or counters back)
    submitted / countered past valid-until → expired

``submitted`` means the exporter's turn (the buyer's terms stand), ``countered`` the buyer's
(the exporter's terms stand); a counter by the buyer sends the intent back to ``submitted``.
Signing needs both sides: the first signature keeps the intent ``accepted``, the second makes
it ``signed``.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from marketplace.i18n import _l


class IntentState(enum.Enum):
    """Where an order intent stands."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    COUNTERED = "countered"
    ACCEPTED = "accepted"
    SIGNED = "signed"
    FULFILLED = "fulfilled"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"
    EXPIRED = "expired"

    @property
    def label(self):
        return STATE_LABELS[self]

    @property
    def colour(self) -> str:
        """The Bootstrap colour of its badge."""
        return STATE_COLOURS[self]

    @property
    def is_closed(self) -> bool:
        """No party can act any more."""
        return self in CLOSED_STATES


STATE_LABELS = {
    IntentState.DRAFT: _l("Draft"),
    IntentState.SUBMITTED: _l("Awaiting the exporter"),
    IntentState.COUNTERED: _l("Counter-offer: awaiting the buyer"),
    IntentState.ACCEPTED: _l("Accepted"),
    IntentState.SIGNED: _l("Signed"),
    IntentState.FULFILLED: _l("Fulfilled"),
    IntentState.WITHDRAWN: _l("Withdrawn"),
    IntentState.DECLINED: _l("Declined"),
    IntentState.EXPIRED: _l("Expired"),
}
CLOSED_STATES = frozenset({IntentState.FULFILLED, IntentState.WITHDRAWN, IntentState.DECLINED, IntentState.EXPIRED})
#: states that wait for an answer and lapse at valid-until
EXPIRING_STATES = frozenset({IntentState.SUBMITTED, IntentState.COUNTERED})
#: still being negotiated: a second intent of the same buyer on the same product is likely a duplicate
OPEN_STATES = frozenset({IntentState.DRAFT, IntentState.SUBMITTED, IntentState.COUNTERED, IntentState.ACCEPTED})
#: both sides have agreed: each may see the other's contact details
CONTACT_STATES = frozenset({IntentState.ACCEPTED, IntentState.SIGNED, IntentState.FULFILLED})
#: states the exporter sees; a draft is the buyer's alone
EXPORTER_VISIBLE = frozenset(set(IntentState) - {IntentState.DRAFT})
#: state badge colours (Bootstrap text-bg-*)
STATE_COLOURS = {
    IntentState.DRAFT: "secondary",
    IntentState.SUBMITTED: "primary",
    IntentState.COUNTERED: "warning",
    IntentState.ACCEPTED: "info",
    IntentState.SIGNED: "success",
    IntentState.FULFILLED: "success",
    IntentState.WITHDRAWN: "dark",
    IntentState.DECLINED: "danger",
    IntentState.EXPIRED: "secondary",
}


class Party(enum.Enum):
    """The actor's side of the intent."""

    BUYER = "buyer"
    EXPORTER = "exporter"
    OUTSIDER = "outsider"  # any other company: sees nothing
    SYSTEM = "system"  # expiry


class Action(enum.Enum):
    """What a party does to an intent."""

    CREATE = "create"
    SUBMIT = "submit"
    COUNTER = "counter"
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    SIGN = "sign"
    FULFIL = "fulfil"
    EXPIRE = "expire"

    @property
    def label(self):
        return ACTION_LABELS[self]


ACTION_LABELS = {
    Action.CREATE: _l("Created"),
    Action.SUBMIT: _l("Send to the exporter"),
    Action.COUNTER: _l("Counter-offer"),
    Action.ACCEPT: _l("Accept"),
    Action.DECLINE: _l("Decline"),
    Action.WITHDRAW: _l("Withdraw"),
    Action.SIGN: _l("Sign"),
    Action.FULFIL: _l("Mark fulfilled"),
    Action.EXPIRE: _l("Expired"),
}
#: actions a person chooses on the intent page (create and expire are not buttons)
USER_ACTIONS = (Action.SUBMIT, Action.ACCEPT, Action.COUNTER, Action.SIGN, Action.FULFIL,
                Action.WITHDRAW, Action.DECLINE)


@dataclass(frozen=True)
class Rule:
    """One allowed move: from a state, by a party, to a state, with what it needs."""

    action: Action
    source: IntentState
    party: Party
    target: IntentState
    needs_terms: bool = False  # new quantity / unit price / delivery date
    needs_reason: bool = False  # a note saying why


_S = IntentState
RULES: tuple[Rule, ...] = (
    Rule(Action.SUBMIT, _S.DRAFT, Party.BUYER, _S.SUBMITTED),
    Rule(Action.WITHDRAW, _S.DRAFT, Party.BUYER, _S.WITHDRAWN),
    Rule(Action.ACCEPT, _S.SUBMITTED, Party.EXPORTER, _S.ACCEPTED),
    Rule(Action.COUNTER, _S.SUBMITTED, Party.EXPORTER, _S.COUNTERED, needs_terms=True),
    Rule(Action.DECLINE, _S.SUBMITTED, Party.EXPORTER, _S.DECLINED, needs_reason=True),
    Rule(Action.WITHDRAW, _S.SUBMITTED, Party.BUYER, _S.WITHDRAWN),
    Rule(Action.EXPIRE, _S.SUBMITTED, Party.SYSTEM, _S.EXPIRED),
    Rule(Action.ACCEPT, _S.COUNTERED, Party.BUYER, _S.ACCEPTED),
    Rule(Action.COUNTER, _S.COUNTERED, Party.BUYER, _S.SUBMITTED, needs_terms=True),
    Rule(Action.DECLINE, _S.COUNTERED, Party.EXPORTER, _S.DECLINED, needs_reason=True),
    Rule(Action.WITHDRAW, _S.COUNTERED, Party.BUYER, _S.WITHDRAWN),
    Rule(Action.EXPIRE, _S.COUNTERED, Party.SYSTEM, _S.EXPIRED),
    # signing: the target is SIGNED once both have signed (the service keeps ACCEPTED after the first)
    Rule(Action.SIGN, _S.ACCEPTED, Party.BUYER, _S.SIGNED),
    Rule(Action.SIGN, _S.ACCEPTED, Party.EXPORTER, _S.SIGNED),
    Rule(Action.DECLINE, _S.ACCEPTED, Party.EXPORTER, _S.DECLINED, needs_reason=True),
    Rule(Action.WITHDRAW, _S.ACCEPTED, Party.BUYER, _S.WITHDRAWN),
    Rule(Action.FULFIL, _S.SIGNED, Party.BUYER, _S.FULFILLED),
    Rule(Action.FULFIL, _S.SIGNED, Party.EXPORTER, _S.FULFILLED),
)
_BY_KEY = {(rule.action, rule.source, rule.party): rule for rule in RULES}


def find_rule(action: Action, state: IntentState, party: Party) -> Rule | None:
    """The rule letting ``party`` do ``action`` from ``state``, or None when it is not allowed."""
    return _BY_KEY.get((action, state, party))


def allowed_actions(state: IntentState, party: Party) -> list[Action]:
    """The actions ``party`` may choose from ``state``, in button order."""
    return [action for action in USER_ACTIONS if (action, state, party) in _BY_KEY]
