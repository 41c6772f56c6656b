"""Fuzzing of the sans-IO protocol cores: random splits and mutated input.

    make fuzz                                  # or: .venv/bin/python -m bench.fuzz [--examples N]

Each codec is fed (1) a valid transcript cut at random places, whose events must equal
those of the same bytes fed at once, and (2) the transcript mutated (bytes flipped,
inserted, deleted, runs repeated, random bytes), which may only raise the project's
protocol errors (``agi.errors.ProtocolError``). Any other exception type is counted and
printed with an example. Then the hostile inputs of issue #9 are timed in CPU seconds.
The suite runs a bounded slice of the same properties (tests/hardening/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agi.errors import ProtocolError
from agi.protocols import agi as agip
from agi.protocols import audiosocket as asock

Driver = Callable[[Sequence[bytes]], list[Any]]


def feed(conn: Any, chunks: Sequence[bytes], need_data: object, closed: type,
         on_event: Callable[[Any], None] | None = None) -> list[Any]:
    """Every event of ``chunks`` then end of stream, as an adapter would read them."""
    events: list[Any] = []
    for chunk in [*chunks, b""]:
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not need_data:
            events.append(event)
            if on_event is not None:
                on_event(event)
            if isinstance(event, closed):
                return events
    return events


def agi_server(chunks: Sequence[bytes]) -> list[Any]:
    """Permanence's FastAGI side: an environment, then answers to 64 outstanding NOOPs."""
    conn = agip.AgiServerConnection()

    def commands(event: Any) -> None:
        if isinstance(event, agip.EnvironmentReceived):
            for _ in range(64):
                conn.send_command("NOOP")

    return feed(conn, chunks, agip.NEED_DATA, agip.ConnectionClosed, commands)


def agi_client(chunks: Sequence[bytes]) -> list[Any]:
    """The emulator's Asterisk side: command lines."""
    return feed(agip.AgiClientConnection(), chunks, agip.NEED_DATA, agip.ConnectionClosed)


def audiosocket(chunks: Sequence[bytes]) -> list[Any]:
    return feed(asock.AudioSocketDecoder(), chunks, asock.NEED_DATA, asock.ConnectionClosed)


AGI_ENV = (b"agi_network: yes\nagi_network_script: demo\nagi_request: agi://10.0.0.1/demo\n"
           b"agi_channel: PJSIP/1-0001\nagi_language: fr\nagi_uniqueid: 1700000000.1\n"
           b"agi_callerid: +33612345678\nagi_calleridname: Jean\nagi_dnid: 0140000000\n"
           b"agi_context: default\nagi_extension: 100\nagi_threadid: 1\nagi_arg_1: x\n\n")
AGI_REPLIES = (b"100 result=0 Trying...\n200 result=1 (hello world) endpos=2240\n"
               b"200 result=0\nHANGUP\n510 Invalid or unknown command\n"
               b"520-Invalid command syntax.  Proper usage follows:\n Usage: NOOP\n"
               b"520 End of proper usage.\n200 result=1 ((a)(b)) results=2 foo bar\n")
AGI_COMMANDS = (b'ANSWER\nEXEC AudioSocket "0b1e,127.0.0.1:9092"\nSET VARIABLE X "a b\\"c"\n'
                b"GET VARIABLE CALLERID(num)\n\nSTREAM FILE hello \"\"\nBOGUS x\n")
AUDIO = (asock.encode_uuid("0b1e9a37-8b36-4a2c-9a0e-9c1f3f2b5c11") + asock.encode_audio(bytes(320))
         + asock.encode_dtmf("5") + asock.encode_audio(bytes(range(256)) * 2) + asock.encode_error(1)
         + asock.encode_hangup())


@dataclass(frozen=True)
class Codec:
    name: str
    driver: Driver
    transcript: bytes


def codecs() -> list[Codec]:
    found = [Codec("agi-server", agi_server, AGI_ENV + AGI_REPLIES * 8),
             Codec("agi-client", agi_client, AGI_COMMANDS * 8),
             Codec("audiosocket", audiosocket, AUDIO * 4)]
    esl = _optional("bench.fuzz_esl")  # the FreeSWITCH event-socket core, once it has landed
    if esl is not None:
        found += esl.codecs(Codec)
    return found


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        return None


@st.composite
def splits(draw: st.DrawFn, data: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=24)))
    edges = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]  # b"" is EOF


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "repeat", "random", "truncate"]))
        at = draw(st.integers(0, max(0, len(out) - 1)))
        if op == "flip" and out:
            out[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8)) or b"\n"
        elif op == "delete":
            del out[at:at + draw(st.integers(1, 16))]
        elif op == "repeat":
            out[at:at] = out[at:at + draw(st.integers(1, 64))] * draw(st.integers(1, 50))
        elif op == "random":
            out[at:at] = draw(st.binary(max_size=256))
        else:
            del out[at:]
    return bytes(out)


@dataclass
class Tally:
    inputs: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, bytes] = field(default_factory=dict)


def run(codec: Codec, examples: int, tally: Tally, *, raise_unexpected: bool) -> None:
    """Both properties of one codec, ``examples`` inputs each."""
    config = settings(max_examples=examples, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))

    @config
    @given(chunks=splits(codec.transcript))
    def split_invariant(chunks: list[bytes]) -> None:
        tally.inputs[codec.name] += 1
        assert _outcome(codec.driver, chunks) == _outcome(codec.driver, [codec.transcript])

    @config
    @given(data=mutated(codec.transcript), seed=st.randoms(use_true_random=False))
    def only_protocol_errors(data: bytes, seed: Any) -> None:
        tally.inputs[codec.name] += 1
        cuts = sorted(seed.randrange(len(data) + 1) for _ in range(seed.randrange(8)))
        edges = [0, *cuts, len(data)]
        try:
            codec.driver([data[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a])
        except ProtocolError:
            pass
        except Exception as exc:  # the point of fuzzing: record every other type
            kind = f"{codec.name}: {type(exc).__name__}: {exc}"[:160]
            tally.unexpected[kind] += 1
            tally.examples.setdefault(kind, data)
            if raise_unexpected:
                raise

    split_invariant()
    only_protocol_errors()


def _outcome(driver: Driver, chunks: Sequence[bytes]) -> object:
    try:
        return driver(chunks)
    except ProtocolError as exc:
        return type(exc), str(exc)


def hostile_cpu() -> dict[str, float]:
    """CPU seconds of the issue's hostile inputs through the AGI core, as a server reads them."""
    results: dict[str, float] = {}
    conn = agip.AgiServerConnection()
    conn.receive_data(AGI_ENV)
    conn.next_event()
    conn.send_command("GET VARIABLE X")
    started = time.process_time()
    line = b"200 result=1 (" + b"x) y " * (1 << 18)
    try:
        for at in range(0, 1 << 20, 4096):
            conn.receive_data(line[at:at + 4096])
            conn.next_event()
    except ProtocolError:
        pass
    results["1 MB reply line in 4 KiB reads"] = time.process_time() - started
    conn = agip.AgiServerConnection()
    conn.receive_data(AGI_ENV)
    conn.next_event()
    conn.send_command("GET VARIABLE X")
    line = b"200 result=1 (" + b"a) b=( c " * 6500 + b"\n"  # 60 KB, a ')' every 10 bytes
    started = time.process_time()
    conn.receive_data(line)
    conn.next_event()
    results["60 KB reply line of ')' and pairs"] = time.process_time() - started
    conn = agip.AgiServerConnection()
    env = b"agi_request: r\n" + b"".join(b"agi_k%05d: %s\n" % (i, b"v" * 50) for i in range(1100))
    started = time.process_time()
    try:
        for byte in env[:64 * 1024]:
            conn.receive_data(bytes([byte]))
            conn.next_event()
    except ProtocolError:
        pass
    results["64 KiB environment byte by byte"] = time.process_time() - started
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000,
                        help="inputs per property (two properties per codec; default 5000)")
    args = parser.parse_args(argv)
    tally = Tally()
    for codec in codecs():
        run(codec, args.examples, tally, raise_unexpected=False)
    for name, count in tally.inputs.items():
        print(f"{name:14} {count:7d} inputs")
    timed = hostile_cpu()
    esl = _optional("bench.fuzz_esl")
    if esl is not None:
        timed |= esl.hostile()
    for name, seconds in timed.items():
        print(f"{name:34} {seconds * 1000:7.1f} ms CPU")
    print(f"unexpected exception types: {len(tally.unexpected)}")
    for kind, count in tally.unexpected.items():
        print(f"  {count:5d} × {kind}\n        e.g. {tally.examples[kind][:120]!r}")
    return 1 if tally.unexpected else 0


if __name__ == "__main__":
    raise SystemExit(main())
