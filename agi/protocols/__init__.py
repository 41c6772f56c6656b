"""Sans-IO protocol cores: bytes in, typed events out; no sockets, no asyncio.

``agi`` is Asterisk AGI as spoken over FastAGI; ``audiosocket`` is Asterisk's AudioSocket
media framing. The asyncio adapters that drive them live in ``agi.pbx``.
"""

from agi.protocols import agi, audiosocket

__all__ = ["agi", "audiosocket"]
