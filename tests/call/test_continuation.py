"""Speech just after the caller's turn (agi/call/continuation.py): within the window its
words decide whether it cuts the answer; later, or with no way to read words, it cuts at once."""

from __future__ import annotations

import functools

from agi.call.continuation import Continuation
from agi.speech.backchannel import acknowledges

FR = functools.partial(acknowledges, language="fr")


def after_a_turn(window_s: float = 1.0) -> Continuation:
    continuation = Continuation(window_s, FR)
    continuation.turn_ended(10.0)  # the caller's speech ended at t = 10 s
    return continuation


def test_thanks_soon_after_the_turn_neither_cut_nor_make_a_turn() -> None:
    continuation = after_a_turn()
    assert not continuation.begin(10.65)  # 650 ms later: the words decide
    assert not continuation.cuts("")  # no words yet
    assert not continuation.cuts("merci")
    assert continuation.end()  # undecided when it ended: the final words decide
    assert continuation.only_acknowledges("merci beaucoup")  # kept as the end of the answered turn
    assert not continuation.pending and not continuation.end()


def test_words_of_their_own_cut_as_soon_as_they_are_heard() -> None:
    continuation = after_a_turn()
    assert not continuation.begin(10.6)
    assert not continuation.cuts("oui")
    assert continuation.cuts("oui enfin non")  # a correction: a turn of its own
    assert continuation.cuts("oui")  # decided: what follows cuts too
    assert not continuation.end()  # its words were a turn of its own before it ended


def test_a_final_with_words_of_its_own_is_a_turn_even_without_partials() -> None:
    continuation = after_a_turn()
    assert not continuation.begin(10.5)
    assert continuation.end() and not continuation.only_acknowledges("attendez je voulais dire jeudi")


def test_nothing_heard_is_kept_as_nothing() -> None:
    continuation = after_a_turn()
    continuation.begin(10.4)
    assert continuation.end() and continuation.only_acknowledges("")  # a breath: no "je n'ai pas compris"


def test_speech_later_than_the_window_cuts_at_once() -> None:
    continuation = after_a_turn()
    assert continuation.begin(11.2)
    assert continuation.cuts("merci")
    assert not continuation.end()


def test_before_any_turn_with_the_window_off_or_without_words_it_cuts_at_once() -> None:
    assert Continuation(1.0, FR).begin(5.0)  # nothing said yet in this call
    assert after_a_turn(window_s=0.0).begin(10.3)
    unread = Continuation(1.0)  # no way to read the words
    unread.turn_ended(10.0)
    assert unread.begin(10.3) and not unread.end()
