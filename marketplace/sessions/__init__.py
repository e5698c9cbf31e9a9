"""Matchmaking sessions (专场对接会): registration, check-in, the hosts' demand list, the match board,
1:1 meeting slots and the follow-up of the intents made there.

Named ``sessions`` (a package), never imported as a bare ``session``: ``flask.session`` keeps its name.
The blueprint lives in views.py; board_views.py adds the match board and meeting routes to it.
"""
