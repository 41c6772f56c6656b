"""Console sign-in: argon2id password hashes, signed session cookies, CSRF tokens, and a
sign-in rate limit with lock-out.

* Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
  recommended profile); only the hash is stored.
* A session is a cookie signed with the console's secret key (itsdangerous), HttpOnly,
  SameSite=Strict, carrying the user name, a random session id and the hash's tail: a
  new password ends every session signed before it.
* CSRF: each session has its own token (an HMAC of the session id), put in every form
  and checked on every POST.
* Sign-in failures are counted per user name and per client address over a sliding
  window; past ``max_failures`` the key is locked out for ``lockout_min``. The counters
  live in this process (one console per server); a restart clears them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from agi.booking.access_log import ConsoleUser
from agi.booking.store import Store
from agi.errors import ConfigError

log = logging.getLogger(__name__)

SECRET_BYTES = 32
# Bounds the rate limiter's memory: keys beyond this evict the oldest (an attacker
# spraying addresses cannot grow it without limit).
MAX_TRACKED_KEYS = 10_000
_HASHER = PasswordHasher()
# A hash verified when the user does not exist, so an unknown name takes as long as a
# wrong password and does not reveal which names exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    return _HASHER.hash(password)


def verify_password(user: ConsoleUser | None, password: str) -> bool:
    try:
        return _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def load_secret(path: str | Path) -> bytes:
    """The console's signing key, created with mode 0600 on first use."""
    target = Path(path)
    try:
        return bytes.fromhex(target.read_text().strip())
    except FileNotFoundError:
        pass
    except ValueError as exc:
        raise ConfigError("console.secret_path", f"{target} does not hold a hex key",
                          "delete it: a new one is created (every session ends)") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(SECRET_BYTES)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex())
    return key


def ensure_admin(store: Store, now: datetime) -> str | None:
    """On first start (no user at all) create ``admin`` with a one-time password and
    return it, to be printed once; the store keeps only its hash."""
    if store.users():
        return None
    password = secrets.token_urlsafe(15)
    store.save_user(ConsoleUser("admin", hash_password(password), "admin", (), "fr"), now)
    return password


@dataclass(frozen=True)
class Session:
    user: str
    sid: str
    csrf: str


class Sessions:
    """Signs and reads session cookies; derives each session's CSRF token."""

    COOKIE = "permanence_session"

    def __init__(self, secret: bytes, max_age_s: float) -> None:
        self._secret = secret
        self._signer = URLSafeTimedSerializer(secret, salt="permanence-console-session")
        self.max_age_s = max_age_s

    def issue(self, user: ConsoleUser) -> str:
        return self._signer.dumps({"u": user.name, "s": secrets.token_urlsafe(16),
                                   "p": _pin(user)})

    def read(self, cookie: str | None, lookup: Callable[[str], ConsoleUser | None]
             ) -> tuple[Session, ConsoleUser] | None:
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=int(self.max_age_s))
        except BadSignature:
            return None
        user = lookup(str(data.get("u", "")))
        if user is None or not hmac.compare_digest(str(data.get("p", "")), _pin(user)):
            return None  # removed, or the password changed since
        sid = str(data.get("s", ""))
        return Session(user.name, sid, self.csrf_for(sid)), user

    def csrf_for(self, sid: str) -> str:
        return hmac.new(self._secret, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()


def _pin(user: ConsoleUser) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


class SignInLimiter:
    """Sliding-window failure counts per key ("user:alice", "addr:10.0.0.5")."""

    def __init__(self, max_failures: int, lockout_s: float,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._clock = clock or (lambda: datetime.now(UTC))
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str) -> deque[datetime]:
        now = self._clock()
        times = self._failures.get(key, deque())
        while times and (now - times[0]).total_seconds() >= self.lockout_s:
            times.popleft()
        return times

    def locked(self, *keys: str) -> bool:
        return any(len(self._recent(k)) >= self.max_failures for k in keys)

    def failed(self, *keys: str) -> None:
        for key in keys:
            times = self._recent(key)
            times.append(self._clock())
            self._failures.pop(key, None)
            self._failures[key] = times
        while len(self._failures) > MAX_TRACKED_KEYS:
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
