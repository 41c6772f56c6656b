"""A bounded slice of ``make fuzz`` (bench/fuzz.py): every codec on random splits and
mutated input raises only the project's protocol errors; the full run is ≥ 10,000 inputs."""

from __future__ import annotations

import pytest

from agi.errors import MessageTooLong
from agi.protocols import agi as agip
from bench import fuzz

SLICE = 60  # inputs per property here; make fuzz runs 5,000 per property


@pytest.mark.parametrize("codec", fuzz.codecs(), ids=lambda c: c.name)
def test_codec_slice(codec: fuzz.Codec) -> None:
    tally = fuzz.Tally()
    fuzz.run(codec, SLICE, tally, raise_unexpected=True)
    assert tally.unexpected == {}
    assert tally.inputs[codec.name] >= SLICE  # both properties ran


def test_hostile_lines_are_refused_or_parsed() -> None:
    """The 1 MB line is refused at the cap; the 60 KB line of ')' parses (linear scan)."""
    conn = agip.AgiServerConnection()
    conn.receive_data(fuzz.AGI_ENV)
    conn.next_event()
    conn.send_command("GET VARIABLE X")
    conn.send_command("GET VARIABLE Y")
    conn.receive_data(b"200 result=1 (" + b"a) b=( c " * 6500 + b"\n")
    event = conn.next_event()
    assert isinstance(event, agip.CommandResult) and event.data is not None
    assert event.data.startswith("a) b=( c")
    with pytest.raises(MessageTooLong):
        for _ in range(0, 1 << 20, 4096):
            conn.receive_data(b"x" * 4096)
            conn.next_event()
