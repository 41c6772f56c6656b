"""I/O adapters for the PBX side: Asterisk (FastAGI/AudioSocket), FreeSWITCH (outbound ESL,
unicast) and the emulator of both.

All wire parsing lives in ``agi.protocols``; these modules move bytes and map events to
calls and typed errors.
"""

from agi.pbx.asterisk import AgiChannel, AudioSocketServer, AudioSocketStream, FastAgiServer
from agi.pbx.emulator import CallerTurn, CallEvent, EmulatedCall, emulate_call, emulate_freeswitch_call, read_wav, speak

__all__ = [
    "AgiChannel", "AudioSocketServer", "AudioSocketStream", "FastAgiServer",
    "CallerTurn", "CallEvent", "EmulatedCall", "emulate_call", "emulate_freeswitch_call", "read_wav", "speak",
]
