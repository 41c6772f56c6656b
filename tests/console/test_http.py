"""The console's HTTP guarantees, over a real socket with httpx: CSRF on every POST,
security headers and cookie flags, roles (404 for what a user may not see), sign-in
lock-out, and the access-log entries of sign-ins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from console_helpers import PASSWORD, Served

from agi.console.auth import SignInLimiter, ensure_admin


@contextmanager
def client(served: Served, user: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in as ``user``."""
    with httpx.Client(base_url=served.url, follow_redirects=False, timeout=10) as c:
        page = c.get("/login")
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert token is not None
        r = c.post("/login", data={"token": token[1], "user": user, "password": PASSWORD})
        assert r.status_code == 303, r.text
        yield c


def csrf(c: httpx.Client, path: str = "/messages") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', c.get(path).text)
    assert found is not None
    return found[1]


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(served: Served) -> None:
    with client(served, "admin") as c:
        item = "/messages/lead/1/done"
        assert c.post(item, data={}).status_code == 403
        assert c.post(item, data={"csrf": "forged"}).status_code == 403
        assert served.store.handled("demo") == {}
        assert c.post(item, data={"csrf": csrf(c)}).status_code == 303
        assert list(served.store.handled("demo")) == [("lead", 1)]


def test_another_sessions_token_does_not_work(served: Served) -> None:
    with client(served, "admin") as first, client(served, "admin") as second:
        assert second.post("/language", data={"csrf": csrf(first), "language": "en"}
                           ).status_code == 403


def test_pages_carry_the_security_headers_and_the_cookie_its_flags(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as c:
        page = c.get("/login")
        token = re.search(r'name="token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
        r = c.post("/login", data={"token": token, "user": "admin", "password": PASSWORD},
                   follow_redirects=False)
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        home = c.get("/")
        assert "script-src" not in home.headers["content-security-policy"]
        assert "default-src 'none'" in home.headers["content-security-policy"]
        assert home.headers["x-frame-options"] == "DENY"
        assert home.headers["cache-control"] == "no-store"
        assert "<script" not in home.text and "style=" not in home.text


def test_roles_see_what_they_may_and_get_404_for_the_rest(served: Served) -> None:
    with client(served, "alice") as staff:
        assert staff.get("/calls/call-demo-1").status_code == 200
        other = staff.get("/calls/call-en-1")
        assert other.status_code == 404 and "secret english words" not in other.text
        assert staff.get("/calls/no-such-call").status_code == 404
        assert staff.get("/access-log").status_code == 404
        # a message of another tenant cannot be marked either
        assert staff.post("/messages/message/999/done", data={"csrf": csrf(staff)}
                          ).status_code == 404
    with client(served, "bill") as billing:
        assert billing.get("/calls").status_code == 404
        assert billing.get("/usage").status_code == 200
        assert billing.get("/usage.csv").status_code == 200
    with httpx.Client(base_url=served.url, timeout=10) as anonymous:
        assert anonymous.get("/calls/call-demo-1").headers["location"] == "/login"


def test_the_lock_out_ends_after_its_window() -> None:
    from datetime import UTC, datetime, timedelta

    now = [datetime(2026, 11, 1, tzinfo=UTC)]
    limiter = SignInLimiter(2, 900, clock=lambda: now[0])
    limiter.failed("user:a", "addr:x")
    limiter.failed("user:a", "addr:y")
    assert limiter.locked("user:a", "addr:z") and not limiter.locked("user:b", "addr:x")
    now[0] += timedelta(seconds=900)
    assert not limiter.locked("user:a")


def test_first_start_creates_one_admin_with_a_password_stored_hashed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from agi.booking import SqliteStore
    from agi.console.auth import verify_password

    store = SqliteStore(tmp_path / "s.sqlite3")
    try:
        password = ensure_admin(store, datetime.now(UTC))
        assert password and ensure_admin(store, datetime.now(UTC)) is None
        (admin,) = store.users()
        assert admin.role == "admin" and password not in admin.password_hash
        assert verify_password(admin, password) and not verify_password(admin, "x" * 12)
    finally:
        store.close()


@pytest.mark.parametrize("path", ["/usage?month=garbage", "/appointments?date=nope"])
def test_bad_query_parameters_fall_back_instead_of_failing(served: Served, path: str) -> None:
    with client(served, "admin") as c:
        assert c.get(path).status_code == 200


# last: it locks 127.0.0.1 out of this module's console
def test_sign_ins_are_logged_and_repeated_failures_lock_out(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as c:
        def attempt(password: str) -> int:
            token = re.search(r'name="token" value="([^"]+)"', c.get("/login").text)[1]  # type: ignore[index]
            return c.post("/login", data={"token": token, "user": "bill",
                                          "password": password}).status_code
        assert [attempt("wrong") for _ in range(3)] == [401, 401, 401]
        assert attempt(PASSWORD) == 429  # locked, even with the right password
    failed = [e for e in served.store.access_log() if e.actor == "bill"
              and e.action == "sign_in_failed"]
    assert len(failed) == 4 and failed[0].source == "127.0.0.1"
