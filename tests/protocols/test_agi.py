"""The AGI sans-IO core against literal bytes, as Asterisk 20 (res_agi.c) writes them."""

from __future__ import annotations

import pytest

from agi.errors import AgiEnvironmentError, LocalProtocolError, MessageTooLong, RemoteProtocolError
from agi.protocols.agi import (
    MAX_ENVIRONMENT_BYTES,
    MAX_LINE_BYTES,
    NEED_DATA,
    AgiClientConnection,
    AgiEnvironment,
    AgiServerConnection,
    CommandFailed,
    CommandReceived,
    CommandResult,
    ConnectionClosed,
    EnvironmentReceived,
    HangupNotice,
    Trying,
    iter_events,
    parse_args,
    quote,
)

ENV = (
    b"agi_network: yes\n"
    b"agi_network_script: acme?lang=fr\n"
    b"agi_request: agi://127.0.0.1:4573/acme?lang=fr\n"
    b"agi_channel: PJSIP/trunk-00000001\n"
    b"agi_language: fr\n"
    b"agi_type: PJSIP\n"
    b"agi_uniqueid: 1732611111.42\n"
    b"agi_version: 20.10.0\n"
    b"agi_callerid: +33612345678\n"
    b"agi_calleridname: Jeanne Dupont\n"
    b"agi_callingpres: 0\n"
    b"agi_callingani2: 0\n"
    b"agi_callington: 0\n"
    b"agi_callingtns: 0\n"
    b"agi_dnid: 0140000000\n"
    b"agi_rdnis: unknown\n"
    b"agi_context: from-trunk\n"
    b"agi_extension: 0140000000\n"
    b"agi_priority: 2\n"
    b"agi_enhanced: 0.0\n"
    b"agi_accountcode: \n"
    b"agi_threadid: 140201234567890\n"
    b"agi_arg_1: first\n"
    b"agi_arg_2: with space\n"
    b"\n"
)


def server_after_env() -> AgiServerConnection:
    conn = AgiServerConnection()
    conn.receive_data(ENV)
    assert isinstance(conn.next_event(), EnvironmentReceived)
    return conn


def events_for(conn: AgiServerConnection, data: bytes) -> list[object]:
    conn.receive_data(data)
    return list(iter_events(conn))


# ----------------------------------------------------------------- environment


def test_environment_typed_fields() -> None:
    conn = AgiServerConnection()
    conn.receive_data(ENV)
    event = conn.next_event()
    assert isinstance(event, EnvironmentReceived)
    env = event.env
    assert env.network_script == "acme?lang=fr"
    assert env.script_path == "acme"
    assert env.request == "agi://127.0.0.1:4573/acme?lang=fr"
    assert env.channel == "PJSIP/trunk-00000001"
    assert env.uniqueid == "1732611111.42"
    assert env.callerid == "+33612345678"
    assert env.calleridname == "Jeanne Dupont"
    assert env.dnid == env.extension == "0140000000"
    assert env.context == "from-trunk"
    assert env.language == "fr"
    assert env.args == ("first", "with space")
    assert env.raw["agi_accountcode"] == ""
    assert list(env.raw)[0] == "agi_network"
    assert conn.next_event() is NEED_DATA


def test_environment_split_byte_by_byte() -> None:
    conn = AgiServerConnection()
    for i in range(len(ENV) - 1):
        conn.receive_data(ENV[i:i + 1])
        assert conn.next_event() is NEED_DATA
    conn.receive_data(ENV[-1:])
    event = conn.next_event()
    assert isinstance(event, EnvironmentReceived)
    assert event.env.uniqueid == "1732611111.42"


def test_environment_round_trip() -> None:
    env = AgiEnvironment.parse(ENV)
    assert bytes(env) == ENV
    assert AgiEnvironment.parse(bytes(env)) == env


def test_environment_without_script_line_is_valid() -> None:
    # res_agi.c launch_netscript omits agi_network_script for agi://host with no path.
    env = AgiEnvironment.parse(b"agi_network: yes\nagi_request: agi://pbx\n\n")
    assert env.network_script == ""
    assert env.args == ()


@pytest.mark.parametrize(("data", "message"), [
    (b"agi_network: yes\nagi_request agi://x/y\n\n", "AGI environment line 2 has no ': ' separator"),
    (b"agi_network: yes\nfoo: bar\nagi_request: agi://x/y\n\n",
     "AGI environment line 2: key 'foo' does not start with 'agi_'"),
    (b"agi_network: yes\nagi_network_script: demo\n\n", "AGI environment has no agi_request line"),
    (b"agi_request: a\nagi_request: b\n\n", "AGI environment line 2: duplicate key 'agi_request'"),
    (b"agi_request: r\nagi_network_script: other\n\n", "AGI environment line 2: agi_network_script after agi_request"),
    (b"agi_request: r\nagi_arg_1: x\nagi_channel: c\n\n", "AGI environment line 3: agi_channel after the agi_arg_N lines"),
])
def test_malformed_environment(data: bytes, message: str) -> None:
    conn = AgiServerConnection()
    conn.receive_data(data)
    with pytest.raises(AgiEnvironmentError) as info:
        conn.next_event()
    assert str(info.value) == message


def test_malformed_environment_message_never_quotes_values() -> None:
    conn = AgiServerConnection()
    conn.receive_data(b"agi_request: agi://x/y\nagi_callerid+33612345678\n\n")
    with pytest.raises(AgiEnvironmentError) as info:
        conn.next_event()
    assert "336" not in str(info.value)


def test_oversize_environment() -> None:
    conn = AgiServerConnection()
    conn.receive_data(b"agi_arg_1: " + b"x" * MAX_ENVIRONMENT_BYTES + b"\n")
    with pytest.raises(MessageTooLong) as info:
        conn.next_event()
    assert str(info.value) == "AGI environment exceeds 65536 bytes without its closing empty line"


def test_environment_cut_by_eof() -> None:
    conn = AgiServerConnection()
    conn.receive_data(b"agi_network: yes\n")
    conn.receive_data(b"")
    with pytest.raises(AgiEnvironmentError) as info:
        conn.next_event()
    assert str(info.value) == "connection closed before the end of the AGI environment"


# ----------------------------------------------------------------- results


def test_result_with_data_and_extras() -> None:
    conn = server_after_env()
    assert conn.send_command("STREAM FILE hello \"\"") == b'STREAM FILE hello ""\n'
    assert events_for(conn, b"200 result=1 (timeout) endpos=1234\n") == [
        CommandResult(code=200, result="1", data="timeout", extras={"endpos": "1234"})]


@pytest.mark.parametrize(("line", "expected"), [
    (b"200 result=0\n", CommandResult(200, "0")),
    (b"200 result=-1\n", CommandResult(200, "-1")),
    (b"200 result= (timeout)\n", CommandResult(200, "", "timeout")),
    (b"200 result=1 (Jeanne (pro) Dupont)\n", CommandResult(200, "1", "Jeanne (pro) Dupont")),
    (b"200 result=1 ((hello)(world)) endpos=2240\n",
     CommandResult(200, "1", "(hello)(world)", {"endpos": "2240"})),
    (b"200 result=1 (speech) endpos=1234 results=2 foo bar\n",
     CommandResult(200, "1", "speech", {"endpos": "1234", "results": "2 foo bar"})),
    (b"200 result=-1 endpos=0\r\n", CommandResult(200, "-1", None, {"endpos": "0"})),
])
def test_result_lines(line: bytes, expected: CommandResult) -> None:
    conn = server_after_env()
    conn.send_command("NOOP")
    assert events_for(conn, line) == [expected]


def test_trying_then_result() -> None:
    conn = server_after_env()
    conn.send_command("EXEC Dial PJSIP/100")
    assert events_for(conn, b"100 result=0 Trying...\n200 result=0\n") == [
        Trying("100 result=0 Trying..."), CommandResult(200, "0")]


def test_510_and_511() -> None:
    conn = server_after_env()
    conn.send_command("FOO")
    conn.send_command("ANSWER")
    assert events_for(conn, b"510 Invalid or unknown command\n"
                            b"511 Command Not Permitted on a dead channel or intercept routine\n") == [
        CommandFailed(510, "Invalid or unknown command"),
        CommandFailed(511, "Command Not Permitted on a dead channel or intercept routine"),
    ]


USAGE_520 = (
    b"520-Invalid command syntax.  Proper usage follows:\n"
    b" Usage: DATABASE DEL <family> <key>\n"
    b"        Deletes an entry in the Asterisk database for a\n"
    b" given family and key.\n"
    b"HANGUP\n"
    b"520 End of proper usage.\n"
)


def test_520_multi_line_carries_whole_usage() -> None:
    conn = server_after_env()
    conn.send_command("DATABASE DEL x")
    events = events_for(conn, USAGE_520)
    assert events == [CommandFailed(
        520, "Invalid command syntax.  Proper usage follows:",
        " Usage: DATABASE DEL <family> <key>\n"
        "        Deletes an entry in the Asterisk database for a\n"
        " given family and key.\n"
        "HANGUP")]  # a usage line is text, even one that reads HANGUP


def test_520_split_byte_by_byte() -> None:
    conn = server_after_env()
    conn.send_command("DATABASE DEL x")
    events: list[object] = []
    for byte in USAGE_520:
        conn.receive_data(bytes([byte]))
        events.extend(iter_events(conn))
    assert len(events) == 1
    assert isinstance(events[0], CommandFailed)
    assert events[0].usage.startswith(" Usage: DATABASE DEL")


def test_520_one_line_form() -> None:
    conn = server_after_env()
    conn.send_command("SET VARIABLE")
    assert events_for(conn, b"520 Invalid command syntax.  Proper usage not available.\n") == [
        CommandFailed(520, "Invalid command syntax.  Proper usage not available.")]


def test_hangup_between_commands() -> None:
    conn = server_after_env()
    conn.send_command("HANGUP")
    conn.send_command("VERBOSE bye 1")
    assert events_for(conn, b"200 result=1\nHANGUP\n200 result=1\n") == [
        CommandResult(200, "1"), HangupNotice(), CommandResult(200, "1")]


def test_results_split_across_reads() -> None:
    conn = server_after_env()
    conn.send_command("GET VARIABLE X")
    conn.receive_data(b"200 res")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"ult=1 (va")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"lue)\nHAN")
    assert conn.next_event() == CommandResult(200, "1", "value")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"GUP\n")
    assert conn.next_event() == HangupNotice()


def test_eof_between_replies_and_inside_one() -> None:
    conn = server_after_env()
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()
    conn = server_after_env()
    conn.send_command("ANSWER")
    conn.receive_data(b"200 resu")
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert str(info.value) == "AGI connection closed in the middle of a reply"


@pytest.mark.parametrize(("data", "message"), [
    (b"hello there\n", "unexpected line from Asterisk: 'hello there'"),
    (b"200 foo=bar\n", "AGI 200 line without result=: '200 foo=bar'"),
    (b"300 result=0\n", "unexpected AGI status code 300: '300 result=0'"),
    (b"\xff\xfe\n", "unexpected line from Asterisk: '\xff\xfe'"),  # read as Latin-1
])
def test_garbage_lines(data: bytes, message: str) -> None:
    conn = server_after_env()
    conn.send_command("ANSWER")
    conn.receive_data(data)
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert str(info.value) == message


def test_unsolicited_result_is_a_protocol_error() -> None:
    conn = server_after_env()
    conn.receive_data(b"200 result=0\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert str(info.value) == "AGI reply 200 with no command outstanding"


def test_send_command_refusals() -> None:
    with pytest.raises(LocalProtocolError):
        AgiServerConnection().send_command("ANSWER")  # before the environment
    conn = server_after_env()
    with pytest.raises(LocalProtocolError) as info:
        conn.send_command("VERBOSE a\nHANGUP")
    assert str(info.value) == "an AGI command cannot contain a line break"
    with pytest.raises(LocalProtocolError):
        conn.send_command("  ")


# ----------------------------------------------------------------- client side and helpers


def test_client_reads_commands_like_asterisk() -> None:
    client = AgiClientConnection()
    assert client.environment(AgiEnvironment.parse(ENV)) == ENV
    client.receive_data(b'SET VARIABLE GREETING "bonjour \\"toi\\""\nexec AudioSocket ')
    assert client.next_event() == CommandReceived(
        'SET VARIABLE GREETING "bonjour \\"toi\\""', "SET VARIABLE", ("GREETING", 'bonjour "toi"'))
    assert client.next_event() is NEED_DATA
    client.receive_data(b"0b1e,127.0.0.1:9092\nFROB x\n")
    assert client.next_event() == CommandReceived(
        "exec AudioSocket 0b1e,127.0.0.1:9092", "EXEC", ("AudioSocket", "0b1e,127.0.0.1:9092"))
    assert client.next_event() == CommandReceived("FROB x", "", ("FROB", "x"))
    client.receive_data(b"")
    assert client.next_event() == ConnectionClosed()


def test_client_answer_bytes() -> None:
    c = AgiClientConnection
    assert c.result() == b"200 result=0\n"
    assert c.result(result="1", data="timeout", endpos="1234") == b"200 result=1 (timeout) endpos=1234\n"
    assert c.invalid() == b"510 Invalid or unknown command\n"
    assert c.dead_channel() == b"511 Command Not Permitted on a dead channel or intercept routine\n"
    assert c.hangup_notice() == b"HANGUP\n"
    assert c.trying() == b"100 result=0 Trying...\n"
    assert c.usage_error("") == b"520 Invalid command syntax.  Proper usage not available.\n"
    assert c.usage_error(" Usage: X\n Does x.") == (
        b"520-Invalid command syntax.  Proper usage follows:\n Usage: X\n Does x.\n520 End of proper usage.\n")


def test_client_answers_parse_back() -> None:
    conn = server_after_env()
    c = AgiClientConnection
    for _ in range(4):
        conn.send_command("NOOP")
    data = c.result(result="1", data="a (b) c", endpos="9") + c.trying() + c.result() \
        + c.usage_error(" Usage: X\n Does x.") + c.hangup_notice() + c.dead_channel()
    assert events_for(conn, data) == [
        CommandResult(200, "1", "a (b) c", {"endpos": "9"}), Trying("100 result=0 Trying..."),
        CommandResult(200, "0"),
        CommandFailed(520, "Invalid command syntax.  Proper usage follows:", " Usage: X\n Does x."),
        HangupNotice(),
        CommandFailed(511, "Command Not Permitted on a dead channel or intercept routine"),
    ]


@pytest.mark.parametrize("arg", ["plain", "two words", "", 'say "hi"', "back\\slash", "tab\there"])
def test_quote_round_trips_through_parse_args(arg: str) -> None:
    assert parse_args(f"VERBOSE {quote(arg)} 1") == ["VERBOSE", arg, "1"]


def test_parse_args_like_res_agi() -> None:
    assert parse_args('  EXEC   Dial  "PJSIP/a b"  x\\ y ""') == ["EXEC", "Dial", "PJSIP/a b", "x y", ""]
    assert parse_args('VERBOSE "unbalanced quote') == ["VERBOSE", "unbalanced quote"]
    assert quote("uuid,127.0.0.1:9092") == "uuid,127.0.0.1:9092"
    with pytest.raises(LocalProtocolError):
        quote("a\nb")


# --------------------------------------------------------------------------- hostile input


def test_line_break_in_caller_name_cannot_add_a_script_line() -> None:
    """A caller name carrying "\\nagi_network_script: other" would pick another tenant."""
    data = (b"agi_network: yes\nagi_request: agi://pbx/\nagi_uniqueid: 1.1\n"
            b"agi_calleridname: Eve\nagi_network_script: other\nagi_callingpres: 0\n\n")
    conn = AgiServerConnection()
    conn.receive_data(data)
    with pytest.raises(AgiEnvironmentError, match="agi_network_script after agi_request"):
        conn.next_event()


def test_line_break_in_caller_name_cannot_add_an_argument() -> None:
    data = (b"agi_network: yes\nagi_network_script: demo\nagi_request: agi://pbx/demo\n"
            b"agi_calleridname: Eve\nagi_arg_1: other\nagi_callingpres: 0\n\n")
    conn = AgiServerConnection()
    conn.receive_data(data)
    with pytest.raises(AgiEnvironmentError, match="agi_callingpres after the agi_arg_N lines"):
        conn.next_event()


def test_control_characters_never_reach_the_fields() -> None:
    data = (b"agi_network: yes\nagi_network_script: de\x1bmo\nagi_request: r\n"
            b"agi_uniqueid: 17\r00.1\nagi_callerid: +33\x00612\nagi_calleridname: A\x7fB\n\n")
    env = AgiEnvironment.parse(data)
    assert env.network_script == "de\ufffdmo"  # matches no tenant named "demo"
    assert env.uniqueid == "17\ufffd00.1"
    assert env.callerid == "+33\ufffd612"
    assert env.calleridname == "A\ufffdB"
    conn = AgiServerConnection()
    conn.receive_data(data)
    assert isinstance(conn.next_event(), EnvironmentReceived)
    conn.send_command(f"SET VARIABLE PERMANENCE_CALL_ID {quote(env.uniqueid)}")  # no line break


def test_latin1_caller_name_is_read_not_refused() -> None:
    env = AgiEnvironment.parse(b"agi_request: r\nagi_calleridname: H\xe9l\xe8ne\nagi_callerid: 0612\n\n")
    assert env.calleridname == "Hélène"
    assert AgiEnvironment.parse("agi_request: r\nagi_calleridname: Hélène\n\n".encode()).calleridname == "Hélène"


def test_non_ascii_key_is_refused() -> None:
    with pytest.raises(AgiEnvironmentError, match="does not start with 'agi_'"):
        AgiEnvironment.parse("agi_réquest: r\nagi_request: r\n\n".encode())


def test_long_line_is_refused_as_soon_as_the_cap_is_passed() -> None:
    conn = server_after_env()
    conn.send_command("GET VARIABLE X")
    for _ in range(MAX_LINE_BYTES // 4096):
        conn.receive_data(b"x" * 4096)
        assert conn.next_event() is NEED_DATA
    conn.receive_data(b"x")
    with pytest.raises(MessageTooLong, match=f"AGI line longer than {MAX_LINE_BYTES} bytes"):
        conn.next_event()


def test_environment_fed_byte_by_byte() -> None:
    conn = AgiServerConnection()
    for byte in ENV[:-1]:
        conn.receive_data(bytes([byte]))
        assert conn.next_event() is NEED_DATA
    conn.receive_data(ENV[-1:])
    event = conn.next_event()
    assert isinstance(event, EnvironmentReceived)
    assert event.env == AgiEnvironment.parse(ENV)


def test_many_lines_in_one_read() -> None:
    conn = server_after_env()
    for _ in range(2000):
        conn.send_command("NOOP")
    events = events_for(conn, b"200 result=0\n" * 2000)
    assert events == [CommandResult(200, "0")] * 2000


@pytest.mark.parametrize(("line", "data", "extras"), [
    ("200 result=1 (a) b=c", "a", {"b": "c"}),
    ("200 result=1 ((hello)(world)) endpos=2240", "(hello)(world)", {"endpos": "2240"}),
    ("200 result=1 (x) y) k=v", "x) y", {"k": "v"}),
    ("200 result=1 (a) results=2 foo bar", "a", {"results": "2 foo bar"}),
    ("200 result=1 (a) foo", None, {"(a)": "", "foo": ""}),
    ("200 result=1 (a=b)", "a=b", {}),
    ("200 result=1 (a) x-y=1", None, {"(a)": "", "x-y": "1"}),
    ("200 result=1 ()", "", {}),
])
def test_result_data_and_extras(line: str, data: str | None, extras: dict[str, str]) -> None:
    conn = server_after_env()
    conn.send_command("GET VARIABLE X")
    (event,) = events_for(conn, line.encode() + b"\n")
    assert event == CommandResult(200, "1", data, extras)
