"""The call's state machine, as one table.

::

    connecting ──media──► disclosing ──disclosed──► listening ◄──spoken── speaking
                                                     │   ▲                  ▲
                                              heard  │   └──── reply ───────┤ (nothing to say)
                                                     ▼                      │
                                                  thinking ─────reply───────┘
    any live state ──transfer──► transferring ──ended──► ended
                                 transferring ──came_back──► thinking (nobody took it)
    any live state ──finish────► finishing ───ended──► ended
    any state ──hangup (caller)──► ended
"""

from __future__ import annotations

import enum

from agi.errors import LocalProtocolError


class CallState(enum.Enum):
    CONNECTING = "connecting"
    DISCLOSING = "disclosing"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"
    TRANSFERRING = "transferring"
    FINISHING = "finishing"
    ENDED = "ended"


S = CallState
_LIVE = (S.DISCLOSING, S.LISTENING, S.THINKING, S.SPEAKING)

TRANSITIONS: dict[tuple[CallState, str], CallState] = {
    (S.CONNECTING, "media"): S.DISCLOSING,
    (S.DISCLOSING, "disclosed"): S.SPEAKING,
    (S.SPEAKING, "spoken"): S.LISTENING,
    (S.LISTENING, "heard"): S.THINKING,
    (S.THINKING, "reply"): S.SPEAKING,
    **{(state, "transfer"): S.TRANSFERRING for state in (S.CONNECTING, *_LIVE)},
    **{(state, "finish"): S.FINISHING for state in (S.CONNECTING, *_LIVE)},
    **{(state, "hangup"): S.ENDED for state in CallState},
    (S.TRANSFERRING, "ended"): S.ENDED,
    (S.TRANSFERRING, "came_back"): S.THINKING,
    (S.FINISHING, "ended"): S.ENDED,
}


class IllegalTransition(LocalProtocolError):
    """The session tried an event its current state does not allow."""


class CallStateMachine:
    """Tracks where one call is; every move goes through :data:`TRANSITIONS`."""

    def __init__(self) -> None:
        self.state = CallState.CONNECTING
        self.history: list[tuple[CallState, str]] = []

    def fire(self, event: str) -> CallState:
        try:
            new = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise IllegalTransition(
                f"event {event!r} is not allowed in state {self.state.value!r}") from None
        self.history.append((self.state, event))
        self.state = new
        return new

    @property
    def live(self) -> bool:
        return self.state in _LIVE
