"""Booking: the store of calls, turns, appointments and messages, and availability search.

``Store`` is the interface the call controller and dialogue depend on; ``SqliteStore`` is
the embedded default. The availability functions work on any ``Store``.
"""

from agi.booking.availability import (
    HORIZON,
    MIN_NOTICE,
    SLOT_STEP,
    Slot,
    book_slot,
    check_slot,
    free_slots,
    is_open,
    localize,
    next_opening,
    slot_if_free,
    to_local,
    within_opening_hours,
)
from agi.booking.sqlite import SqliteStore
from agi.booking.store import (
    Appointment,
    AppointmentStatus,
    CallRecord,
    Message,
    NewAppointment,
    Speaker,
    Store,
    Turn,
)

__all__ = [
    "HORIZON",
    "MIN_NOTICE",
    "SLOT_STEP",
    "Appointment",
    "AppointmentStatus",
    "CallRecord",
    "Message",
    "NewAppointment",
    "Slot",
    "Speaker",
    "SqliteStore",
    "Store",
    "Turn",
    "book_slot",
    "check_slot",
    "free_slots",
    "is_open",
    "localize",
    "next_opening",
    "slot_if_free",
    "to_local",
    "within_opening_hours",
]
