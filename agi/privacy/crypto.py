"""Encryption at rest of what callers say (GDPR art. 32): a keyring and sealed values.

A sealed text is ``enc1:<key id>:<base64url(nonce || AES-256-GCM ciphertext+tag)>``; the
key id names the key that sealed it, so keys can be rotated (a new key seals, old ones
still open until ``permanence privacy rotate-key`` has re-sealed everything). The key id
is also the associated data, so a ciphertext moved under another id fails to open.
A sealed JSON document (call data, lead details) is the JSON object ``{"$enc": <sealed
text of its JSON>}``: still valid JSON for the ``jsonb`` and ``json_valid`` columns.

Text without the prefix is legacy clear text (rows written before encryption) and reads
as it is, until ``permanence privacy encrypt-existing`` seals it.

The keyring lives outside the database: a file of ``<id> <base64url 32-byte key>`` lines
(the last line seals), or the same lines in an environment variable. A missing key, a
wrong key or a damaged ciphertext is a :class:`KeyringError`, never garbage.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agi.booking.store import dump_call_data
from agi.errors import PermanenceError

log = logging.getLogger(__name__)

PREFIX = "enc1:"
SEALED_KEY = "$enc"  # the one key of a sealed JSON document
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; random, so 2**32 seals per key stay safe
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class KeyringError(PermanenceError):
    """The encryption key is missing, malformed or not the one that sealed a value."""


@dataclass(frozen=True)
class Keyring:
    """Named AES-256-GCM keys; ``current`` seals, every key opens what it sealed."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyringError(f"current key {self.current!r} is not in the keyring")
        for key_id, key in self.keys.items():
            if not _KEY_ID.fullmatch(key_id) or len(key) != KEY_BYTES:
                raise KeyringError(f"key {key_id!r} is invalid (want an id of letters, digits, "
                                   f"'-' or '_' and {KEY_BYTES} bytes)")

    # text ---------------------------------------------------------------------
    def seal(self, text: str) -> str:
        """``text`` encrypted with the current key (already sealed text is left alone)."""
        if is_sealed(text):
            return text
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(NONCE_BYTES)
        body = AESGCM(self.keys[self.current]).encrypt(nonce, text.encode(), self.current.encode())
        return f"{PREFIX}{self.current}:{base64.urlsafe_b64encode(nonce + body).decode()}"

    def open(self, value: str) -> str:
        """The clear text of a sealed value; clear text (legacy rows) as it is."""
        if not is_sealed(value):
            return value
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key_id, _, body = value[len(PREFIX):].partition(":")
        key = self.keys.get(key_id)
        if key is None:
            raise KeyringError(f"a value was sealed with key {key_id!r}, which the keyring "
                               f"does not hold (it has {', '.join(sorted(self.keys))}): "
                               "configure the key file that was used, see docs/privacy.md")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            clear = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key_id.encode())
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise KeyringError(f"a value sealed with key {key_id!r} does not open: wrong key "
                               "or damaged data") from exc
        return clear.decode()

    # bytes (audio) --------------------------------------------------------------
    def seal_bytes(self, data: bytes, context: bytes) -> bytes:
        """``data`` encrypted with the current key: nonce || ciphertext || tag, bound to
        ``context`` (which must be given again to open it: a chunk cannot be moved)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + AESGCM(self.keys[self.current]).encrypt(nonce, data, context)

    def open_bytes(self, key_id: str, sealed: bytes, context: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = self.keys.get(key_id)
        if key is None:
            raise KeyringError(f"audio sealed with key {key_id!r}, which the keyring does not hold")
        try:
            return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except (InvalidTag, ValueError) as exc:
            raise KeyringError(f"audio sealed with key {key_id!r} does not open: wrong key "
                               "or damaged data") from exc

    def reseal(self, value: str) -> str:
        """``value`` sealed with the current key (clear text sealed, other keys re-sealed)."""
        if is_sealed(value) and value.startswith(f"{PREFIX}{self.current}:"):
            return value
        return self.seal(self.open(value))

    # JSON documents -----------------------------------------------------------
    def seal_doc(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON object as ``{"$enc": sealed JSON text}``."""
        if _is_sealed_doc(doc):
            return dict(doc)
        return {SEALED_KEY: self.seal(dump_call_data(doc))}

    def open_doc(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        if not _is_sealed_doc(doc):
            return dict(doc)
        opened: dict[str, Any] = json.loads(self.open(doc[SEALED_KEY]))
        return opened

    def open_any(self, value: Any) -> Any:
        """``value`` with every sealed text and sealed document inside it opened
        (payloads, exports: nested dicts and lists)."""
        if isinstance(value, str):
            return self.open(value)
        if isinstance(value, Mapping):
            if _is_sealed_doc(value):
                return self.open_any(self.open_doc(value))
            return {k: self.open_any(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.open_any(v) for v in value]
        return value

    def reseal_any(self, value: Any) -> Any:
        """A stored column value (text or JSON document) sealed with the current key."""
        if isinstance(value, str):
            return self.reseal(value)
        if isinstance(value, Mapping) and not _current_doc(self, value):
            return self.seal_doc(self.open_doc(value))
        return value

    # files --------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, source: str) -> Keyring:
        """Lines ``<id> <base64url key>`` (``#`` comments); the last key seals."""
        keys: dict[str, bytes] = {}
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key_id, _, encoded = line.partition(" ")
            try:
                keys[key_id] = base64.urlsafe_b64decode(encoded.strip().encode())
            except (binascii.Error, ValueError) as exc:
                raise KeyringError(f"{source} line {number}: the key is not base64") from exc
        if not keys:
            raise KeyringError(f"{source} holds no key")
        return cls(keys, list(keys)[-1])


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def _is_sealed_doc(doc: Mapping[str, Any]) -> bool:
    return len(doc) == 1 and is_sealed(doc.get(SEALED_KEY))


def _current_doc(ring: Keyring, doc: Mapping[str, Any]) -> bool:
    return _is_sealed_doc(doc) and str(doc[SEALED_KEY]).startswith(f"{PREFIX}{ring.current}:")


def new_key_line(key_id: str) -> str:
    """One keyring line with a fresh random key."""
    if not _KEY_ID.fullmatch(key_id):
        raise KeyringError(f"invalid key id {key_id!r}: letters, digits, '-' or '_'")
    return f"{key_id} {base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()}\n"


def load_keyring(key_file: str, key_env: str, *, create: bool,
                 environ: Mapping[str, str] | None = None) -> Keyring:
    """The keyring from the environment variable ``key_env`` if set, else ``key_file``.

    A missing file is created with one new key (mode 0600, logged) when ``create`` is true
    (the embedded defaults: ``make run`` works out of the box); otherwise it is a
    :class:`KeyringError` that says what to configure.
    """
    env = os.environ if environ is None else environ
    if key_env and env.get(key_env):
        return Keyring.parse(env[key_env].replace(";", "\n"), f"${key_env}")
    path = Path(key_file)
    if not path.exists():
        if not create:
            raise KeyringError(
                f"privacy.key_file: the encryption key {path} does not exist (create one with "
                "`permanence privacy new-key`, set ${key_env}, or set create_key = true)")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("# Permanence encryption keys: keep this file out of backups of the "
                      "database and out of git\n" + new_key_line("k1"))
        log.warning("privacy: created a new encryption key in %s (mode 0600); back it up "
                    "apart from the database: without it, transcripts cannot be read", path)
    if path.stat().st_mode & 0o077:
        log.warning("privacy: %s is readable by other users; chmod 600 it", path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise KeyringError(f"privacy.key_file: cannot read {path}: {exc.strerror}") from exc
    return Keyring.parse(text, str(path))


def add_key(key_file: str) -> str:
    """Append a fresh key to the key file (it becomes the sealing key); its id."""
    path = Path(key_file)
    ring = Keyring.parse(path.read_text(), str(path))
    number = 1 + max((int(k[1:]) for k in ring.keys if re.fullmatch(r"k\d+", k)), default=0)
    key_id = f"k{number}"
    with path.open("a") as out:
        out.write(new_key_line(key_id))
    return key_id
