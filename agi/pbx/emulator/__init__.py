"""The PBX emulator: Asterisk (FastAGI + AudioSocket + AMI) and FreeSWITCH (outbound ESL + unicast).

Each side speaks its PBX's real wire protocol against a running Permanence; see
docs/emulator.md for what each mirrors and where it simplifies. Used by ``permanence
call``, the bench and the end-to-end tests.
"""

from agi.pbx.emulator.ami import EmulatedAmi, TargetLeg, TransferTarget
from agi.pbx.emulator.asterisk import (
    ACTIVITY_TIMEOUT,
    AGENT_SILENCE_TO_TALK,
    SPEECH_RMS_THRESHOLD,
    CallerTurn,
    CallEvent,
    EmulatedCall,
    TurnTiming,
    emulate_call,
    is_speech,
    read_wav,
    speak,
    write_wav,
)
from agi.pbx.emulator.freeswitch import emulate_freeswitch_call

__all__ = [
    "emulate_call", "emulate_freeswitch_call", "CallerTurn", "CallEvent", "EmulatedCall",
    "TurnTiming", "read_wav", "speak", "write_wav", "is_speech", "SPEECH_RMS_THRESHOLD",
    "AGENT_SILENCE_TO_TALK", "ACTIVITY_TIMEOUT", "EmulatedAmi", "TransferTarget", "TargetLeg",
]
