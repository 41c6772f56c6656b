"""The emulator's FreeSWITCH inbound ESL port (mod_event_socket.c, FREESWITCH.md): an
``auth/request`` on connect; a wrong password gets ``-ERR invalid`` and the socket is
dropped; a peer outside the ACL gets ``text/rude-rejection`` "Access Denied, go away.";
``api`` commands are answered with an ``api/response`` body; ``exit`` says goodbye."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agi.protocols import esl

__all__ = ["InboundEslEmulator"]


class InboundEslEmulator:
    """A listener on loopback; ``answers`` maps an api command to its output."""

    def __init__(self, password: str, *, allowed: Callable[[str], bool] = lambda host: True,
                 answers: Callable[[str], str] = lambda command: "+OK\n") -> None:
        self.password, self.allowed, self.answers = password, allowed, answers
        self.commands: list[str] = []
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> InboundEslEmulator:
        self._server = await asyncio.start_server(self._on_connect, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not self.allowed(str(writer.get_extra_info("peername")[0])):
                writer.write(esl.encode_message({"Content-Type": "text/rude-rejection"},
                                                b"Access Denied, go away.\n"))
                return
            writer.write(esl.encode_message({"Content-Type": "auth/request"}))
            parser, authed = esl.EslCommandParser(), False
            while True:
                event = parser.next_event()
                if event is esl.NEED_DATA:
                    parser.receive_data(await asyncio.wait_for(reader.read(4096), 10))
                    continue
                if not isinstance(event, esl.CommandReceived):
                    return
                self.commands.append(event.line)
                reply = self._reply(event.line, authed)
                authed = authed or reply.startswith(b"Content-Type: command/reply\nReply-Text: +OK accepted")
                writer.write(reply)
                await writer.drain()
                if b"-ERR invalid" in reply or event.line == "exit":
                    return
        except (TimeoutError, ConnectionError):
            return
        finally:
            writer.close()

    def _reply(self, line: str, authed: bool) -> bytes:
        reply = lambda text: esl.encode_message({"Content-Type": "command/reply", "Reply-Text": text})  # noqa: E731
        if not authed:
            ok = line == f"auth {self.password}"
            return reply("+OK accepted" if ok else "-ERR invalid")
        if line.startswith("api "):
            return esl.encode_message({"Content-Type": "api/response"}, self.answers(line[4:]).encode())
        if line == "exit":
            return reply("+OK bye")
        return reply("-ERR command not found")
