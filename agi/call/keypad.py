"""The caller's keypad: keyed numbers and dates, the menu, and the keys that work anywhere.

DTMF reaches the session as :class:`agi.call.media.DigitPressed` (AudioSocket kind 0x03
on Asterisk, ``DTMF`` events over ESL on FreeSWITCH). :meth:`Keypad.press` says what one
key means at this point of the call:

- while the dialogue asks for a number or a date (``reply.expecting``), keys are collected
  up to ``#`` ("tapez votre numéro puis dièse"); a date is the day then the month (then
  the year if wanted): ``2512#`` is the 25th of December, read back before it is used;
- anywhere else, 9 reads the full privacy notice, 0 asks for a human (when the tenant can
  transfer), and the menu keys 1-4 (book, cancel, move, message) stand for the words a
  caller would say; the menu is offered after repeated trouble (agi.call.recovery).

Nothing here speaks or touches the dialogue: the session does, with what ``press`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from agi.call_settings import NOTICE_DIGIT
from agi.dialogue import phrases
from agi.dialogue.normalize import month_name

__all__ = ["Keypad", "KeyResult", "Collecting", "Keyed", "BadEntry", "MenuChoice", "Human",
           "Notice", "Ignored", "HUMAN_DIGIT", "KEYED_END", "MAX_KEYED", "KEYED_SLOTS"]

HUMAN_DIGIT = "0"
# A keyed entry ends with '#'; no phone number is longer than 20 keys (E.164: 15 digits,
# with room for a national prefix), and further keys are dropped.
KEYED_END, MAX_KEYED = "#", 20
# What the dialogue may ask for that can be keyed instead of said.
PHONE_SLOTS = frozenset({"callback", "phone"})
KEYED_SLOTS = PHONE_SLOTS | {"date"}


@dataclass(frozen=True)
class Collecting:
    """A key of an entry under way: nothing to do yet."""


@dataclass(frozen=True)
class Keyed:
    """An entry is complete: ``text`` is the caller's turn, ``say`` its read-back."""

    text: str
    say: tuple[str, ...] = ()


@dataclass(frozen=True)
class BadEntry:
    """The keys make no date: say how to key one, the question stays open."""

    say: str


@dataclass(frozen=True)
class MenuChoice:
    text: str  # what the caller would have said (a training example of the intent)


@dataclass(frozen=True)
class Human:
    """0: the caller wants a member of staff."""


@dataclass(frozen=True)
class Notice:
    """9: read the full privacy notice."""


@dataclass(frozen=True)
class Ignored:
    """A key that means nothing here."""


KeyResult = Collecting | Keyed | BadEntry | MenuChoice | Human | Notice | Ignored


class Keypad:
    """One call's keypad state: the entry being keyed and whether the menu was offered."""

    def __init__(self, language: str, *, can_transfer: bool) -> None:
        self.language = language
        self.can_transfer = can_transfer
        self.keyed = ""
        self.menu_offered = False

    def menu(self) -> str:
        """The menu, spoken; keys 1-4 (and 0) act on it from now on."""
        self.menu_offered = True
        human = phrases.phrase(phrases.KEYPAD_MENU_HUMAN, self.language) if self.can_transfer else ""
        return phrases.phrase(phrases.KEYPAD_MENU, self.language, human=human)

    def press(self, digit: str, expecting: str | None) -> KeyResult:
        """What ``digit`` means while the dialogue expects ``expecting`` (None: nothing)."""
        if expecting in KEYED_SLOTS:
            if digit != KEYED_END:
                if len(self.keyed) < MAX_KEYED and digit.isdigit():
                    self.keyed += digit
                return Collecting()
            return self.finish(expecting)
        if digit == NOTICE_DIGIT:
            return Notice()
        if digit == HUMAN_DIGIT and self.can_transfer:
            return Human()
        choice = phrases.KEYPAD_CHOICES.get(digit)
        if choice is not None and (self.menu_offered or expecting is None):
            return MenuChoice(phrases.phrase(choice, self.language))
        return Ignored()

    def finish(self, expecting: str | None) -> KeyResult:
        """The entry ends ('#', or the caller stopped keying): its turn, or why not."""
        keyed, self.keyed = self.keyed, ""
        if not keyed:
            return Ignored()
        if expecting == "date":
            return self._date(keyed)
        return Keyed(keyed)

    def _date(self, keyed: str) -> KeyResult:
        spoken = keyed_date(keyed, self.language)
        if spoken is None:
            return BadEntry(phrases.phrase(phrases.KEYED_BAD_DATE, self.language))
        text = f"le {spoken}" if self.language == "fr" else spoken
        return Keyed(text, (phrases.phrase(phrases.KEYED_DATE, self.language, date=spoken),))


def keyed_date(keyed: str, language: str) -> str | None:
    """``DDMM`` or ``DDMMYYYY`` as the caller would say it ("25 décembre"); None if no date.

    The dialogue then reads it like a spoken date: past days, closed days and the year
    are its business, as for words.
    """
    if len(keyed) not in (4, 8) or not keyed.isdigit():
        return None
    day, month = int(keyed[:2]), int(keyed[2:4])
    year = int(keyed[4:]) if len(keyed) == 8 else None
    try:
        date(year or 2024, month, day)  # 2024: a leap year, so 29/02 is a date without a year
    except ValueError:
        return None
    return f"{day} {month_name(month, language)}" + (f" {year}" if year else "")
