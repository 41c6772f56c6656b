"""The AMI wire format (agi.protocols.ami): literal bytes in, messages out, and back."""

from __future__ import annotations

import pytest

from agi.errors import LocalProtocolError, MessageTooLong, RemoteProtocolError
from agi.protocols.ami import MAX_MESSAGE, AmiReader, banner, encode


def test_messages_are_split_on_the_empty_line_after_the_banner() -> None:
    reader = AmiReader(expect_banner=True)
    stream = banner("10.0.0") + b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n" \
        + b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\nEvent: Hang"
    for i in range(0, len(stream), 7):  # any split of the stream gives the same messages
        reader.receive_data(stream[i:i + 7])
    first, second = reader.next_message(), reader.next_message()
    assert reader.banner == "Asterisk Call Manager/10.0.0"
    assert first is not None and first.get("message") == "Authentication accepted" and first.get("ActionID") == "1"
    assert second is not None and second.get("Event") == "FullyBooted"
    assert reader.next_message() is None  # "Event: Hang" is not over yet


def test_repeated_keys_are_kept_in_order_and_encoding_round_trips() -> None:
    data = encode([("Action", "Originate"), ("Variable", "A=1"), ("Variable", "B=2")])
    assert data == b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    reader = AmiReader()
    reader.receive_data(data)
    message = reader.next_message()
    assert message is not None and message.all("variable") == ["A=1", "B=2"]


@pytest.mark.parametrize("bad", [b"no colon here\r\n\r\n", b"".join(b"K%d: v\r\n" % i for i in range(200)) + b"\r\n"])
def test_malformed_messages_are_refused(bad: bytes) -> None:
    reader = AmiReader()
    reader.receive_data(bad)
    with pytest.raises(RemoteProtocolError):
        reader.next_message()


def test_a_message_that_never_ends_is_refused_not_buffered() -> None:
    reader = AmiReader()
    with pytest.raises(MessageTooLong):
        reader.receive_data(b"Key: " + b"x" * MAX_MESSAGE)


def test_header_injection_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        encode({"Action": "Originate\r\nAction: Command"})
