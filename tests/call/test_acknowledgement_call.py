"""The caller goes on after a pause the silence window took for the end of their turn, in
whole calls (agi/call/continuation.py, agi/call/rest_of_turn.py).

The pause is 650 ms, longer than the 500 ms window of ``turns.end_of_turn = "silence"``: the
turn ends and the agent begins to answer before the rest comes.
- After a request, thanks or politeness ("... rendez-vous | merci") do not cut the answer
  and get no reply of their own; words of their own ("... | pour mardi prochain") cut it
  and are answered.
- At the read-back, "oui" books, so nothing is written until the rest is known: the agent
  says "Très bien." at once; "oui | merci" then books, "oui | enfin non plutôt mercredi"
  books nothing and is heard as one turn (the agent reads back Wednesday).

Everything is real (emulated PBX, WebRTC VAD, eSpeak NG speech with a real SSML pause, the
builtin dialogue, SQLite) except the recogniser, a double because no French Vosk model can
exist here: the latency bench's (bench/latency.py), which gives as words the groups the
caller has finished saying by the clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn
from agi.speech.audio import silence
from bench.latency import Script, ScriptedVoskFactory, Utterance, render

from conftest import Pbx, Shared, make_settings, run, serving

PARIS = ZoneInfo("Europe/Paris")
TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)  # "mardi prochain à dix heures"
REQUEST = "bonjour je voudrais prendre un rendez-vous"
TO_READ_BACK = (Utterance((f"{REQUEST} mardi prochain à dix heures",), ()),
                Utterance(("jean dupont",), (), dictated=True))


class Call:
    """One emulated call's transcript, bookings and prompts cut by barge-in."""

    def __init__(self, said: list[tuple[str, str]], booked: list[datetime], cuts: int) -> None:
        self.said, self.booked, self.cuts = said, booked, cuts

    @property
    def caller(self) -> list[str]:
        return [text for speaker, text in self.said if speaker == "caller"]

    def agent_after(self, caller_line: str) -> list[str]:
        return [text for speaker, text in self.said[self.said.index(("caller", caller_line)):]
                if speaker == "agent"]


@pytest.fixture
def cuts() -> Iterator[list[str]]:
    """The media's barge-in log lines during the test."""
    logger, lines = logging.getLogger("agi.call.media"), []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage()) if "barge-in" in record.getMessage() else None
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def place(pbx: Pbx, tmp_path: Path, shared: Shared, cuts: list[str], utterances: list[Utterance], *,
          listen_ms: int, **turns: object) -> Call:
    # the silence window alone: the intonation check would hold most of these pauses (the
    # voice stays up before "merci"; tests/call/test_intonation_call.py)
    settings = make_settings(tmp_path, turns={"end_of_turn": "silence", **turns})
    rendered = [render(u, "fr") for u in utterances]
    script = Script()

    async def scenario() -> str:
        async with serving(settings, shared, recognizers=ScriptedVoskFactory(None, script),
                           now=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)) as server:
            turns = [CallerTurn(pcm) for pcm, _ in rendered[:-1]]
            turns.append(CallerTurn(rendered[-1][0] + silence(listen_ms)))  # then hangs up
            call = await pbx.call(server, turns=turns, hangup_after=len(turns), max_duration=90,
                                  on_event=script.follow(utterances, rendered))
            return call.uniqueid

    uniqueid = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    said = [(t.speaker, t.text) for t in store.transcript(uniqueid)]
    booked = [a.starts_at for a in store.appointments("demo", TUESDAY.replace(day=1, hour=0),
                                                      TUESDAY.replace(day=4, hour=23))]
    return Call(said, booked, len(cuts))


def test_thanks_after_a_pause_do_not_cut_the_answer_nor_get_one(pbx: Pbx, tmp_path: Path, shared: Shared,
                                                               cuts: list[str]) -> None:
    call = place(pbx, tmp_path, shared, cuts, [Utterance((REQUEST, "merci"), (650,))], listen_ms=4000)
    assert call.caller == [REQUEST, "merci"]
    assert call.agent_after(REQUEST) == ["À quel nom dois-je noter le rendez-vous ?"]  # heard whole
    assert call.cuts == 0


def test_words_of_their_own_after_the_pause_cut_the_answer_and_are_answered(tmp_path: Path, shared: Shared,
                                                                            cuts: list[str]) -> None:
    rest = "pour mardi prochain à dix heures"
    call = place(Pbx("asterisk"), tmp_path, shared, cuts, [Utterance((REQUEST, rest), (650,))], listen_ms=4000)
    assert call.caller == [REQUEST, rest]
    assert call.cuts == 1 and len(call.agent_after(rest)) == 1  # cut, then the rest answered


def test_thanks_still_queued_when_the_caller_hangs_up_are_kept(tmp_path: Path, shared: Shared,
                                                              cuts: list[str]) -> None:
    """"merci" ends while the answer plays; the caller hangs up before it ends, so the
    session never reads that turn: its words are kept all the same."""
    call = place(Pbx("asterisk"), tmp_path, shared, cuts, [Utterance((REQUEST, "merci"), (650,))], listen_ms=800)
    assert call.caller == [REQUEST, "merci"]


def test_a_yes_that_books_waits_for_the_rest_and_thanks_let_it_book(tmp_path: Path, shared: Shared,
                                                                   cuts: list[str]) -> None:
    call = place(Pbx("asterisk"), tmp_path, shared, cuts, [*TO_READ_BACK, Utterance(("oui", "merci"), (650,))],
                 listen_ms=9000)
    assert call.booked == [TUESDAY]
    assert call.caller[-2:] == ["oui", "merci"]
    answer = call.agent_after("oui")
    assert answer[0] == "Très bien." and "confirmé" in answer[-1] and len(answer) == 2  # no goodbye
    assert call.cuts == 0


def test_a_correction_after_the_yes_books_nothing_and_is_one_turn(tmp_path: Path, shared: Shared,
                                                                 cuts: list[str]) -> None:
    rest = "enfin non plutôt mercredi"
    call = place(Pbx("asterisk"), tmp_path, shared, cuts, [*TO_READ_BACK, Utterance(("oui", rest), (650,))],
                 listen_ms=6000)
    assert call.booked == []
    assert call.caller[-2:] == ["oui", rest]
    answer = call.agent_after(rest)
    assert answer and "mercredi 2 décembre" in answer[0]  # the whole turn, read back again
