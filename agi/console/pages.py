"""The console's pages: sign-in, today, appointments, calls, messages, usage, access log.

A staff user sees its own tenants only: anything of another tenant, asked by URL, is a
404 exactly like something that does not exist. Reading a transcript, exporting usage
and signing in (or failing to) each leave one access-log entry. A person whose data is
restricted (GDPR art. 18) is shown to admins only, marked so: staff do not see their
calls, messages, call-back requests or appointments, and their call detail is a 404.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from agi.booking.access_log import ConsoleUser
from agi.booking.usage import month_days, totals
from agi.console import reports
from agi.console.auth import Session, Sessions, verify_password
from agi.console.i18n import LANGUAGES, text
from agi.console.web import (
    CALLS_PAGE_LIMIT,
    Console,
    SecurityHeaders,
    _TooLarge,
    guarded,
    read_form,
)

LOGIN_TOKEN_MAX_AGE_S = 3600
KPI_DAYS = 30


def build_app(console: Console) -> Starlette:
    """The console as an ASGI application."""
    login_tokens = URLSafeTimedSerializer(console.sessions.csrf_for("login"), salt="login")
    c = console

    def page(handler: Any, roles: tuple[str, ...] = ("admin", "staff")) -> Any:
        return guarded(c, handler, roles)

    async def login(request: Request) -> Response:
        lang = request.query_params.get("lang", "fr")
        lang = lang if lang in LANGUAGES else "fr"
        if request.method == "GET":
            return c.render("login.html", lang, token=login_tokens.dumps("x"), error="")
        try:
            form = await read_form(request)
            login_tokens.loads(form.get("token", ""), max_age=LOGIN_TOKEN_MAX_AGE_S)
        except (_TooLarge, BadSignature):
            return c.render("error.html", lang, 403, message=text("forbidden", lang),
                            user=None, session=None)
        name = form.get("user", "").strip()[:64]
        address = request.client.host if request.client else ""
        keys = (f"user:{name}", f"addr:{address}")
        if c.limiter.locked(*keys):
            await c.log(request, name, "sign_in_failed", subject="locked out")
            return c.render("login.html", lang, 429, token=login_tokens.dumps("x"),
                            error=text("locked", lang))
        user = await c.db(c.store.user, name)
        if not await c.db(verify_password, user, form.get("password", "")):
            c.limiter.failed(*keys)
            await c.log(request, name, "sign_in_failed")
            return c.render("login.html", lang, 401, token=login_tokens.dumps("x"),
                            error=text("bad_login", lang))
        assert user is not None
        c.limiter.succeeded(*keys)
        await c.log(request, user.name, "sign_in")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(Sessions.COOKIE, c.sessions.issue(user), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https",
                            max_age=int(c.sessions.max_age_s))
        return response

    async def logout(request: Request, session: Session, user: ConsoleUser) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(Sessions.COOKIE)
        return response

    async def language(request: Request, session: Session, user: ConsoleUser) -> Response:
        chosen = request.state.form.get("language", "")
        if chosen in LANGUAGES:
            await c.db(c.store.save_user, ConsoleUser(user.name, user.password_hash, user.role,
                                                      user.tenants, chosen), c.clock())
        return RedirectResponse("/", status_code=303)

    def ctx(session: Session, user: ConsoleUser, **kw: Any) -> dict[str, Any]:
        return {"user": user, "session": session, "now": c.clock(),
                "restricted": frozenset(), **kw}

    async def restricted(user: ConsoleUser) -> frozenset[tuple[str, str]]:
        """(tenant, number) of the restricted people ``user`` may see."""
        return await c.db(_restricted, c, c.visible(user))

    def shown(user: ConsoleUser, marked: frozenset[tuple[str, str]], tenant: str,
              phone: str) -> bool:
        return user.role == "admin" or (tenant, phone) not in marked

    async def home(request: Request, session: Session, user: ConsoleUser) -> Response:
        if user.role == "billing":
            return RedirectResponse("/usage", status_code=303)
        tenants = c.visible(user)
        now = c.clock()
        kpi = await c.db(reports.kpis, c.store, {t: c.tenant_zones[t] for t in tenants},
                         now - timedelta(days=KPI_DAYS), now)
        marked = await restricted(user)
        today = _keep(await _day_appointments(c, tenants, now, 1),
                      lambda tenant, appt: shown(user, marked, tenant, appt.customer_phone))
        return c.render("home.html", user.language,
                        **ctx(session, user, kpi=kpi, groups=today, restricted=marked))

    async def appointments(request: Request, session: Session, user: ConsoleUser) -> Response:
        raw = request.query_params.get("date", "")
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            day = None
        start = datetime.combine(day, time(0), c.clock().tzinfo) if day else c.clock()
        marked = await restricted(user)
        groups = _keep(await _day_appointments(c, c.visible(user), start, 1 if day else 7),
                       lambda tenant, appt: shown(user, marked, tenant, appt.customer_phone))
        return c.render("appointments.html", user.language,
                        **ctx(session, user, groups=groups, day=day, restricted=marked))

    async def calls(request: Request, session: Session, user: ConsoleUser) -> Response:
        outcome = request.query_params.get("outcome", "")
        found = []
        for tenant in c.visible(user):
            found += await c.db(c.store.list_calls, tenant, CALLS_PAGE_LIMIT)
        found.sort(key=lambda x: x.started_at, reverse=True)
        if outcome:
            found = [x for x in found if x.outcome == outcome]
        marked = await restricted(user)
        found = [x for x in found if shown(user, marked, x.tenant_id, x.caller)]
        return c.render("calls.html", user.language,
                        **ctx(session, user, calls=found[:CALLS_PAGE_LIMIT], outcome=outcome,
                              duration=_duration, restricted=marked))

    async def call(request: Request, session: Session, user: ConsoleUser) -> Response:
        record = await c.db(c.store.get_call, request.path_params["call_id"])
        if record is None or record.tenant_id not in c.visible(user):
            return c.not_found(user.language)
        marked = await restricted(user)
        if not shown(user, marked, record.tenant_id, record.caller):
            return c.not_found(user.language)
        turns = await c.db(c.store.transcript, record.call_id)
        await c.log(request, user.name, "transcript_read", record.tenant_id, record.call_id)
        return c.render("call.html", user.language,
                        **ctx(session, user, call=record, turns=turns, duration=_duration,
                              restricted=marked))

    async def visible_messages(user: ConsoleUser) -> tuple[list[dict[str, Any]],
                                                           frozenset[tuple[str, str]]]:
        marked = await restricted(user)
        items = await c.db(_messages, c, c.visible(user))
        return [i for i in items if shown(user, marked, i["tenant"], i["caller"])], marked

    async def messages(request: Request, session: Session, user: ConsoleUser) -> Response:
        items, marked = await visible_messages(user)
        return c.render("messages.html", user.language,
                        **ctx(session, user, items=items, restricted=marked))

    async def mark_done(request: Request, session: Session, user: ConsoleUser) -> Response:
        kind, item_id = request.path_params["kind"], int(request.path_params["item_id"])
        owner = next((i["tenant"] for i in (await visible_messages(user))[0]
                      if i["kind"] == kind and i["id"] == item_id), None)
        if owner is None:
            return c.not_found(user.language)
        await c.db(c.store.mark_handled, kind, item_id, owner, user.name, c.clock())
        return RedirectResponse("/messages", status_code=303)

    async def usage(request: Request, session: Session, user: ConsoleUser) -> Response:
        month = _month(request, c)
        first, last = month_days(month)
        rows = [r for r in await c.db(c.store.usage_days, first, last)
                if r.tenant_id in c.visible(user)]
        chart = reports.calls_chart(rows, first, last, text("per_day", user.language))
        return c.render("usage.html", user.language, **ctx(
            session, user, month=month, totals=totals(rows), chart=chart,
            duration=reports.duration))

    async def usage_csv(request: Request, session: Session, user: ConsoleUser) -> Response:
        month = _month(request, c)
        rows = [r for r in await c.db(c.store.usage_days, *month_days(month))
                if r.tenant_id in c.visible(user)]
        await c.log(request, user.name, "usage_export", subject=month)
        return Response(reports.usage_csv(rows), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="usage-{month}.csv"'})

    async def access(request: Request, session: Session, user: ConsoleUser) -> Response:
        entries = await c.db(c.store.access_log, None, 500)
        return c.render("access.html", user.language, **ctx(session, user, entries=entries))

    async def users(request: Request, session: Session, user: ConsoleUser) -> Response:
        return c.render("users.html", user.language,
                        **ctx(session, user, users=await c.db(c.store.users)))

    async def stylesheet(request: Request) -> Response:
        from importlib import resources

        css = resources.files("agi.console").joinpath("static", "console.css").read_text()
        return Response(css, media_type="text/css")

    everyone = ("admin", "staff", "billing")
    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", page(logout, everyone), methods=["POST"]),
        Route("/language", page(language, everyone), methods=["POST"]),
        Route("/", page(home, everyone)),
        Route("/appointments", page(appointments)),
        Route("/calls", page(calls)),
        Route("/calls/{call_id:str}", page(call)),
        Route("/messages", page(messages)),
        Route("/messages/{kind:str}/{item_id:int}/done", page(mark_done), methods=["POST"]),
        Route("/usage", page(usage, everyone)),
        Route("/usage.csv", page(usage_csv, everyone)),
        Route("/access-log", page(access, ("admin",))),
        Route("/users", page(users, ("admin",))),
        Route("/static/console.css", stylesheet),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])


def _duration(record: Any) -> str:
    if record.ended_at is None:
        return "—"
    return reports.duration((record.ended_at - record.started_at).total_seconds())


def _month(request: Request, c: Console) -> str:
    month = request.query_params.get("month", "")
    try:
        month_days(month)
        return month
    except ValueError:
        return c.clock().strftime("%Y-%m")


async def _day_appointments(c: Console, tenants: list[str], start: datetime,
                            days: int) -> dict[tuple[str, str], list[Any]]:
    """Appointments from ``start``'s local day on for ``days`` days, by (tenant, resource)."""
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for tenant in tenants:
        zone = c.tenant_zones[tenant]
        local = start.astimezone(zone).date()
        first = datetime.combine(local, time(0), zone)
        found = await c.db(c.store.appointments, tenant, first, first + timedelta(days=days))
        for appt in found:
            groups[(tenant, appt.resource)].append((appt, appt.starts_at.astimezone(zone)))
    return dict(sorted(groups.items()))


def _restricted(c: Console, tenants: list[str]) -> frozenset[tuple[str, str]]:
    """(tenant, number) of the people of ``tenants`` whose data is restricted (art. 18)."""
    wanted = set(tenants)
    return frozenset((f.tenant_id, f.phone) for f in c.store.privacy().flagged()
                     if f.restricted and f.tenant_id in wanted)


def _keep(groups: dict[tuple[str, str], list[Any]],
          keep: Callable[[str, Any], bool]) -> dict[tuple[str, str], list[Any]]:
    """``groups`` of (appointment, local time) with only the appointments ``keep`` allows."""
    kept = {key: [item for item in items if keep(key[0], item[0])]
            for key, items in groups.items()}
    return {key: items for key, items in kept.items() if items}


def _messages(c: Console, tenants: list[str]) -> list[dict[str, Any]]:
    """Messages and call-back requests of ``tenants``, newest first, with their marks."""
    items: list[dict[str, Any]] = []
    for tenant in tenants:
        marks = c.store.handled(tenant)
        zone = c.tenant_zones[tenant]
        for m in c.store.messages(tenant):
            items.append({"kind": "message", "id": m.id, "tenant": tenant, "caller": m.caller,
                          "name": m.name, "text": m.text, "at": m.created_at.astimezone(zone),
                          "done": marks.get(("message", m.id))})
        for lead in c.store.leads(tenant):
            details = ", ".join(f"{k}: {v}" for k, v in lead.details.items())
            items.append({"kind": "lead", "id": lead.id, "tenant": tenant, "caller": lead.caller,
                          "name": lead.kind, "text": details, "at": lead.created_at.astimezone(zone),
                          "done": marks.get(("lead", lead.id))})
    items.sort(key=lambda i: i["at"], reverse=True)
    return items
