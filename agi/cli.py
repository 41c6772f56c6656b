"""The ``permanence`` command: serve · call · chat · db · privacy · config.

Each subcommand reads the settings once (``--config`` or ``PERMANENCE_CONFIG``, else the
embedded defaults) and turns a :class:`agi.errors.ConfigError` into one clear line and
exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from agi.config import Settings, load_settings
from agi.console.cli import add_commands as add_console_commands
from agi.dialogue.chat import add_nlu_option
from agi.dialogue.trainer import add_nlu_parser
from agi.errors import ConfigError, DialogueError, PermanenceError
from agi.privacy_cli import add_parser as add_privacy_parser
from agi.privacy_cli import cmd_privacy

log = logging.getLogger("permanence")


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from agi.server import serve_forever

    try:
        asyncio.run(serve_forever(settings))
    except KeyboardInterrupt:
        log.info("stopped")
    return 0


def cmd_call(args: argparse.Namespace, settings: Settings) -> int:
    from agi.pbx.emulator import CallerTurn, emulate_call, emulate_freeswitch_call, read_wav, speak

    language = args.lang or _tenant_language(settings, args.tenant)
    turns: list[CallerTurn] = []
    for item in args.turns:
        kind, value = item
        start: Literal["after_agent"] | float = "after_agent"
        if args.barge_in is not None and not turns:
            start = args.barge_in
        if kind == "dtmf":  # keys, sent as AudioSocket DTMF frames / ESL DTMF events
            turns.append(CallerTurn(audio=b"", start=start, digits=value))
            continue
        audio = speak(value, voice=language) if kind == "say" else read_wav(Path(value))
        turns.append(CallerTurn(audio=audio, start=start))
    freeswitch = args.pbx == "freeswitch"
    host = args.host or (settings.freeswitch.esl_host if freeswitch else settings.server.agi_host)
    port = args.port or (settings.freeswitch.esl_port if freeswitch else settings.server.agi_port)
    place = emulate_freeswitch_call if freeswitch else emulate_call
    tenant = {"tenant": args.tenant} if freeswitch else {"path": args.tenant}
    try:
        call = asyncio.run(place(  # type: ignore[operator]
            host, port, **tenant, caller=args.caller, dnid=args.dnid, turns=turns,
            hangup_after=args.hangup_after, silence=args.silence, max_duration=args.max_duration,
            on_event=lambda event: print(event, flush=True)))
    except OSError as exc:
        print(f"permanence call: cannot reach Permanence at {host}:{port} ({exc.strerror or exc}); "
              "is `permanence serve` running?", file=sys.stderr)
        return 1
    if args.record:
        call.write_wav(Path(args.record))
        print(f"agent audio written to {args.record}", flush=True)
    print(f"call over: hung up by {call.hung_up_by}; {call.agent_speech_frames} agent speech "
          f"frames; variables {dict(call.variables)}", flush=True)
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from agi.dialogue.chat import run_chat

    try:
        run_chat(settings, args.tenant, debug=args.debug, nlu=args.nlu)
    except DialogueError as exc:
        print(f"permanence chat: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_nlu(args: argparse.Namespace, settings: Settings) -> int:
    from agi.dialogue.trainer import cmd_nlu as run

    return run(args, settings)


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from agi.booking.migrate import main_migrate

    return main_migrate(settings)


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    print("configuration is valid")
    s = settings.server
    print(f"  FastAGI      {s.agi_host}:{s.agi_port}")
    print(f"  AudioSocket  {s.audiosocket_host}:{s.audiosocket_port} (advertised {s.audiosocket_address})")
    fs = settings.freeswitch
    if fs.enabled:
        print(f"  FreeSWITCH   outbound ESL {fs.esl_host}:{fs.esl_port} from {fs.allowed_hosts}, "
              f"unicast UDP {fs.media_host}:{fs.media_port_min}-{fs.media_port_max}")
    print(f"  health       http://{s.health_host}:{s.health_port}/health")
    c = settings.console
    print("  console      " + (f"http://{c.host}:{c.port}/" if c.enabled else "off"))
    print(f"  store        {settings.store.backend}")
    print(f"  dialogue     {settings.dialogue.backend} ({settings.dialogue.project_dir})")
    for t in settings.tenants:
        print(f"  tenant {t.id}: {t.name} [{t.language}, {t.timezone}] "
              f"services={','.join(x.name for x in t.services)} transfer={t.transfer_target or '-'}")
    from agi.call.opening import config_warnings

    for line in config_warnings(settings):
        print(f"warning: {line}")
    return 0


def _tenant_language(settings: Settings, tenant_id: str) -> str:
    for tenant in settings.tenants:
        if tenant.id == tenant_id:
            return tenant.language
    return "fr"


def _dtmf_keys(value: str) -> str:
    if not value or any(c not in "0123456789*#ABCD" for c in value.upper()):
        raise argparse.ArgumentTypeError(f"{value!r}: keys are 0-9, *, # and A-D")
    return value.upper()


class _TurnAction(argparse.Action):
    """Keeps --say, --wav and --dtmf in the order given: they are the caller's turns."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        turns = list(getattr(namespace, "turns", None) or [])
        turns.append(((option_string or "--say").lstrip("-"), str(values)))
        namespace.turns = turns


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="permanence", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="TOML settings file (default: PERMANENCE_CONFIG or embedded defaults)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default from settings)")
    sub = parser.add_subparsers(dest="command", required=True)
    # --config and --log-level are also accepted after the subcommand (`permanence serve --config X`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--log-level", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    sub.add_parser("serve", parents=[common], help="answer calls: FastAGI + AudioSocket listeners, /health")

    call = sub.add_parser("call", parents=[common],
                          help="PBX emulator: place a call against a running server, as Asterisk would")
    call.add_argument("--pbx", choices=("asterisk", "freeswitch"), default="asterisk",
                      help="the PBX to play: Asterisk (FastAGI) or FreeSWITCH (outbound ESL + unicast)")
    call.add_argument("--host", help="FastAGI host (default: server.agi_host)")
    call.add_argument("--port", type=int, help="FastAGI port (default: server.agi_port)")
    call.add_argument("--tenant", default="demo", help="FastAGI path naming the tenant (default: demo)")
    call.add_argument("--caller", default="+33612345678", help="caller id the emulated PBX presents")
    call.add_argument("--dnid", default="0140000000", help="dialled number")
    call.add_argument("--say", action=_TurnAction, dest="turns", default=[],
                      help="a caller turn spoken with eSpeak NG (repeatable, in order)")
    call.add_argument("--wav", action=_TurnAction, dest="turns", default=[],
                      help="a caller turn from a WAV file (repeatable, in order)")
    call.add_argument("--dtmf", action=_TurnAction, dest="turns", default=[], type=_dtmf_keys,
                      help="a caller turn of keys, e.g. 0612345678# (repeatable, in order with --say)")
    call.add_argument("--lang", help="language of --say turns (default: the tenant's)")
    call.add_argument("--barge-in", type=float, metavar="SECONDS",
                      help="start the first turn this long after the agent starts speaking")
    call.add_argument("--hangup-after", type=int, metavar="N", help="hang up after caller turn N")
    call.add_argument("--silence", choices=("frames", "none"), default="frames",
                      help="send silence frames while the caller is quiet, or nothing (Local channels)")
    call.add_argument("--max-duration", type=float, default=120.0, help="give up after this many seconds")
    call.add_argument("--record", metavar="WAV", help="write the agent's audio here")

    chat = sub.add_parser("chat", parents=[common], help="the same dialogue in text, for trainers (like rasa shell)")
    chat.add_argument("--tenant", default="demo")
    chat.add_argument("--debug", action="store_true", help="show intent, confidence and slots")
    add_nlu_option(chat)
    add_nlu_parser(sub)

    db = sub.add_parser("db", parents=[common], help="database maintenance")
    db.add_argument("action", choices=("migrate",), help="migrate: apply pending schema migrations")

    add_privacy_parser(sub, common)

    sub.add_parser("config", parents=[common], help="validate the settings and print a summary")
    add_console_commands(sub, common)  # usage, calls, appointments, users, access-log
    return parser


COMMANDS = {"serve": cmd_serve, "call": cmd_call, "chat": cmd_chat, "db": cmd_db, "nlu": cmd_nlu,
            "privacy": cmd_privacy, "config": cmd_config}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"permanence: configuration error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(args.log_level or settings.logging.level)
    try:
        return (getattr(args, "handler", None) or COMMANDS[args.command])(args, settings)
    except PermanenceError as exc:
        print(f"permanence: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
