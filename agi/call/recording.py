"""Call recording by consent only (GDPR art. 6(1)(a), 7; CNIL): frames in, encrypted
chunks out, and the caller's refusal at any moment.

Off unless the tenant enables it with a purpose (``recording = {enabled, purpose,
retention_days}``, :mod:`agi.privacy_settings`). The caller is told first
(:func:`recording_notice`); :func:`is_refusal` recognises a spoken refusal ("je refuse
l'enregistrement", "don't record me"...) and :data:`REFUSE_DIGIT` a keypad one. A refusal
stops the recorder and deletes everything recorded of that call: no file, no row.

File format (``<dir>/<tenant>/<call id>.rec``, mode 0600)::

    b"PRMREC1 <key id> <sample rate>\\n"
    then chunks: u32 big-endian length || nonce || AES-256-GCM ciphertext || tag

Each chunk holds up to :data:`CHUNK_FRAMES` frames of 16-bit mono PCM and is bound to
``<call id>:<chunk number>``, so chunks can neither be reordered nor moved to another
call's file. :func:`read_recording` gives the PCM back with the key; any other key is a
:class:`~agi.privacy.crypto.KeyringError`.
"""

from __future__ import annotations

import os
import re
import struct
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from agi.booking.privacy_register import RecordingRow
from agi.booking.store import Store
from agi.config import Settings, Tenant
from agi.errors import StoreError
from agi.privacy.crypto import Keyring, KeyringError, load_keyring

MAGIC = b"PRMREC1"
CHUNK_FRAMES = 50  # one second of 20 ms frames per encrypted chunk
# 9 reads the full privacy notice (agi.call_settings.NOTICE_DIGIT): refusing is the key next to it.
REFUSE_DIGIT = "8"
# A chunk longer than this is a damaged file (a second at 16 kHz is 32 000 bytes).
MAX_CHUNK_BYTES = 1 << 20
_LENGTH = struct.Struct(">I")

_NOTICE = {
    "fr": "Cet appel est enregistré ({purpose}). Pour refuser, dites « je refuse "
          "l'enregistrement » à tout moment, ou appuyez sur {digit} hors saisie d'un "
          "numéro ou d'une date.",
    "en": "This call is recorded ({purpose}). To refuse, say \"don't record\" at any "
          "time, or press {digit} when not keying in a number or a date.",
}
STOPPED = {
    "fr": "Entendu, l'enregistrement est arrêté et effacé.",
    "en": "Understood: the recording is stopped and deleted.",
}

# A refusal names the recording (or "record") and says no to it, in either order.
_RECORD = r"(?:enregistr\w*|record\w*|taping|tape)"
_NO = (r"(?:refuse\w*|refus|pas|non|ne\s|n\s|arret\w*|stop\w*|coupe\w*|don\s?t|do not|"
       r"dont|no|not|never|jamais|sans|without|opt out|object\w*|oppose\w*|supprim\w*|"
       r"efface\w*|delete|erase|turn off|switch off|desactiv\w*|interromp\w*|halt|quit|"
       r"cesse\w*|pause)")
# Up to four words between the refusal and the recording ("je ne souhaite pas que l'appel
# soit enregistré"), one the other way ("enregistrez-moi pas"). A false alarm only stops
# the recording: the error, if any, falls on the side of the caller's privacy.
_REFUSAL = re.compile(rf"\b{_NO}\b(?:\W+\w+){{0,4}}?\W+{_RECORD}|\b{_RECORD}\w*"
                      rf"(?:\W+\w+){{0,1}}?\W+(?:{_NO}|off)\b")


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[’'`]", " ", folded)


def is_refusal(text: str) -> bool:
    """True when the caller refuses or stops the recording, in French or English."""
    return bool(_REFUSAL.search(_plain(text)))


def recording_notice(language: str, purpose: str) -> str:
    """What the caller hears before any recording starts."""
    return _NOTICE[language].format(purpose=purpose, digit=REFUSE_DIGIT)


class CallRecorder:
    """Records one call's frames into an encrypted file; see the module docstring."""

    def __init__(self, directory: Path, tenant_id: str, call_id: str, keyring: Keyring, *,
                 sample_rate: int = 8000, now: datetime | None = None) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", call_id) or not re.fullmatch(
                r"[A-Za-z0-9_.-]+", tenant_id):
            raise ValueError(f"cannot name a recording file after {tenant_id!r}/{call_id!r}")
        self.tenant_id, self.call_id, self.keyring = tenant_id, call_id, keyring
        self.path = directory / tenant_id / f"{call_id}.rec"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.state: Literal["recording", "refused", "closed"] = "recording"
        self.started_at = now or datetime.now(UTC)
        self._buffer: list[bytes] = []
        self._chunks = 0
        self._bytes = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._file.write(b"%s %s %d\n" % (MAGIC, keyring.current.encode(), sample_rate))

    def feed(self, pcm: bytes) -> None:
        """One frame of audio (ignored once refused or closed)."""
        if self.state != "recording":
            return
        self._buffer.append(pcm)
        self._bytes += len(pcm)
        if len(self._buffer) >= CHUNK_FRAMES:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        context = f"{self.call_id}:{self._chunks}".encode()
        sealed = self.keyring.seal_bytes(b"".join(self._buffer), context)
        self._file.write(_LENGTH.pack(len(sealed)) + sealed)
        self._buffer.clear()
        self._chunks += 1

    def refuse(self) -> None:
        """The caller refused: stop and delete everything recorded of this call."""
        if self.state == "refused":
            return
        self._buffer.clear()
        self._file.close()
        self.path.unlink(missing_ok=True)
        self.state = "refused"

    def close(self, now: datetime | None = None) -> RecordingRow | None:
        """Finish the file; the recording, or None if refused or empty (file removed)."""
        if self.state != "recording":
            return None
        self._flush()
        self._file.close()
        self.state = "closed"
        if self._bytes == 0:
            self.path.unlink(missing_ok=True)
            return None
        return RecordingRow(self.call_id, self.tenant_id, str(self.path), self.keyring.current,
                            self._bytes, self.started_at, now or datetime.now(UTC))


def read_recording(path: Path, keyring: Keyring) -> tuple[int, bytes]:
    """The sample rate and PCM of a recording file; :class:`KeyringError` if the key is
    not the one that sealed it or the file is damaged."""
    call_id = path.stem
    with path.open("rb") as f:
        header = f.readline().split()
        if len(header) != 3 or header[0] != MAGIC:
            raise KeyringError(f"{path} is not a Permanence recording")
        key_id, rate = header[1].decode(), int(header[2])
        pcm, index = [], 0
        while head := f.read(_LENGTH.size):
            (size,) = _LENGTH.unpack(head)
            if size > MAX_CHUNK_BYTES:
                raise KeyringError(f"{path}: damaged chunk {index}")
            pcm.append(keyring.open_bytes(key_id, f.read(size), f"{call_id}:{index}".encode()))
            index += 1
    return rate, b"".join(pcm)


class Recordings:
    """Where a server's recordings go: starts a recorder for a call of a tenant that
    records, and keeps the row of a finished one (``store.privacy()``)."""

    def __init__(self, directory: Path, keyring: Keyring, store: Store) -> None:
        self.directory, self.keyring, self.store = directory, keyring, store

    def start(self, tenant: Tenant, call_id: str, sample_rate: int = 8000) -> CallRecorder | None:
        """A recorder when the tenant records calls (after the caller heard the notice)."""
        if not tenant.privacy.recording.enabled:
            return None
        return CallRecorder(self.directory, tenant.id, call_id, self.keyring,
                            sample_rate=sample_rate)

    def finish(self, recorder: CallRecorder) -> RecordingRow | None:
        """Close the file and keep its row; a refused or empty one leaves nothing."""
        row = recorder.close()
        if row is not None:
            try:
                self.store.privacy().add_recording(row)
            except StoreError:
                Path(row.path).unlink(missing_ok=True)  # never a file nobody can find
                raise
        return row


def delete_recordings(store: Store, rows: list[RecordingRow]) -> int:
    """Delete the files and rows of ``rows`` (purge, erasure); how many files went."""
    register, gone = store.privacy(), 0
    for row in rows:
        path = Path(row.path)
        if path.exists():
            path.unlink()
            gone += 1
        register.delete_recording(row.call_id)
    return gone


class CallConsent:
    """The recording of one call: told first, started after, stopped and deleted on the
    caller's refusal, kept at the end. What the call session holds."""

    def __init__(self, recordings: Recordings, tenant: Tenant, call_id: str) -> None:
        self._recordings = recordings
        self._tenant = tenant
        self._call_id = call_id
        self.recorder: CallRecorder | None = None
        self.notice = recording_notice(tenant.language, tenant.privacy.recording.purpose)
        self.stopped = STOPPED[tenant.language]

    def begin(self) -> CallRecorder | None:
        """Start recording (call it once the notice was heard in full)."""
        self.recorder = self._recordings.start(self._tenant, self._call_id)
        return self.recorder

    def refused_by(self, text: str = "", digit: str = "", *, keyed: bool = False) -> bool:
        """True (and the recording deleted) when this utterance or key refuses it.

        ``keyed``: the caller is keying an entry (a phone number, a date), where an 8 is
        a digit of the entry and must stay one; only words refuse then."""
        if self.recorder is None or self.recorder.state != "recording":
            return False
        if (digit == REFUSE_DIGIT and not keyed) or (text and is_refusal(text)):
            self.recorder.refuse()
            return True
        return False

    def end(self) -> RecordingRow | None:
        return self._recordings.finish(self.recorder) if self.recorder is not None else None


def recordings_for(settings: Settings, store: Store) -> Recordings | None:
    """The server's :class:`Recordings` when a tenant records calls, else None (nothing
    is ever recorded; the key is not even read for it)."""
    if not any(t.privacy.recording.enabled for t in settings.tenants):
        return None
    p = settings.privacy
    return Recordings(Path(p.recordings_dir), load_keyring(p.key_file, p.key_env,
                                                           create=p.create_key), store)
