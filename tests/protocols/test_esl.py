"""The ESL codec on literal bytes as FreeSWITCH 1.10 writes them (FREESWITCH.md), split
reads, URL-encoded values, truncated bodies, garbage; plus random splits and mutations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agi.errors import EslFrameError, LocalProtocolError, ProtocolError
from agi.protocols import esl

CONNECT_REPLY = (
    b"Content-Type: command/reply\nReply-Text: +OK\nSocket-Mode: async\nControl: full\n"
    b"Channel-Read-Codec-Name: L16\nChannel-Read-Codec-Rate: 16000\n"
    b"Unique-ID: 4b3c7f0e-0c1d-4a9e-9d1e-2f6b5a0c9e11\nCaller-Caller-ID-Number: %2B33612345678\n"
    b"Caller-Destination-Number: 0140000000\nvariable_permanence_tenant: demo\n"
    b"variable_sip_h_X-Note: two%0Alines%3A%20here\n\n"
)
EVENT_INNER = (
    b"Event-Name: CHANNEL_HANGUP\nUnique-ID: 4b3c7f0e\nHangup-Cause: NORMAL_CLEARING\n"
    b"variable_note: a%0AEvent-Name%3A%20FAKE\n\n"
)
EVENT = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(EVENT_INNER) + EVENT_INNER
LINGER = (b"Content-Type: text/disconnect-notice\nController-Session: 4b3c7f0e\n"
          b"Content-Disposition: linger\nChannel-Input-Disposition: linger\nLinger-Time: 3\n"
          b"Content-Length: 67\n\nDisconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n")
DISCONNECT = b"Content-Type: text/disconnect-notice\nContent-Disposition: disconnect\nContent-Length: 0\n\n"
API = b"Content-Type: api/response\nContent-Length: 14\n\n+OK 4b3c7f0e\n\n"
AUTH = b"Content-Type: auth/request\n\n"
RUDE = b"Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n"
TRANSCRIPT = CONNECT_REPLY + EVENT + LINGER + DISCONNECT + API + AUTH + RUDE


def events(data: bytes, pieces: list[int] | None = None) -> list[object]:
    parser, out = esl.EslParser(), []
    cuts = [0, *(pieces or []), len(data)]
    for start, end in zip(cuts, cuts[1:], strict=False):
        parser.receive_data(data[start:end])
        while (event := parser.next_event()) is not esl.NEED_DATA:
            out.append(event)
    parser.receive_eof()
    out.append(parser.next_event())
    return out


def test_a_whole_transcript_gives_typed_events() -> None:
    reply, event, linger, disconnect, api, auth, rude, closed = events(TRANSCRIPT)
    assert isinstance(reply, esl.CommandReply) and reply.ok
    assert reply.headers["Caller-Caller-ID-Number"] == "+33612345678"
    assert reply.headers["Channel-Read-Codec-Rate"] == "16000"
    assert reply.headers["variable_sip_h_X-Note"] == "two\nlines: here"
    assert event == esl.Event("CHANNEL_HANGUP", {
        "Event-Name": "CHANNEL_HANGUP", "Unique-ID": "4b3c7f0e", "Hangup-Cause": "NORMAL_CLEARING",
        "variable_note": "a\nEvent-Name: FAKE"}, b"")
    assert linger == esl.DisconnectNotice("linger", 3, linger.text) and "goodbye" in linger.text
    assert disconnect == esl.DisconnectNotice("disconnect", None, "")
    assert api == esl.ApiResponse("+OK 4b3c7f0e\n\n") and api.ok
    assert auth == esl.AuthRequest()
    assert rude == esl.RudeRejection("Access Denied, go away.\n")
    assert closed == esl.ConnectionClosed()


def test_every_split_point_gives_the_same_events() -> None:
    whole = events(TRANSCRIPT)
    for cut in range(1, len(TRANSCRIPT)):
        assert events(TRANSCRIPT, [cut]) == whole, cut
    assert events(TRANSCRIPT, list(range(1, len(TRANSCRIPT)))) == whole  # one byte per read


def test_a_body_longer_than_what_arrived_waits_then_completes() -> None:
    parser = esl.EslParser()
    parser.receive_data(API[:-5])
    assert parser.next_event() is esl.NEED_DATA
    parser.receive_data(API[-5:])
    assert parser.next_event() == esl.ApiResponse("+OK 4b3c7f0e\n\n")


def test_a_body_cut_by_the_end_of_stream_is_an_error() -> None:
    parser = esl.EslParser()
    parser.receive_data(API[:-5])
    parser.receive_eof()
    with pytest.raises(EslFrameError, match=r"middle of a body \(9 of 14 bytes\)"):
        parser.next_event()


def test_an_event_with_its_own_body() -> None:
    inner = esl.encode_message({"Event-Name": "BACKGROUND_JOB", "Job-UUID": "j1"}, b"+OK done\n")
    framed = esl.encode_message({"Content-Type": "text/event-plain"}, inner)
    assert framed == esl.encode_event("BACKGROUND_JOB", {"Job-UUID": "j1"}, b"+OK done\n")
    (event, _) = events(framed)
    assert event == esl.Event("BACKGROUND_JOB", {"Event-Name": "BACKGROUND_JOB", "Job-UUID": "j1",
                                                  "Content-Length": "9"}, b"+OK done\n")


def test_encoded_values_round_trip_with_newlines_and_percent() -> None:
    value = "a\nb: c%41 d\r\n+é"
    (event, _) = events(esl.encode_event("DTMF", {"DTMF-Digit": "0", "variable_x": value}))
    assert isinstance(event, esl.Event) and event.headers["variable_x"] == value


@pytest.mark.parametrize(("data", "message"), [
    (b"Content-Type: command/reply\nno colon here\n\n", "without 'Name: value'"),
    (b"Content-Type: api/response\nContent-Length: 12x\n\n", "is not a number"),
    (b"Content-Type: api/response\nContent-Length: 99999999999\n\n", "exceeds the maximum"),
    (b"Content-Type: video/mpeg\n\n", "unknown ESL Content-Type"),
    (b"Content-Type: text/event-plain\nContent-Length: 6\n\nA: b\n\n", "without Event-Name"),
    (b"Content-Type: text/event-plain\nContent-Length: 35\n\nEvent-Name: X\nContent-Length: 9\n\nab",
     "declares a 9-byte body"),
    (b"Content-Type: command/reply\n\xff\xfe: x\n\n", "not UTF-8"),
])
def test_malformed_input_raises_a_typed_error_every_time(data: bytes, message: str) -> None:
    parser = esl.EslParser()
    parser.receive_data(data)
    with pytest.raises(EslFrameError, match=message):
        parser.next_event()
    with pytest.raises(EslFrameError):  # no resynchronising on garbage
        parser.next_event()


def test_the_header_block_is_capped_before_its_end_arrives() -> None:
    parser = esl.EslParser(max_header=1024)
    parser.receive_data(b"A: " + b"x" * 2000)
    with pytest.raises(EslFrameError, match="longer than 1024"):
        parser.next_event()


def test_the_scan_is_linear_many_small_reads_of_a_long_block() -> None:
    # 20 000 one-byte reads of a 20 kB header block: a parser that rescans from the start
    # would do 2e8 byte comparisons; this counts how far the scan position moves instead.
    parser = esl.EslParser()
    block = b"Content-Type: command/reply\n" + b"variable_x: %s\n" % (b"y" * 20000) + b"\n"
    for byte in block[:-1]:
        parser.receive_data(bytes([byte]))
        assert parser.next_event() is esl.NEED_DATA
        assert parser._framer._scan >= len(parser._framer._buffer) - 1
    parser.receive_data(block[-1:])
    assert isinstance(parser.next_event(), esl.CommandReply)


def test_commands_we_send() -> None:
    assert esl.encode_command("linger 5") == b"linger 5\n\n"
    assert esl.encode_sendmsg({"call-command": "execute", "execute-app-name": "answer"}) == (
        b"sendmsg\ncall-command: execute\nexecute-app-name: answer\n\n")
    assert esl.encode_sendmsg({"call-command": "hangup"}, "u1").startswith(b"sendmsg u1\n")
    with pytest.raises(LocalProtocolError, match="one line"):
        esl.encode_command("api uuid_kill x\n\nexit")
    with pytest.raises(LocalProtocolError, match="one line"):
        esl.encode_sendmsg({"execute-app-arg": "a\nb"})


def test_the_command_parser_reads_what_we_send() -> None:
    parser = esl.EslCommandParser()
    parser.receive_data(esl.encode_command("connect") + esl.encode_sendmsg(
        {"call-command": "unicast", "local-port": "8025"}) + b"myev")
    assert parser.next_event() == esl.CommandReceived("connect", {})
    assert parser.next_event() == esl.CommandReceived(
        "sendmsg", {"call-command": "unicast", "local-port": "8025"})
    assert parser.next_event() is esl.NEED_DATA


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(TRANSCRIPT) - 1), max_size=12, unique=True))
def test_random_splits_give_the_same_events(cuts: list[int]) -> None:
    assert events(TRANSCRIPT, sorted(cuts)) == events(TRANSCRIPT)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_mutations_raise_only_protocol_errors(data: st.DataObject) -> None:
    raw = bytearray(TRANSCRIPT)
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        if action == "flip":
            raw[at] = data.draw(st.integers(0, 255))
        elif action == "drop":
            del raw[at]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    cuts = sorted(data.draw(st.lists(st.integers(1, max(1, len(raw) - 1)), max_size=5, unique=True)))
    try:
        events(bytes(raw), [c for c in cuts if c < len(raw)])
    except ProtocolError:
        pass  # a typed protocol error is the only acceptable failure
