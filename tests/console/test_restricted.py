"""Restriction (GDPR art. 18) in the console: a restricted person's calls, transcript,
messages, call-back requests and appointments are hidden from staff (the call detail is a
404) and shown to admins, marked restricted. Over real HTTP on the seeded SQLite store."""

from __future__ import annotations

from console_helpers import NOW, Served
from test_http import client, csrf

RESTRICTED = "+33698765432"  # Bob Durand: call-demo-2, a message and a call-back request
MARK = "limité (RGPD art. 18)"


def restrict(served: Served, phone: str) -> None:
    served.store.privacy().set_flag("demo", phone, "restricted", NOW)


def lift(served: Served, phone: str) -> None:
    served.store.privacy().set_flag("demo", phone, "restricted", None)


def test_staff_do_not_see_a_restricted_person_admins_see_them_marked(served: Served) -> None:
    restrict(served, RESTRICTED)
    try:
        with client(served, "alice") as staff:
            calls = staff.get("/calls").text
            assert "call-demo-2" not in calls and RESTRICTED not in calls
            assert "call-demo-1" in calls  # the others stay
            detail = staff.get("/calls/call-demo-2")
            assert detail.status_code == 404 and RESTRICTED not in detail.text
            messages = staff.get("/messages").text
            assert RESTRICTED not in messages and "Bob Durand" not in messages
            assert "devis" not in messages
            # nor can staff mark the hidden message handled by its URL
            mid = served.ids["message"]
            assert staff.post(f"/messages/message/{mid}/done",
                              data={"csrf": csrf(staff)}).status_code == 404
        with client(served, "admin") as admin:
            calls = admin.get("/calls").text
            assert "call-demo-2" in calls and MARK in calls
            detail = admin.get("/calls/call-demo-2")
            assert detail.status_code == 200 and MARK in detail.text
            messages = admin.get("/messages").text
            assert "Bob Durand" in messages and "devis" in messages and MARK in messages
    finally:
        lift(served, RESTRICTED)
    with client(served, "alice") as staff:
        assert staff.get("/calls/call-demo-2").status_code == 200
        assert "Bob Durand" in staff.get("/messages").text


def test_a_restricted_persons_appointments_are_hidden_from_staff(served: Served) -> None:
    booked = "+33612345678"  # Alice Martin: an appointment in three hours and call-demo-1
    restrict(served, booked)
    try:
        with client(served, "alice") as staff:
            for path in ("/appointments", "/"):
                page = staff.get(path).text
                assert "Alice Martin" not in page and booked not in page, path
            assert staff.get("/calls/call-demo-1").status_code == 404
        with client(served, "admin") as admin:
            page = admin.get("/appointments").text
            assert "Alice Martin" in page and MARK in page
    finally:
        lift(served, booked)
    with client(served, "alice") as staff:
        assert "Alice Martin" in staff.get("/appointments").text


def test_an_objection_alone_does_not_hide_the_person(served: Served) -> None:
    served.store.privacy().set_flag("demo", RESTRICTED, "objected", NOW)
    try:
        with client(served, "alice") as staff:
            assert staff.get("/calls/call-demo-2").status_code == 200
    finally:
        served.store.privacy().set_flag("demo", RESTRICTED, "objected", None)
