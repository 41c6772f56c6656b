"""Inbound ESL for ``api`` commands (uuid_kill, uuid_transfer), on greenswitch.

greenswitch (the design card's ESL library) is gevent-based. It is sound for this: one
short connection per command, ``auth``, one ``api``, ``exit``. It runs in a worker thread
of its own, where gevent makes that thread's own hub; the asyncio process is never
monkey-patched. Its known defects are kept away: ``send()`` and the wait for
``auth/request`` have no timeout (a ``gevent.Timeout`` bounds the whole exchange), and
its event parser (greenswitch#78) never sees an event here (no ``events`` command).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from agi.config import FreeSwitchSettings
from agi.errors import EslError

__all__ = ["InboundEsl"]

log = logging.getLogger(__name__)

API_TIMEOUT: Final = 5.0


class InboundEsl:
    """``await client.api("uuid_kill <uuid>")`` -> FreeSWITCH's answer text; EslError else."""

    def __init__(self, settings: FreeSwitchSettings, timeout: float = API_TIMEOUT) -> None:
        self._host, self._port = settings.inbound_host, settings.inbound_port
        self._password = settings.inbound_password
        self.timeout = timeout

    async def api(self, command: str) -> str:
        if "\n" in command or "\r" in command:
            raise EslError(f"api command must be one line: {command[:60]!r}")
        return await asyncio.to_thread(self._api, command)

    def _api(self, command: str) -> str:
        """In a worker thread: gevent gives it a hub of its own, destroyed at the end."""
        import gevent  # only here: gevent must never be imported into the asyncio thread's work
        import greenswitch

        hub = gevent.get_hub()
        client: Any = greenswitch.InboundESL(self._host, self._port, self._password,
                                              timeout=self.timeout)
        try:
            with gevent.Timeout(self.timeout, EslError(
                    f"inbound ESL {self._host}:{self._port}: no answer within {self.timeout:.0f} s")):
                client.connect()
                response = client.send(f"api {command}")
            text = str(response.data)
            if text.startswith("-ERR"):
                raise EslError(f"FreeSWITCH refused api {command.split()[0]}: {text.strip()}")
            return text
        except EslError:
            raise
        except ValueError as exc:  # greenswitch: "Invalid password."
            raise EslError(f"inbound ESL {self._host}:{self._port}: password refused "
                           "(freeswitch.inbound_password vs event_socket.conf.xml)") from exc
        except (greenswitch.esl.NotConnectedError, OSError) as exc:
            raise EslError(f"inbound ESL {self._host}:{self._port}: {exc or 'connection refused or closed'} "
                           "(rude-rejection: Permanence's address is outside apply-inbound-acl)") from exc
        finally:
            try:
                if client.connected:
                    with gevent.Timeout(1.0, False):
                        client.stop()
                elif getattr(client, "sock", None) is not None:
                    client._run = False
                    client.sock.close()
            finally:
                hub.destroy(destroy_loop=True)
