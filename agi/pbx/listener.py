"""What the PBX fronts' TCP listeners share: stopping with a grace period."""

from __future__ import annotations

import asyncio
from collections.abc import Set


async def stop_serving(server: asyncio.Server | None, sessions: Set[asyncio.Task[object]],
                       grace: float = 0.0) -> None:
    """Stop listening; give live sessions ``grace`` seconds to end, then cancel them."""
    if server is not None:
        server.close()
    if grace > 0 and sessions:
        await asyncio.wait(list(sessions), timeout=grace)
    for task in list(sessions):
        task.cancel()
    await asyncio.gather(*sessions, return_exceptions=True)
    if server is not None:
        # Since Python 3.12 this waits for open connections: cancel sessions first.
        await server.wait_closed()
