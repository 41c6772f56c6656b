"""The call state machine: legal paths and errors that name state and event."""

import pytest

from agi.call.state import CallState, CallStateMachine, IllegalTransition


def test_a_booking_call_walks_the_table() -> None:
    sm = CallStateMachine()
    for event in ("media", "disclosed", "spoken", "heard", "reply", "spoken", "heard", "reply", "finish", "ended"):
        sm.fire(event)
    assert sm.state is CallState.ENDED


def test_caller_hangup_ends_from_any_state() -> None:
    for state in CallState:
        sm = CallStateMachine()
        sm.state = state
        assert sm.fire("hangup") is CallState.ENDED


def test_illegal_transition_names_state_and_event() -> None:
    sm = CallStateMachine()
    with pytest.raises(IllegalTransition, match="event 'heard' is not allowed in state 'connecting'"):
        sm.fire("heard")
