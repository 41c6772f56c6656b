"""The call recorder on its own: frames in, encrypted chunks out; a refusal deletes
everything; the key decrypts and no other key does; spoken refusals in French and English
are recognised across many phrasings, and ordinary booking talk is not."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agi.call.recording import (
    CHUNK_FRAMES,
    CallRecorder,
    is_refusal,
    read_recording,
    recording_notice,
)
from agi.privacy.crypto import Keyring, KeyringError, new_key_line

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def keys(key_id: str = "k1") -> Keyring:
    return Keyring.parse(new_key_line(key_id), "test")


def frames(n: int) -> list[bytes]:
    """Distinct recognisable frames of 8 kHz, 20 ms (320 bytes)."""
    return [bytes([i % 251]) * 2 + f"frame-{i:05d}".encode().ljust(318, b"\x01") for i in range(n)]


def test_an_accepted_recording_is_encrypted_and_only_the_key_opens_it(tmp_path: Path) -> None:
    ring = keys()
    recorder = CallRecorder(tmp_path, "demo", "call-1", ring, now=NOW)
    audio = frames(2 * CHUNK_FRAMES + 7)
    for frame in audio:
        recorder.feed(frame)
    done = recorder.close(NOW)
    assert done is not None and done.audio_bytes == len(audio) * 320 and done.key_id == "k1"
    assert Path(done.path) == tmp_path / "demo" / "call-1.rec"
    assert os.stat(done.path).st_mode & 0o777 == 0o600
    raw = Path(done.path).read_bytes()
    assert b"frame-00001" not in raw and raw.startswith(b"PRMREC1 k1 8000\n")
    assert read_recording(Path(done.path), ring) == (8000, b"".join(audio))
    with pytest.raises(KeyringError, match="does not open"):
        read_recording(Path(done.path), keys())  # another key with the same id
    with pytest.raises(KeyringError, match="does not hold"):
        read_recording(Path(done.path), keys("k2"))


def test_chunks_cannot_be_moved_to_another_call(tmp_path: Path) -> None:
    ring = keys()
    recorder = CallRecorder(tmp_path, "demo", "call-1", ring)
    for frame in frames(CHUNK_FRAMES):
        recorder.feed(frame)
    done = recorder.close()
    assert done is not None
    moved = Path(done.path).with_name("call-2.rec")
    moved.write_bytes(Path(done.path).read_bytes())
    with pytest.raises(KeyringError):
        read_recording(moved, ring)


def test_a_refusal_mid_call_leaves_no_file(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "demo", "call-1", keys())
    for frame in frames(3 * CHUNK_FRAMES):  # three chunks already written
        recorder.feed(frame)
    assert recorder.path.stat().st_size > 3 * 320
    recorder.refuse()
    recorder.feed(frames(1)[0])  # later audio is ignored
    assert recorder.close() is None and not recorder.path.exists()
    assert list((tmp_path / "demo").iterdir()) == []


def test_nothing_heard_leaves_no_file(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "demo", "c", keys())
    assert recorder.close() is None and not recorder.path.exists()
    with pytest.raises(ValueError, match="cannot name"):
        CallRecorder(tmp_path, "demo", "../etc/passwd", keys())


def test_the_notice_says_how_to_refuse() -> None:
    assert "je refuse l'enregistrement" in recording_notice("fr", "formation")
    assert "press 8 when not keying" in recording_notice("en", "training")


REFUSALS = [
    # French
    "je refuse l'enregistrement", "Je refuse l’enregistrement.", "je refuse qu'on m'enregistre",
    "je refuse d'être enregistré", "je refuse d'être enregistrée", "refus de l'enregistrement",
    "ne m'enregistrez pas", "ne m'enregistrez pas s'il vous plaît", "ne pas enregistrer",
    "pas d'enregistrement", "pas d'enregistrement merci", "non à l'enregistrement",
    "je ne veux pas être enregistré", "je ne veux pas être enregistrée",
    "je ne souhaite pas être enregistré", "je ne souhaite pas que l'appel soit enregistré",
    "je ne veux pas que vous m'enregistriez", "arrêtez l'enregistrement",
    "arrêtez d'enregistrer", "arrêtez d'enregistrer s'il vous plaît", "stop à l'enregistrement",
    "coupez l'enregistrement", "coupez l'enregistrement tout de suite",
    "je m'oppose à l'enregistrement", "je m'oppose à l'enregistrement de cet appel",
    "sans enregistrement s'il vous plaît", "supprimez l'enregistrement",
    "effacez l'enregistrement", "désactivez l'enregistrement", "jamais d'enregistrement",
    "non non pas d'enregistrement", "je préfère ne pas être enregistré",
    "enregistrement non merci", "enregistrez-moi pas", "l'enregistrement non",
    "je n'accepte pas l'enregistrement", "je ne suis pas d'accord pour l'enregistrement",
    "interrompez l'enregistrement", "cessez l'enregistrement", "je refuse qu'on enregistre",
    "mettez l'enregistrement en pause",
    # English
    "don't record", "don't record me", "Don’t record this call.", "do not record",
    "do not record this call please", "please don't record", "i don't want to be recorded",
    "I do not want to be recorded", "i don't want you to record this call",
    "no recording please", "no recording", "stop recording", "stop the recording",
    "please stop recording me", "i refuse the recording", "i refuse to be recorded",
    "i object to the recording", "i object to being recorded", "i don't consent to recording",
    "turn off the recording", "switch off the recording", "recording off please",
    "delete the recording", "erase the recording", "never record me", "without recording please",
    "i'd rather not be recorded", "i prefer not to be recorded", "recording no thanks",
    "i opt out of recording", "dont record", "pause the recording", "halt the recording",
    "quit recording me", "no no no don't record me",
]

ORDINARY = [
    # French booking talk
    "bonjour je voudrais prendre rendez-vous", "je voudrais un rendez-vous mardi",
    "mardi prochain à dix heures", "non merci au revoir", "oui c'est ça", "pas mardi, mercredi",
    "je ne sais pas", "non ce n'est pas urgent", "je voudrais annuler mon rendez-vous",
    "est-ce que mon rendez-vous est bien enregistré", "vous avez bien enregistré mon nom",
    "je voudrais déplacer mon rendez-vous", "jean dupont", "c'est pour une consultation",
    "pouvez-vous me rappeler", "je ne peux pas venir jeudi", "non, plutôt l'après-midi",
    "je voudrais laisser un message", "pas de problème", "c'est noté merci",
    "je n'ai pas de préférence", "le docteur martin s'il vous plaît", "non pas du tout",
    "ma fille a besoin d'un rendez-vous", "je rappellerai plus tard",
    # English booking talk
    "hi i'd like to book an appointment", "next tuesday at half past three", "no thanks goodbye",
    "yes that's right", "not tuesday, wednesday please", "i don't know",
    "can you cancel my appointment", "is my appointment on record", "john smith",
    "no I can't come on thursday", "please call me back", "i don't mind", "no problem",
    "i'd like to leave a message", "not this week", "could you move my appointment",
    "the record player is broken", "no, in the afternoon", "stop, that's the wrong day",
    "i don't have a preference",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_spoken_refusals_are_heard(text: str) -> None:
    assert is_refusal(text)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_talk_is_not_a_refusal(text: str) -> None:
    assert not is_refusal(text)


# kept recordings: purge and erasure (both stores) -----------------------------------------
def _recorded(store: Any, tmp_path: Path, call_id: str, phone: str, at: datetime) -> Path:
    from agi.booking import CallRecord

    store.start_call(CallRecord(call_id=call_id, tenant_id="demo", caller=phone, started_at=at))
    recorder = CallRecorder(tmp_path, "demo", call_id, keys(), now=at)
    recorder.feed(frames(1)[0])
    row = recorder.close(at)
    assert row is not None
    store.privacy().add_recording(row)
    return Path(row.path)


def test_recordings_go_with_their_retention_and_with_an_erasure(
        make_store: Any, tmp_path: Path) -> None:
    from datetime import timedelta

    from agi.config import PrivacySettings, settings_from_dict
    from agi.privacy import PrivacyRights, run_purge

    tenants = settings_from_dict({"tenants": [{
        "id": "demo", "name": "D", "resources": ["A"],
        "services": [{"name": "s", "duration_min": 30}],
        "recording": {"enabled": True, "purpose": "quality", "retention_days": 30}}]}).tenants
    store = make_store()
    now = datetime.now(UTC)
    old = _recorded(store, tmp_path, "old", "+33611111111", now - timedelta(days=31))
    recent = _recorded(store, tmp_path, "recent", "+33611111111", now - timedelta(days=2))
    other = _recorded(store, tmp_path, "other", "+33622222222", now - timedelta(days=2))
    run_purge(store, PrivacySettings(), now, tenants=tenants)
    assert not old.exists() and recent.exists() and other.exists()
    assert sorted(r.call_id for r in store.privacy().recordings()) == ["other", "recent"]
    assert store.get_call("old") is not None  # the call record keeps its own retention

    done = PrivacyRights(store).erase("demo", "+33611111111", identity_check="ID", by="t")
    assert done.request.details["recordings"] == 1
    assert not recent.exists() and other.exists()
    assert [r.call_id for r in store.privacy().recordings()] == ["other"]


def test_key_8_refuses_outside_a_keyed_entry_only(tmp_path: Path) -> None:
    from agi.call.recording import CallConsent, Recordings
    from agi.config import settings_from_dict

    [tenant] = settings_from_dict({"tenants": [{
        "id": "demo", "name": "D", "resources": ["A"],
        "services": [{"name": "s", "duration_min": 30}],
        "recording": {"enabled": True, "purpose": "quality"}}]}).tenants
    consent = CallConsent(Recordings(tmp_path, keys(), None), tenant, "c1")  # type: ignore[arg-type]
    recorder = consent.begin()
    assert recorder is not None
    assert not consent.refused_by(digit="8", keyed=True)  # a digit of a phone number
    assert recorder.state == "recording"
    assert consent.refused_by(digit="8") and recorder.state == "refused"
