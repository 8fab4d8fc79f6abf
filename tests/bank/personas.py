"""The conversation bank's customers: who they are and what they ask for.

Each persona is a customer who wants one service at one day and time under one
name, texts it the way people do (all in one text, or answer by answer), and may
correct the time or ask an FAQ question on the way. What the customer meant is
written by hand in the business's bank file (tests/bank/bank.yml, or bank.yml of
the folder BUSINESS names) and here, from a fixed "now" (Tue 1 Dec 2026, 08:30 in
the business's time zone), so
the bank never checks the assistant's date reading against itself.

Generated, not sampled at random each run: the same 419 personas every time, every
name, day phrase and time phrase used at least once. 320 new customers book (30 %
change the time, service or name on the way, 35 % ask an FAQ question, some two in
one text); 39 ask first for a time that cannot be booked (closed, outside hours,
past, running past closing, taken) and must be told why with other times; 30 with
an upcoming appointment move it ("can we push it to fri 10am"); 30 start a second
booking and answer "Reply 1 to move it, 2 to book another".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import yaml

from actions.business import load_business
from tools.business_folder import business_folder

#: The business under test (BUSINESS) and its bank file: how its customers name
#: its services, what they ask on the way, times it cannot book (docs/adapting.md).
FOLDER = business_folder()
BIZ = load_business(FOLDER.business_file)
BANK: dict[str, Any] = yaml.safe_load(FOLDER.bank.read_text(encoding="utf-8"))
ZONE = BIZ.timezone
NOW = datetime(2026, 12, 1, 8, 30, tzinfo=ZONE)  # a Tuesday
COUNT = 320

#: Day phrases and the date each means on Tue 1 Dec 2026.
DAYS: tuple[tuple[str, date], ...] = (
    ("tomorrow", date(2026, 12, 2)),
    ("tmrw", date(2026, 12, 2)),
    ("tmr", date(2026, 12, 2)),
    ("wed", date(2026, 12, 2)),
    ("wednesday", date(2026, 12, 2)),
    ("thursday", date(2026, 12, 3)),
    ("thurs", date(2026, 12, 3)),
    ("thu", date(2026, 12, 3)),
    ("this fri", date(2026, 12, 4)),
    ("friday", date(2026, 12, 4)),
    ("this friday", date(2026, 12, 4)),
    ("sat", date(2026, 12, 5)),
    ("saturday", date(2026, 12, 5)),
    ("next monday", date(2026, 12, 7)),
    ("next mon", date(2026, 12, 7)),
    ("monday", date(2026, 12, 7)),
    ("next tue", date(2026, 12, 8)),
    ("next wk tue", date(2026, 12, 8)),
    ("tuesday next week", date(2026, 12, 8)),
    ("next tuesday", date(2026, 12, 8)),
    ("12/9", date(2026, 12, 9)),
    ("12/10", date(2026, 12, 10)),
    ("dec 11", date(2026, 12, 11)),
    ("december 14", date(2026, 12, 14)),
    ("the 15th", date(2026, 12, 15)),
    ("on the 16th", date(2026, 12, 16)),
    ("12/17/2026", date(2026, 12, 17)),
    ("Dec 18th", date(2026, 12, 18)),
)

#: Time phrases: (phrase, start, a window whose first free start is meant).
TIMES: tuple[tuple[str, time, bool], ...] = (
    ("9am", time(9), False),
    ("9:30am", time(9, 30), False),
    ("10am", time(10), False),
    ("10:30", time(10, 30), False),
    ("at 10", time(10), False),
    ("11am", time(11), False),
    ("noon", time(12), False),
    ("12pm", time(12), False),
    ("1pm", time(13), False),
    ("2pm", time(14), False),
    ("at 2", time(14), False),
    ("2:15pm", time(14, 15), False),
    ("3pm", time(15), False),
    ("after 3", time(15), True),
    ("3:45pm", time(15, 45), False),
    ("4pm", time(16), False),
    ("5pm", time(17), False),
    ("8:30am", time(8, 30), False),
) + tuple(
    (phrase, time.fromisoformat(at), bool(window))
    for phrase, at, window in BANK.get("times") or ()
)

#: Opening hours of the business file, weekday -> (opens, closes).
HOURS = BIZ.open_spans

#: How customers name each service, and its key and minutes.
SERVICES: tuple[tuple[str, str, int], ...] = tuple(
    (phrase, key, BIZ.service(key).duration_minutes)  # type: ignore[union-attr]
    for phrase, key in BANK["services"]
)

#: Plain names, then names that share a word with the assistant's vocabulary.
NAMES: tuple[str, ...] = (
    "Sam Lee", "Maria Gomez", "Priya Shah", "Tom O'Neil", "Ana Ruiz", "Li Wei",
    "Kofi Mensah", "Olga Petrov", "Ben Carter", "Aisha Khan", "Diego Alvarez",
    "Hannah Cohen", "Yuki Tanaka", "Fatima Noor", "Grace Kim", "Lucas Silva",
    "Emma Brown", "Noah Davis", "Zoe Martin", "Raj Patel", "Chloe Dubois",
    "Ivan Novak", "Sara Lind", "Omar Haddad", "Mia Rossi", "Jack Wilson",
    "Nina Berg", "Leo Costa", "Ella Fox", "Max Weber",
    "Jo Park", "June Price", "Eve Sato", "May Chen", "April Jones", "Will Smith",
    "Hope Adams", "Sunday Okafor", "Tuesday Weld", "Mo Farah", "Cliff Barnes",
    "Ann Parker", "Doc Holliday", "Arthur Dent", "Rose Fillingham", "Ms. Cancel",
    "Bill Price", "Summer Park", "Dawn Evans", "Eve", "Will", "Art Price",
    "Pat Noon", "Amy Monday", "Jan Friday", "Chase Booker", "Ray Sun",
    "Mark Tuesday", "Bob Check", "Carl Morning", "Faith Clean", "Hunter Fill",
)  # fmt: skip

#: How a name is given when asked for it.
NAME_STYLES = ("{name}", "{name}", "it's {name}", "{name} thanks", "under {name}")

#: FAQ questions asked mid-booking, and the words the answer must contain
#: ("|" between the marks of two questions in one text: both are answered).
DIGRESSIONS: tuple[tuple[str, str], ...] = tuple(
    (question, marks) for question, marks in BANK["digressions"]
)

#: What the first text gives: service (s), when (w), name (n).
OPENINGS: tuple[tuple[str, str], ...] = (
    ("book a {service} {when}", "sw"),
    ("hi can i book a {service} {when}, name is {name}", "swn"),
    ("I'd like to make an appointment", ""),
    ("book me a {service} please", "s"),
    ("can I get a {service}", "s"),
    ("need an appointment {when} for a {service}", "sw"),
    ("book me a {service} {when} please, this is {name}", "swn"),
    ("hi i need to book", ""),
)

STEPS = ("service", "when", "name", "confirm")

#: Changes of mind, by the step they are given at and what they change.
CORRECTIONS = (
    ("confirm", "time"),
    ("name", "time"),
    ("when", "service"),
    ("confirm", "service"),
    ("name", "service"),
    ("confirm", "name"),
)
#: Other names a customer corrects to ("sorry, the name is ...").
OTHER_NAMES = ("Dana Wu", "Sunday Reyes", "Eve Park", "Jo Price", "Mo Chen")


@dataclass(frozen=True)
class Persona:
    key: str
    opening: str
    gives: str  # letters of OPENINGS: what the opening text already holds
    service_text: str
    service: str  # key in business.yml
    when_text: str
    start: datetime  # what was asked for first
    window: bool  # the time is a window: the first option offered is meant
    name_text: str
    name: str
    # A change of mind given instead of answering `correction_step`, or None; it
    # changes the time, the service or the name (the corrected_* field set).
    correction_text: str | None = None
    corrected_start: datetime | None = None
    # An FAQ question asked instead of answering this step, and its answer's mark.
    digression_step: str | None = None
    digression: tuple[str, str] | None = None
    correction_step: str | None = None
    corrected_service: str | None = None
    corrected_name: str | None = None
    # "book"; "unbookable": the first time cannot be booked, the reply must say why
    # (`refused` is a word of the reason) and offer times, and the customer then
    # gives `retry_text`; "reschedule": moves `existing`; "second": has `existing`
    # and starts a booking, answering "move it or book another?" with `choice`.
    kind: str = "book"
    refused: str | None = None
    retry_text: str | None = None
    retry_start: datetime | None = None
    taken: tuple[str, datetime] | None = None  # booked by someone else first
    existing: tuple[str, datetime] | None = None  # this customer's appointment
    choice: str | None = None

    @property
    def wanted_start(self) -> datetime:
        return self.corrected_start or self.retry_start or self.start

    @property
    def wanted_service(self) -> str:
        return self.corrected_service or self.service

    @property
    def wanted_name(self) -> str:
        return self.corrected_name or self.name

    def expected(self) -> list[tuple[str, datetime, str]]:
        """The customer's upcoming appointments at the end: (service, start, name)."""
        if self.existing and (self.kind == "reschedule" or self.choice in MOVE):
            return [(self.existing[0], self.wanted_start, self.name)]
        wanted = [(self.wanted_service, self.wanted_start, self.wanted_name)]
        if self.existing:
            wanted.append((self.existing[0], self.existing[1], self.name))
        return sorted(wanted, key=lambda a: a[1])


def _fits(day: date, at: time, minutes: int) -> bool:
    hours = HOURS.get(day.weekday())
    if hours is None:
        return False
    end = datetime.combine(day, at).timestamp() + minutes * 60
    return at >= hours[0] and end <= datetime.combine(day, hours[1]).timestamp()


def _when(
    day_index: int, time_index: int, minutes: int, style: int
) -> tuple[str, datetime, bool]:
    """A day and time phrase that the business can book for this service."""
    for step in range(len(TIMES) * len(DAYS)):  # the next day when none fits
        phrase, at, window = TIMES[(time_index + step) % len(TIMES)]
        day_phrase, day = DAYS[(day_index + step // len(TIMES)) % len(DAYS)]
        if _fits(day, at, minutes):
            break
    else:
        raise AssertionError(f"no time fits {DAYS[day_index % len(DAYS)]}")
    if window:
        text = f"{day_phrase} {phrase}"
    else:
        text = (
            f"{day_phrase} {phrase}",
            f"{day_phrase} at {phrase.removeprefix('at ')}",
            f"{phrase} {day_phrase}",
            f"{day_phrase} @ {phrase.removeprefix('at ')}",
        )[style % 4]
    return text, datetime.combine(day, at, tzinfo=ZONE), window


def _asked(gives: str) -> list[str]:
    """The booking's questions this opening leaves to ask."""
    return [s for s in STEPS if s[0] not in gives or s == "confirm"]


def _correction(
    i: int, rng: random.Random, gives: str, service: str, start: datetime, window: bool
) -> dict:
    """A change of mind at a step that is asked, kept only where the assistant can
    book it as said (a new service must fit the time already chosen)."""
    step, what = CORRECTIONS[i % len(CORRECTIONS)]
    if step not in _asked(gives):
        return {}
    minutes = {key: m for _, key, m in SERVICES}
    if what == "time":
        text, corrected, later_window = _when(i * 5 + 3, i * 7 + 4, minutes[service], 0)
        if corrected == start or later_window:
            return {}
        return {
            "correction_step": step,
            "correction_text": f"actually make it {text}",
            "corrected_start": corrected,
        }
    if what == "service":
        others = [(t, k) for t, k, m in SERVICES if k != service and t == k]
        text, key = others[rng.randrange(len(others))]
        if not _fits(start.date(), start.time(), minutes[key]):
            return {}
        phrase = "an" if text[0] in "aeiou" else "a"
        return {
            "correction_step": step,
            "correction_text": f"actually {phrase} {text} instead",
            "corrected_service": key,
        }
    other = OTHER_NAMES[i % len(OTHER_NAMES)]
    return {
        "correction_step": step,
        "correction_text": f"sorry, the name is {other}",
        "corrected_name": other,
    }


def booking_personas() -> list[Persona]:
    """New customers who book: every opening, service, day and time phrase, name."""
    rng = random.Random(14)
    out = []
    for i in range(COUNT):
        service_text, service, minutes = SERVICES[i % len(SERVICES)]
        when_text, start, window = _when(i * 5, i * 7, minutes, i)
        name = NAMES[i % len(NAMES)]
        opening, gives = OPENINGS[i % len(OPENINGS)]
        name_text = NAME_STYLES[rng.randrange(len(NAME_STYLES))].format(name=name)
        correction: dict = {}
        if rng.random() < 0.3:
            correction = _correction(i, rng, gives, service, start, window)
        digression_step = digression = None
        if rng.random() < 0.35:
            digression = DIGRESSIONS[rng.randrange(len(DIGRESSIONS))]
            asked = _asked(gives)
            digression_step = asked[rng.randrange(len(asked))]
        out.append(
            Persona(
                key=f"p{i:03d}",
                opening=opening.format(
                    service=service_text, when=when_text, name=name
                ).replace(" a e", " an e"),
                gives=gives,
                service_text=service_text,
                service=service,
                when_text=when_text,
                start=start,
                window=window,
                name_text=name_text,
                name=name,
                correction_text=correction.get("correction_text"),
                corrected_start=correction.get("corrected_start"),
                digression_step=digression_step,
                digression=digression,
                correction_step=correction.get("correction_step"),
                corrected_service=correction.get("corrected_service"),
                corrected_name=correction.get("corrected_name"),
            )
        )
    return out


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


#: Times that cannot be booked on Tue 1 Dec 2026 08:30: (text, start, service, the
#: word the reason must hold, a booking by someone else that makes it taken).
UNBOOKABLE: tuple[tuple[str, datetime, str, str, bool], ...] = tuple(
    (
        u["text"],
        datetime.fromisoformat(u["start"]).replace(tzinfo=ZONE),
        u["service"],
        u["refused"],
        bool(u.get("taken")),
    )
    for u in BANK["unbookable"]
)


def unbookable_personas() -> list[Persona]:
    """Customers whose first time cannot be booked: told why, with other times in
    the same text, they give a time that can."""
    out = []
    services = {key: (text, m) for text, key, m in SERVICES if text == key}
    for i in range(3 * len(UNBOOKABLE)):
        when_text, start, service, refused, taken = UNBOOKABLE[i % len(UNBOOKABLE)]
        service_text, minutes = services[service]
        for k in range(len(TIMES)):  # an exact time, clear of the refused one
            retry_text, retry_start, window = _when(
                i * 3 + 1, i * 5 + 2 + k, minutes, i
            )
            if not window and abs((retry_start - start).total_seconds()) >= 3 * 3600:
                break
        name = NAMES[(i * 7) % len(NAMES)]
        opening = (
            "book a {service} {when}",
            "hi can i book a {service} {when}, name is {name}",
            "need an appointment {when} for a {service}",
        )[i % 3]
        out.append(
            Persona(
                key=f"u{i:03d}",
                opening=opening.format(service=service_text, when=when_text, name=name),
                gives="swn" if "{name}" in opening else "sw",
                service_text=service_text,
                service=service,
                when_text=when_text,
                start=start,
                window=False,
                name_text=name,
                name=name,
                kind="unbookable",
                refused=refused,
                retry_text=("ok then " if i % 2 else "") + retry_text,
                retry_start=retry_start,
                taken=(service, start) if taken else None,
            )
        )
    return out


#: Answers to "Reply 1 to move it, 2 to book another" that move it.
MOVE = ("1", "move it")

#: An upcoming appointment a returning customer has (Wed 16 Dec, away from the
#: bank's days so a new time never overlaps it).
EXISTING_DAY = date(2026, 12, 16)
RESCHEDULE_OPENINGS = (
    "can we push it to {when}",
    "can i move it to {when}",
    "need to reschedule my appt to {when}",
    "can i change it to {when}",
    "need to reschedule",
    "something came up, can i move my appointment",
)


def existing_customer_personas() -> list[Persona]:
    """Customers with an upcoming appointment: "move it" moves it at once, and a
    new booking is asked "move it or book another?" first."""
    out = []
    services = [(t, k, m) for t, k, m in SERVICES if t == k]
    for i in range(60):
        service_text, service, minutes = services[i % len(services)]
        existing = (service, _at(EXISTING_DAY, 10))
        when_text, start, window = _when(i * 3 + 2, i * 5 + 1, minutes, i)
        if start.date() == EXISTING_DAY or window:
            when_text, start, window = _when(i * 3 + 3, i * 5 + 1, minutes, i)
        name = NAMES[(i * 11) % len(NAMES)]
        common = dict(
            service_text=service_text,
            service=service,
            when_text=when_text,
            start=start,
            window=window,
            name_text=name,
            name=name,
            existing=existing,
        )
        if i < 30:
            opening = RESCHEDULE_OPENINGS[i % len(RESCHEDULE_OPENINGS)]
            out.append(
                Persona(
                    key=f"r{i:03d}",
                    opening=opening.format(when=when_text),
                    gives="w" if "{when}" in opening else "",
                    kind="reschedule",
                    **common,
                )
            )
        else:
            opening, gives = (
                ("book a {service} {when}", "sw"),
                ("can I get a {service}", "s"),
                ("hi i need to book", ""),
            )[i % 3]
            out.append(
                Persona(
                    key=f"s{i:03d}",
                    opening=opening.format(service=service_text, when=when_text),
                    gives=gives,
                    kind="second",
                    choice=("1", "2", "move it", "book another")[i % 4],
                    **common,
                )
            )
    return out


def personas() -> list[Persona]:
    return booking_personas() + unbookable_personas() + existing_customer_personas()
