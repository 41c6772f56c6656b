"""The console's ASGI plumbing: security headers, sessions, CSRF, roles, rendering.

Pages themselves are in :mod:`agi.console.pages`. Every response carries a strict
Content-Security-Policy (no script at all, styles from our own stylesheet only), denies
framing and, for everything but the stylesheet, caching: personal pages must not stay in
a shared browser's cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, FunctionLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agi.booking.access_log import AccessEntry, ConsoleUser
from agi.booking.store import Store
from agi.config import Settings
from agi.console.auth import Session, Sessions, SignInLimiter, load_secret
from agi.console.i18n import text

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
# Forms are small (a user name, a password, a language): anything larger is refused
# before it is parsed.
MAX_FORM_BYTES = 16_384
# Pages list at most this many calls (newest first); the CLI and exports go further.
CALLS_PAGE_LIMIT = 300


class SecurityHeaders:
    """ASGI middleware adding the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()),
                            (b"x-frame-options", b"DENY"),
                            (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"),
                            (b"cache-control", b"max-age=3600" if static else b"no-store")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _template(name: str) -> str:
    return resources.files("agi.console").joinpath("templates", name).read_text("utf-8")


class Console:
    """What every page needs: settings, store, sessions, the limiter, templates."""

    def __init__(self, settings: Settings, store: Store, *,
                 clock: Callable[[], datetime] | None = None, secret: bytes | None = None) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        cs = settings.console
        self.sessions = Sessions(secret or load_secret(cs.secret_path), cs.session_hours * 3600)
        self.limiter = SignInLimiter(cs.max_failures, cs.lockout_min * 60, self.clock)
        self.env = Environment(loader=FunctionLoader(_template),
                               autoescape=select_autoescape(default=True, default_for_string=True))
        self.tenant_ids = [t.id for t in settings.tenants]
        self.tenant_names = {t.id: t.name for t in settings.tenants}
        self.tenant_zones = {t.id: t.tz for t in settings.tenants}
        self.env.filters["local"] = lambda when, tenant: when.astimezone(
            self.tenant_zones.get(tenant, UTC)).strftime("%d/%m/%Y %H:%M")

    async def db(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A store call off the event loop (stores are blocking and thread-safe)."""
        return await asyncio.to_thread(fn, *args)

    def visible(self, user: ConsoleUser) -> list[str]:
        """The tenants ``user`` may see: admin all, others those they were given
        (a billing user without any: all, for usage only)."""
        if user.role == "admin" or (user.role == "billing" and not user.tenants):
            return list(self.tenant_ids)
        return [t for t in self.tenant_ids if t in user.tenants]

    async def current(self, request: Request) -> tuple[Session, ConsoleUser] | None:
        return await self.db(self.sessions.read, request.cookies.get(Sessions.COOKIE),
                             self.store.user)

    async def log(self, request: Request, actor: str, action: str, tenant_id: str = "",
                  subject: str = "") -> None:
        source = request.client.host if request.client else ""
        await self.db(self.store.log_access, AccessEntry(self.clock(), actor, action, tenant_id,
                                                         subject, source, "console"))

    def render(self, name: str, language: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = self.env.get_template(name).render(
            t=lambda key, **kw: text(key, language).format(**kw) if kw else text(key, language),
            lang=language, tenant_names=self.tenant_names, **context)
        return HTMLResponse(page, status_code=status)

    def not_found(self, language: str) -> HTMLResponse:
        return self.render("error.html", language, 404, message=text("not_found", language),
                           user=None, session=None)


async def read_form(request: Request) -> dict[str, str]:
    """The posted form as plain strings; oversized bodies are refused (413)."""
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise _TooLarge()
    form = await request.form(max_files=0, max_fields=20)
    return {k: v for k, v in form.items() if isinstance(v, str)}


class _TooLarge(Exception):
    pass


Handler = Callable[[Request, Session, ConsoleUser], Awaitable[Response]]


def guarded(console: Console, handler: Handler, roles: Sequence[str] = ("admin", "staff"),
            ) -> Callable[[Request], Awaitable[Response]]:
    """Signed-in users of ``roles`` only; other roles get 404 (nothing to see here), no
    session sends to the sign-in page; every POST must carry the session's CSRF token."""
    from starlette.responses import RedirectResponse

    async def endpoint(request: Request) -> Response:
        found = await console.current(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        session, user = found
        if user.role not in roles:
            return console.not_found(user.language)
        if request.method == "POST":
            try:
                form = await read_form(request)
            except _TooLarge:
                return Response("form too large", status_code=413)
            if not _same(form.get("csrf", ""), session.csrf):
                return console.render("error.html", user.language, 403, user=user,
                                      session=session, message=text("forbidden", user.language))
            request.state.form = form
        return await handler(request, session, user)

    return endpoint


def _same(a: str, b: str) -> bool:
    import hmac

    return bool(a) and hmac.compare_digest(a, b)
